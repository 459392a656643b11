'use client'
import { useParams } from 'next/navigation'
import { KnowledgeDocEditor } from '../../../../../components/knowledge-doc-editor.tsx'
import { KnowledgeTabs } from '../../../../../components/knowledge-tabs.tsx'

export default function KnowledgeDocPage() {
  const { id } = useParams<{ id: string }>()
  return (
    <div className="grid">
      <h1 style={{ margin: 0 }}>Knowledge</h1>
      <KnowledgeTabs />
      <KnowledgeDocEditor key={id} docId={id} />
    </div>
  )
}

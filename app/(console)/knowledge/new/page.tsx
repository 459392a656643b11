'use client'
import { KnowledgeDocEditor } from '../../../../components/knowledge-doc-editor.tsx'
import { KnowledgeTabs } from '../../../../components/knowledge-tabs.tsx'

export default function NewKnowledgeDocPage() {
  return (
    <div className="grid">
      <h1 style={{ margin: 0 }}>Knowledge</h1>
      <KnowledgeTabs />
      <KnowledgeDocEditor />
    </div>
  )
}

'use client'
import { KnowledgeEmbedding } from '../../../../components/knowledge-embedding.tsx'
import { KnowledgeTabs } from '../../../../components/knowledge-tabs.tsx'

export default function KnowledgeModelPage() {
  return (
    <div className="grid">
      <h1 style={{ margin: 0 }}>Knowledge</h1>
      <KnowledgeTabs />
      <KnowledgeEmbedding />
    </div>
  )
}

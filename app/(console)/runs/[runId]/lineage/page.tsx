'use client'
import { useParams } from 'next/navigation'
import { Suspense } from 'react'
import { LineageGraph } from '../../../../../components/lineage-graph.tsx'

export default function LineagePage() {
  const { runId } = useParams<{ runId: string }>()
  return (
    <Suspense fallback={<div className="muted">Loading…</div>}>
      <LineageGraph runId={runId} />
    </Suspense>
  )
}

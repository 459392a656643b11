'use client'
import { useParams } from 'next/navigation'
import { Suspense } from 'react'
import { GuidancePanel } from '../../../../../components/guidance-panel.tsx'
import { RatingEffect } from '../../../../../components/rating-effect.tsx'

export default function GuidancePage() {
  const { runId } = useParams<{ runId: string }>()
  return (
    <Suspense fallback={<div className="muted">Loading…</div>}>
      <GuidancePanel />
      <div style={{ marginTop: 14 }}>
        <RatingEffect runId={runId} />
      </div>
    </Suspense>
  )
}

'use client'
import { Suspense } from 'react'
import { GuidancePanel } from '../../../../../components/guidance-panel.tsx'

export default function GuidancePage() {
  return (
    <Suspense fallback={<div className="muted">Loading…</div>}>
      <GuidancePanel />
    </Suspense>
  )
}

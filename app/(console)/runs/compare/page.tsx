'use client'
import { Suspense } from 'react'
import { RunCompare } from '../../../../components/run-compare.tsx'

export default function ComparePage() {
  return (
    <Suspense fallback={<div className="muted">Loading…</div>}>
      <RunCompare />
    </Suspense>
  )
}

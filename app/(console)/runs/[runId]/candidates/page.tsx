'use client'
import { Suspense } from 'react'
import { CandidateTable } from '../../../../../components/candidate-table.tsx'

export default function CandidatesPage() {
  return (
    <Suspense fallback={<div className="muted">Loading…</div>}>
      <CandidateTable />
    </Suspense>
  )
}

'use client'
import Link from 'next/link'
import { Suspense } from 'react'
import { RunCreateForm } from '../../../../components/run-create-form.tsx'

export default function NewRunPage() {
  return (
    <div className="grid">
      <div className="row between">
        <h1 style={{ margin: 0 }}>New run</h1>
        <Link href="/runs">back to the runs</Link>
      </div>
      <Suspense fallback={<div className="muted">Loading…</div>}>
        <RunCreateForm />
      </Suspense>
    </div>
  )
}

'use client'
import { useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { AuditLog } from '../../../../components/audit-log.tsx'
import { useTRPC } from '../../../../components/trpc.tsx'

export default function AuditPage() {
  const trpc = useTRPC()
  const me = useQuery(trpc.account.me.queryOptions())
  return (
    <div className="grid">
      <div className="row">
        <h1>Audit log</h1>
        <Link href="/settings" className="small">
          ← Settings
        </Link>
      </div>
      <div className="muted small">
        Every intervention (hints, code edits, run settings, knowledge, users and tokens) with who made it, when, and
        the state before and after.
      </div>
      {me.data && me.data.role !== 'admin' ? (
        <div className="alert error">The audit log is for admins.</div>
      ) : (
        <AuditLog />
      )}
    </div>
  )
}

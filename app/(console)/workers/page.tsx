'use client'
import { WorkersTable } from '../../../components/run-workers.tsx'
import '../runs/runs.css'

export default function WorkersPage() {
  return (
    <div className="grid">
      <h1>Workers</h1>
      <div className="card" style={{ overflowX: 'auto' }}>
        <WorkersTable />
      </div>
      <div className="muted small">
        Each evaluation runs in its own sandboxed process on a worker; the isolation column says which protections are
        active there. In server mode a GPU machine joins with <code>fm-agent worker --gpu</code>.
      </div>
    </div>
  )
}

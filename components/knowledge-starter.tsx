'use client'
// The first-start offer of the Knowledge page: while the base is empty, one click imports the
// starter documents (techniques for the built-in problem families, tagged by family so a run
// retrieves its own family's first). `fm-agent kb import --starter` does the same.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { errorMessage, useTRPC } from './trpc.tsx'

export function KnowledgeStarter({ canWrite }: { canWrite: boolean }) {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const starter = useQuery(trpc.knowledge.starter.queryOptions())
  const importStarter = useMutation(
    trpc.knowledge.importStarter.mutationOptions({
      onSuccess: () => void qc.invalidateQueries({ queryKey: trpc.knowledge.pathKey() }),
    }),
  )
  if (!starter.data) return null
  return (
    <div className="card" data-testid="starter-knowledge">
      <h2>Start with the starter knowledge</h2>
      <p className="small muted" style={{ marginTop: 0 }}>
        {starter.data.length} short documents written for FM Agent on techniques for its built-in problem families. Each
        is tagged with its family, so a stalled run retrieves its own family&apos;s document first. Edit or delete them
        like any other document.
      </p>
      <ul className="small" style={{ margin: '0 0 12px', paddingLeft: 18 }}>
        {starter.data.map((d) => (
          <li key={d.path}>
            {d.title} <span className="badge">{d.family ?? 'every family'}</span>
          </li>
        ))}
      </ul>
      {canWrite ? (
        <div className="row">
          <button className="primary" onClick={() => importStarter.mutate()} disabled={importStarter.isPending}>
            {importStarter.isPending ? 'Importing and embedding…' : 'Import the starter knowledge'}
          </button>
          <span className="muted small">
            or <code>fm-agent kb import --starter</code>
          </span>
          {importStarter.error && (
            <span className="badge bad" role="alert">
              {errorMessage(importStarter.error)}
            </span>
          )}
        </div>
      ) : (
        <div className="muted small">
          An expert or an admin can import them (or run <code>fm-agent kb import --starter</code>).
        </div>
      )}
    </div>
  )
}

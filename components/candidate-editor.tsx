'use client'
// An expert's edit of a candidate: the code in Monaco (bundled, offline), a diff against the
// original on demand, the island the edit joins, then submit: the engine evaluates it like any
// candidate (origin expert-edit, parent = the edited candidate) and it shows up in the lineage.
import { CommandNote } from './command-status.tsx'
import { useMutation, useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { CodeEditor, DiffEditor, monacoLanguage } from './monaco/index.tsx'
import { ErrorBox, shortId, useRole } from './run-ui.tsx'
import { useTRPC } from './trpc.tsx'

export function CandidateEditor({ runId, id }: { runId: string; id: string }) {
  const trpc = useTRPC()
  const router = useRouter()
  const { can, loaded } = useRole()
  const q = useQuery(
    trpc.candidates.get.queryOptions({ runId, id }, { staleTime: Infinity, refetchOnWindowFocus: false }),
  )
  const [text, setText] = useState<string | null>(null)
  const [island, setIsland] = useState<string>('')
  const [note, setNote] = useState('')
  const [showDiff, setShowDiff] = useState(false)
  // applied: the candidate exists, open it; pending (no engine has taken it yet): say so here
  const submit = useMutation(
    trpc.candidates.submitEdit.mutationOptions({
      onSuccess: (r) => r.command.status === 'applied' && router.push(`/runs/${runId}/candidates/${r.id}`),
    }),
  )
  if (loaded && !can('expert')) return <div className="alert">Experts edit candidates; you can read them.</div>
  if (q.error) return <ErrorBox error={q.error} />
  const c = q.data
  if (!c) return <div className="muted">Loading…</div>
  const code = text ?? c.code
  const chosen = island === '' ? String(Math.max(0, c.island)) : island
  const changed = code !== c.code
  const lang = monacoLanguage(c.problem.language)
  return (
    <div className="grid" data-testid="candidate-editor">
      <div className="row between">
        <h1 style={{ fontSize: 18, margin: 0 }}>
          Edit candidate{' '}
          <Link className="mono" href={`/runs/${runId}/candidates/${c.id}`}>
            {shortId(c.id)}
          </Link>
        </h1>
        <span className="muted small">
          score {c.score ?? '–'} · island {c.island}
        </span>
      </div>
      {c.runStatus !== 'evolving' && (
        <div className="alert">
          The run is {c.runStatus}: an edit joins a running, evolving run (an admin can resume it).
        </div>
      )}
      <div className="card">
        <div className="panel-head">
          <h2>{showDiff ? 'Your edit against the original' : 'Code'}</h2>
          <label className="row small" style={{ flexDirection: 'row' }}>
            <input type="checkbox" checked={showDiff} onChange={(e) => setShowDiff(e.target.checked)} /> show the diff
          </label>
        </div>
        {/* the editor stays mounted (uncontrolled) while the diff is shown, so no keystroke is lost */}
        <div style={{ display: showDiff ? 'none' : 'block' }}>
          <CodeEditor
            key={c.id}
            defaultValue={c.code}
            language={lang}
            onChange={setText}
            height={520}
            testId="monaco-edit"
            ariaLabel="edit the candidate's code"
          />
        </div>
        {showDiff && (
          <DiffEditor
            key={`d:${code.length}`}
            original={c.code}
            modified={code}
            language={lang}
            height={520}
            testId="edit-diff"
          />
        )}
      </div>
      <form
        className="card row"
        style={{ alignItems: 'flex-end' }}
        onSubmit={(e) => {
          e.preventDefault()
          submit.mutate({ runId, parentId: c.id, code, island: Number(chosen), note: note.trim() || undefined })
        }}
      >
        <label>
          join island
          <select aria-label="island" value={chosen} onChange={(e) => setIsland(e.target.value)}>
            {Array.from({ length: c.islands }, (_, i) => (
              <option key={i} value={i}>
                island {i}
              </option>
            ))}
          </select>
        </label>
        <label style={{ flex: 1, minWidth: 240 }}>
          note for the audit log (optional)
          <input
            aria-label="note"
            value={note}
            onChange={(e) => setNote(e.target.value)}
            placeholder="what this edit tries"
          />
        </label>
        <button className="primary" type="submit" disabled={!changed || submit.isPending} data-testid="submit-edit">
          {submit.isPending ? 'Submitting…' : 'Submit for evaluation'}
        </button>
        {!changed && <span className="muted small">edit the code first</span>}
      </form>
      <ErrorBox error={submit.error} title="The edit was not submitted" />
      {submit.data && submit.data.command.status !== 'applied' && (
        <div className="alert">
          Your edit is submitted as candidate{' '}
          <a href={`/runs/${runId}/candidates/${submit.data.id}`}>{submit.data.id.slice(0, 8)}</a>.{' '}
          <CommandNote outcome={submit.data.command} />
        </div>
      )}
    </div>
  )
}

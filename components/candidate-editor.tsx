'use client'
// An expert's edit of a candidate: the code in Monaco (bundled, offline), a diff against the
// original on demand, the island the edit joins, then submit: the engine evaluates it like any
// candidate (origin expert-edit, parent = the edited candidate) and it shows up in the lineage.
// On a paused run the edit waits for the resume (pause, craft an edit, resume).
import { CommandNote, useCommandState } from './command-status.tsx'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { fmt } from '../client-safe/format.ts'
import type { CommandOutcome } from '../server/runs/commands.ts'
import { CodeEditor, DiffEditor, monacoLanguage } from './monaco/index.tsx'
import { useRunLive } from './run-live.tsx'
import { ErrorBox, shortId, useRole } from './run-ui.tsx'
import { useTRPC } from './trpc.tsx'

/** Whether a run in this status takes an edit now, later (paused: at the resume), or not; and what to say. */
export function editTakes(status: string): { submit: boolean; note: string | null } {
  switch (status) {
    case 'evolving':
      return { submit: true, note: null }
    case 'paused':
      return {
        submit: true,
        note: 'The run is paused: your edit waits, and the engine evaluates it when the run resumes.',
      }
    case 'created':
    case 'cold-start':
      return {
        submit: false,
        note: 'The run is still in its cold start: an edit joins an island once it evolves.',
      }
    default:
      return {
        submit: false,
        note: `The run is ${status}: an edit joins a running or paused run (an admin can resume it above).`,
      }
  }
}

export function CandidateEditor({ runId, id }: { runId: string; id: string }) {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const router = useRouter()
  const { can, loaded } = useRole()
  const live = useRunLive()
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
  const resume = useMutation(
    trpc.runs.resume.mutationOptions({
      onSuccess: () => void qc.invalidateQueries({ queryKey: trpc.runs.overview.queryKey({ runId }) }),
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
  const runStatus = live.status ?? c.runStatus
  const takes = editTakes(runStatus)
  return (
    <div className="grid" data-testid="candidate-editor">
      <div className="row between">
        <h2 style={{ fontSize: 18, margin: 0 }}>
          Edit candidate{' '}
          <Link className="mono" href={`/runs/${runId}/candidates/${c.id}`}>
            {shortId(c.id)}
          </Link>
        </h2>
        <span className="muted small">
          score {c.valid ? fmt(c.score, 8) : c.status === 'evaluated' ? 'invalid' : '–'} · island {c.island}
        </span>
      </div>
      {takes.note && (
        <div className="alert row between" data-testid="edit-run-note">
          <span>{takes.note}</span>
          {runStatus === 'paused' && can('admin') && (
            <button type="button" onClick={() => resume.mutate({ runId })} disabled={resume.isPending}>
              {resume.isPending ? 'Resuming…' : 'Resume the run'}
            </button>
          )}
        </div>
      )}
      <ErrorBox error={resume.error} title="The run was not resumed" />
      <div className="card">
        <div className="panel-head">
          <h2>{showDiff ? 'Your edit against the original' : 'Code'}</h2>
          <label className="row small" style={{ flexDirection: 'row' }}>
            <input type="checkbox" checked={showDiff} onChange={(e) => setShowDiff(e.target.checked)} /> show the diff
          </label>
        </div>
        {/* the editor stays mounted (uncontrolled) while the diff is shown, so no keystroke is lost */}
        <div style={{ display: showDiff ? 'none' : 'block' }}>
          <div className="muted small" id="editor-keys">
            In the editor Tab indents: Ctrl+M (⌃⇧M on a Mac) switches Tab to moving on to the next control, and back.
          </div>
          <CodeEditor
            key={c.id}
            defaultValue={c.code}
            language={lang}
            onChange={setText}
            height={520}
            testId="monaco-edit"
            ariaLabel="edit the candidate's code (Ctrl+M: Tab moves on)"
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
          note, shown with the edit (optional)
          <input
            aria-label="note"
            value={note}
            onChange={(e) => setNote(e.target.value)}
            placeholder="what this edit tries"
          />
        </label>
        <button
          className="primary"
          type="submit"
          disabled={!changed || !takes.submit || submit.isPending}
          data-testid="submit-edit"
        >
          {submit.isPending
            ? 'Submitting…'
            : runStatus === 'paused'
              ? 'Submit: evaluated when the run resumes'
              : 'Submit for evaluation'}
        </button>
        {!takes.submit ? (
          <span className="muted small">the run takes no edit now (see above)</span>
        ) : (
          !changed && <span className="muted small">edit the code first</span>
        )}
      </form>
      <ErrorBox error={submit.error} title="The edit was not submitted" />
      {submit.data && submit.data.command.status !== 'applied' && (
        <SubmittedEdit runId={runId} id={submit.data.id} command={submit.data.command} />
      )}
    </div>
  )
}

/** An edit the engine has not taken yet: it waits for the engine (or the resume); once applied, a link to it. */
function SubmittedEdit({ runId, id, command }: { runId: string; id: string; command: CommandOutcome }) {
  const c = useCommandState(command)
  return (
    <div className="alert" data-testid="edit-submitted">
      {c?.status === 'applied' ? (
        <>
          Your edit is candidate <Link href={`/runs/${runId}/candidates/${id}`}>{shortId(id)}</Link>: the engine took
          it.{' '}
        </>
      ) : c?.status === 'refused' ? (
        // the engine's reason follows (an edit of a program the run has, a run stopped meanwhile)
        <>Your edit was not taken: </>
      ) : (
        <>
          Your edit will be candidate <span className="mono">{shortId(id)}</span>
          {c?.status === 'pending' ? ': it is evaluated once an engine drives the run (after the resume).' : '.'}{' '}
        </>
      )}
      <CommandNote outcome={command} />
    </div>
  )
}

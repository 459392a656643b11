'use client'
// One candidate: its code and a Monaco diff against its parent, score against the parent,
// metrics, features and evaluator artifacts, how it was made (the prompt and the model's answer,
// or the offline operator and its parameters), the knowledge retrieved for it and the guidance
// active when it was made, its place in the population and lineage, and the experts' actions.
import { CommandNote } from './command-status.tsx'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useSubscription } from '@trpc/tanstack-react-query'
import Link from 'next/link'
import { useEffect, useState } from 'react'
import { candidatePollMs, watchNews, watchWanted } from '../client-safe/candidate-watch.ts'
import { fmt, fullNumber } from '../client-safe/format.ts'
import { codeView, failureReason } from '../client-safe/candidate-outcome.ts'
import { populationWords } from '../client-safe/population.ts'
import { againstParent } from '../client-safe/score.ts'
import { CandidateRating } from './candidate-rating.tsx'
import { CandidatePictures } from './candidate-pictures.tsx'
import { CandidateRepairs } from './candidate-repairs.tsx'
import { DiffEditor, CodeEditor, monacoLanguage } from './monaco/index.tsx'
import { Age, ErrorBox, originLabel, shortId, StatusBadge, usd, useRole } from './run-ui.tsx'
import { errorMessage, useTRPC } from './trpc.tsx'
import { chunkTitle } from '../client-safe/knowledge-title.ts'

function Json({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="muted">–</span>
  return (
    <pre className="prewrap" style={{ maxHeight: 260 }}>
      {JSON.stringify(value, null, 2)}
    </pre>
  )
}

function KV({ obj }: { obj: Record<string, unknown> | null }) {
  if (!obj || Object.keys(obj).length === 0) return <span className="muted small">none</span>
  return (
    <dl className="kv">
      {Object.entries(obj).map(([k, v]) => (
        <div key={k} style={{ display: 'contents' }}>
          <dt className="mono">{k}</dt>
          <dd className="mono">{typeof v === 'number' ? fmt(v, 8) : typeof v === 'string' ? v : JSON.stringify(v)}</dd>
        </div>
      ))}
    </dl>
  )
}

export function CandidateDetail({ runId, id }: { runId: string; id: string }) {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const { can } = useRole()
  // the subscription's news triggers the refetch; its status decides whether the slow poll stands in
  const [watchStatus, setWatchStatus] = useState<'idle' | 'connecting' | 'pending' | 'error'>('idle')
  const q = useQuery(
    trpc.candidates.get.queryOptions(
      { runId, id },
      { refetchInterval: (query) => candidatePollMs(query.state.data?.status, watchStatus) },
    ),
  )
  const watch = useSubscription(
    trpc.candidates.watch.subscriptionOptions(
      { runId, id },
      {
        enabled: watchWanted(q.data?.status),
        onData: (news) => {
          if (watchNews(q.data?.status, news)) void q.refetch()
        },
      },
    ),
  )
  useEffect(() => setWatchStatus(watch.status), [watch.status])
  const [view, setView] = useState<'diff' | 'code'>('diff')
  const [parentIdx, setParentIdx] = useState(0)
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.candidates.get.queryKey({ runId, id }) })
  const pin = useMutation(trpc.candidates.setPinned.mutationOptions({ onSuccess: refresh }))
  const ban = useMutation(trpc.candidates.ban.mutationOptions({ onSuccess: refresh }))
  if (q.error) return <ErrorBox error={q.error} title="This candidate could not be loaded" />
  const c = q.data
  if (!c) return <div className="muted">Loading…</div>
  const parent = c.parents[parentIdx] ?? null
  const lang = monacoLanguage(c.problem.language)
  const { delta, better, words: againstWords } = againstParent(c, parent, c.problem.direction)
  const population = populationWords(c, (iso) => new Date(iso).toLocaleTimeString())
  const shown = codeView(c, parent?.code ?? null, view)
  const diffable = codeView(c, parent?.code ?? null, 'diff').show === 'diff'
  const description = typeof c.operatorParams?.description === 'string' ? c.operatorParams.description : null
  const params = c.operatorParams
    ? Object.fromEntries(Object.entries(c.operatorParams).filter(([k]) => k !== 'description'))
    : null
  const feedback = typeof c.artifacts?.feedback === 'string' ? c.artifacts.feedback : null
  const otherArtifacts = c.artifacts
    ? Object.fromEntries(Object.entries(c.artifacts).filter(([k]) => k !== 'feedback'))
    : null
  const actionError = pin.error ?? ban.error
  return (
    <div className="grid" data-testid="candidate-page" data-status={c.status} data-origin={c.origin}>
      <div className="run-head">
        <div>
          <h2 style={{ fontSize: 18 }}>
            Candidate <span className="mono">{shortId(c.id)}</span>
            <StatusBadge
              status={c.status === 'evaluated' && c.valid === false ? 'invalid' : c.status}
              title={c.rejectReason ?? undefined}
            />
            <span className="badge">{originLabel(c.origin)}</span>
            {c.island >= 0 && <span className="badge info">island {c.island}</span>}
            {c.isRunBest && <span className="badge good">run best</span>}
            {c.pinned && <span className="badge info">pinned</span>}
            {c.banned && (
              <span
                className="badge bad"
                data-testid="banned"
                title={
                  c.ban
                    ? `banned${c.ban.by ? ` by ${c.ban.by}` : ''} ${new Date(c.ban.at).toLocaleString()}`
                    : undefined
                }
              >
                banned{c.ban?.by ? ` by ${c.ban.by}` : ''}
                {c.ban?.reason ? `: ${c.ban.reason}` : ''}
              </span>
            )}
            {c.rating !== 0 && (
              <span className={`badge ${c.rating > 0 ? 'good' : 'bad'}`}>
                {c.rating > 0 ? '▲ promising' : '▼ dead end'}
              </span>
            )}
          </h2>
          <div className="sub">
            <span className="mono">{c.id}</span> · #{c.seq}
            {c.evalIndex !== null && <> · evaluation {c.evalIndex}</>} · made <Age t={c.createdAt} />
            {c.evaluatedAt && (
              <>
                {' '}
                · evaluated <Age t={c.evaluatedAt} />
              </>
            )}
            {c.workerId && (
              <>
                {' '}
                · worker <span className="mono">{c.workerId.slice(0, 12)}</span>
              </>
            )}
          </div>
        </div>
        <div className="row">
          <Link className="btn" href={`/runs/${runId}/lineage?focus=${c.id}`}>
            Lineage
          </Link>
          {can('admin') && c.code && (
            <Link
              className="btn"
              href={`/runs/new?fork=${runId}&candidate=${c.id}`}
              data-testid="fork-candidate"
              title="a new run whose cold start begins from this candidate, with this run's settings to edit"
            >
              New run from here
            </Link>
          )}
          {can('expert') && c.code && (
            <Link className="btn primary" href={`/runs/${runId}/candidates/${c.id}/edit`} data-testid="edit-candidate">
              Edit in editor
            </Link>
          )}
          {can('expert') && !c.banned && (
            <button
              onClick={() => pin.mutate({ runId, id: c.id, pinned: !c.pinned })}
              disabled={pin.isPending}
              title="a pinned candidate is always eligible as a parent"
            >
              {c.pinned ? 'Unpin' : 'Pin'}
            </button>
          )}
          {can('expert') && !c.banned && (
            <button
              className="danger"
              title="a banned candidate is removed from every population and never chosen as a parent"
              onClick={() => {
                const reason = window.prompt(
                  'Ban this candidate: it leaves every population and is never a parent again. Why?',
                )
                if (reason !== null) ban.mutate({ runId, id: c.id, reason: reason || undefined })
              }}
              disabled={ban.isPending}
            >
              Ban
            </button>
          )}
        </div>
      </div>
      {actionError && (
        <div className="alert error" role="alert">
          {errorMessage(actionError)}
        </div>
      )}
      {(ban.data ?? pin.data) && <CommandNote outcome={(ban.data ?? pin.data)!.command} />}
      {c.status === 'rejected' && <div className="alert">Rejected before evaluation: {failureReason(c)}</div>}
      {(c.family.from || c.family.forks.length > 0) && (
        <div className="alert info small" data-testid="candidate-family">
          {c.family.from && (
            <div data-testid="copied-from">
              Copied into this run’s cold start from candidate{' '}
              <Link className="mono" href={`/runs/${c.family.from.runId}/candidates/${c.family.from.candidateId}`}>
                {shortId(c.family.from.candidateId)}
              </Link>{' '}
              of run{' '}
              <Link className="mono" href={`/runs/${c.family.from.runId}`}>
                {shortId(c.family.from.runId)}
              </Link>
              .
            </div>
          )}
          {c.family.forks.length > 0 && (
            <div data-testid="forked-into">
              Runs started from it:{' '}
              {c.family.forks.map((f, i) => (
                <span key={f.id}>
                  {i > 0 && ', '}
                  <Link href={`/runs/${f.id}`}>{f.name || shortId(f.id)}</Link>{' '}
                  <span className="muted">({f.status})</span>
                </span>
              ))}
            </div>
          )}
        </div>
      )}
      <CandidateRating runId={runId} id={c.id} rating={c.rating} ratings={c.ratings} />
      {c.error && (
        <div className="alert error" data-testid="candidate-error">
          <strong>{c.error.kind ?? 'error'}:</strong> {c.error.message}
        </div>
      )}

      <div className="tiles">
        <div className="tile">
          <div className="l">{c.problem.primaryMetric}</div>
          <div className="v" data-testid="candidate-score">
            {c.status === 'evaluated'
              ? c.valid
                ? fmt(c.score, 8)
                : 'invalid'
              : c.status === 'rejected'
                ? '–'
                : 'evaluating…'}
          </div>
          <div className="s">
            {c.problem.reference
              ? `reference ${fullNumber(c.problem.reference.value)}`
              : c.problem.direction === 'max'
                ? 'higher is better'
                : 'lower is better'}
          </div>
        </div>
        <div className="tile">
          <div className="l">against its parent</div>
          <div className="v" style={{ color: better === null ? undefined : better ? 'var(--good)' : 'var(--bad)' }}>
            {delta === null ? '–' : `${delta > 0 ? '+' : ''}${fmt(delta, 4)}`}
          </div>
          <div className="s">{againstWords}</div>
        </div>
        <div className="tile" data-testid="population">
          <div className="l">population</div>
          <div className="v" style={{ fontSize: 15 }}>
            {population.value}
          </div>
          <div className="s">{population.note}</div>
        </div>
        <div className="tile">
          <div className="l">cost</div>
          <div className="v">{usd(c.costUsd)}</div>
          <div className="s">
            {c.tokensIn + c.tokensOut ? `${c.tokensIn} in / ${c.tokensOut} out tokens` : 'no model call'}
          </div>
        </div>
      </div>

      <CandidatePictures
        runId={runId}
        id={c.id}
        parentId={parent?.id ?? null}
        evaluated={c.status === 'evaluated' || c.status === 'rejected'}
      />
      <CandidateRepairs runId={runId} id={c.id} steps={c.repairs} due={c.repairDue} />

      <div className="card">
        <div className="panel-head">
          <h2>Code</h2>
          <div className="row">
            {c.parents.length > 1 && view === 'diff' && (
              <select aria-label="parent" value={parentIdx} onChange={(e) => setParentIdx(Number(e.target.value))}>
                {c.parents.map((p, i) => (
                  <option key={p.id} value={i}>
                    parent {i + 1}: {shortId(p.id)}
                  </option>
                ))}
              </select>
            )}
            <div className="seg" role="group" aria-label="code view">
              <button
                className={view === 'diff' ? 'on' : ''}
                aria-pressed={view === 'diff'}
                onClick={() => setView('diff')}
                disabled={!diffable}
              >
                diff against parent
              </button>
              <button
                className={view === 'code' ? 'on' : ''}
                aria-pressed={view === 'code'}
                onClick={() => setView('code')}
              >
                code
              </button>
            </div>
          </div>
        </div>
        {shown.show === 'diff' && parent?.code ? (
          <>
            <div className="small muted" style={{ marginBottom: 6 }}>
              left: parent{' '}
              <Link href={`/runs/${runId}/candidates/${parent.id}`} className="mono">
                {shortId(parent.id)}
              </Link>{' '}
              ({fmt(parent.score)}) · right: this candidate
            </div>
            <DiffEditor
              key={`${c.id}:${parent.id}`}
              original={parent.code}
              modified={c.code}
              language={lang}
              height={460}
              testId="candidate-diff"
            />
          </>
        ) : shown.show === 'code' ? (
          <CodeEditor
            key={c.id}
            defaultValue={c.code}
            language={lang}
            readOnly
            height={460}
            testId="candidate-code"
            ariaLabel="candidate code"
          />
        ) : (
          <div className="muted" data-testid="no-code">
            {shown.show === 'none' && shown.words}
          </div>
        )}
      </div>

      <div className="grid two">
        <div className="card">
          <h2>Metrics</h2>
          <KV obj={c.metrics} />
          <h2 style={{ marginTop: 14 }}>Features</h2>
          <KV obj={c.features} />
          {c.timing && (
            <details className="block" style={{ marginTop: 12 }}>
              <summary>timing</summary>
              <KV obj={c.timing} />
            </details>
          )}
        </div>
        <div className="card">
          <h2>Evaluator artifacts</h2>
          {feedback && (
            <pre className="prewrap" data-testid="feedback">
              {feedback}
            </pre>
          )}
          {otherArtifacts && Object.keys(otherArtifacts).length > 0
            ? Object.entries(otherArtifacts).map(([k, v]) => (
                <details key={k} className="block" style={{ marginTop: 6 }} open={String(v).length < 400}>
                  <summary className="mono">{k}</summary>
                  <pre className="prewrap">{typeof v === 'string' ? v : JSON.stringify(v, null, 2)}</pre>
                </details>
              ))
            : !feedback && <span className="muted small">none</span>}
        </div>
      </div>

      {c.judge && (
        <div className="card" data-testid="judge-review">
          <h2>Judge&apos;s review</h2>
          <div className="small" style={{ marginBottom: 6 }}>
            <span className="badge info">judge model</span> <span className="mono">{c.judge.model}</span> ·{' '}
            {c.judge.tokensIn} + {c.judge.tokensOut} tokens · ${c.judge.costUsd.toFixed(4)} (in the run&apos;s spend)
          </div>
          {c.judge.rating !== undefined ? (
            <>
              <div>
                rating <strong data-testid="judge-rating">{c.judge.rating.toFixed(2)}</strong> of 1{' '}
                <span className="muted small">(a secondary metric: never the score)</span>
              </div>
              <pre className="prewrap" data-testid="judge-critique">
                {c.judge.critique}
              </pre>
              <div className="muted small">
                This critique goes into the prompts of this candidate&apos;s descendants.
              </div>
            </>
          ) : (
            <div className="alert error small">no review: {c.judge.error}</div>
          )}
          {c.judge.prompt && (
            <details className="block" style={{ marginTop: 6 }}>
              <summary>judge prompt and answer</summary>
              <pre className="prewrap">{c.judge.prompt}</pre>
              <pre className="prewrap">{c.judge.response ?? ''}</pre>
            </details>
          )}
        </div>
      )}

      <div className="card" data-testid="how-made">
        <h2>How it was made</h2>
        {c.model || c.prompt ? (
          <>
            <div className="small" style={{ marginBottom: 8 }}>
              <span className="badge info">model</span> <span className="mono">{c.model}</span> · operator{' '}
              <span className="mono">{c.operator}</span>
              {description && <> · {description}</>}
            </div>
            <details className="block" open>
              <summary>prompt ({c.tokensIn} tokens)</summary>
              <pre className="prewrap" data-testid="prompt">
                {c.prompt ?? '(not kept)'}
              </pre>
            </details>
            <details className="block" style={{ marginTop: 6 }} open>
              <summary>model response ({c.tokensOut} tokens)</summary>
              <pre className="prewrap" data-testid="response">
                {c.response ?? '(not kept)'}
              </pre>
            </details>
          </>
        ) : (
          <>
            <div className="small" style={{ marginBottom: 8 }}>
              <span className="badge">
                {c.origin === 'expert-edit'
                  ? 'expert edit'
                  : c.origin === 'seed'
                    ? "the problem's entry program"
                    : 'offline program operator (no model)'}
              </span>{' '}
              {c.operator && <span className="mono">{c.operator}</span>}
              {c.createdBy ? (
                <>
                  {' '}
                  — edited by <span data-testid="edited-by">{c.createdBy}</span>
                  {c.editNote && <span data-testid="edit-note">: {c.editNote}</span>}
                </>
              ) : (
                description && <> — {description}</>
              )}
            </div>
            {params && Object.keys(params).length > 0 && <Json value={params} />}
          </>
        )}
      </div>

      <div className="grid two">
        <div className="card" data-testid="guidance-at-creation">
          <h2>Guidance active when it was made</h2>
          {c.guidance.length === 0 ? (
            <span className="muted small">No hint was active.</span>
          ) : (
            c.guidance.map((g) => (
              <div key={g.id} className="hint" style={{ marginBottom: 6 }}>
                <div className="small muted">
                  {g.island === null ? 'whole run' : `island ${g.island}`} · by {g.authorLabel} ·{' '}
                  <Link href={`/runs/${runId}/candidates?guidance=${g.id}`}>all candidates made under it</Link>
                </div>
                <div className="text">{g.text}</div>
              </div>
            ))
          )}
        </div>
        <div className="card" data-testid="knowledge-used">
          <h2>Retrieved knowledge</h2>
          {c.knowledge.length === 0 ? (
            <span className="muted small">None was in its prompt.</span>
          ) : (
            c.knowledge.map((k) => (
              <details key={k.chunkId} className="block" style={{ marginBottom: 6 }}>
                <summary>
                  {k.doc
                    ? chunkTitle(k.doc.title, k.heading)
                    : `${k.label ?? 'a document'} (deleted from the knowledge base)`}{' '}
                  {k.retrieval && <span className="muted">({k.retrieval.trigger})</span>}
                  {k.delta !== null && (
                    <span className={`badge ${k.delta > 0 ? 'good' : 'warn'}`} style={{ marginLeft: 6 }}>
                      Δ {fmt(k.delta, 3)}
                    </span>
                  )}
                </summary>
                {k.content !== null ? (
                  <pre className="prewrap">{k.content}</pre>
                ) : (
                  <span className="muted small">
                    Its text went with the document; the prompt (above) still holds it.
                  </span>
                )}
              </details>
            ))
          )}
        </div>
      </div>

      <div className="grid two">
        <div className="card">
          <h2>Parents</h2>
          {c.parents.length === 0 ? (
            <span className="muted small">none (a seed)</span>
          ) : (
            <div className="scroll-x">
              <table className="table small">
                <tbody>
                  {c.parents.map((p) => (
                    <tr key={p.id}>
                      <td>
                        <Link className="mono" href={`/runs/${runId}/candidates/${p.id}`}>
                          {shortId(p.id)}
                        </Link>
                      </td>
                      <td>{p.origin ? originLabel(p.origin) : '–'}</td>
                      <td>{p.island !== null && p.island >= 0 ? `island ${p.island}` : ''}</td>
                      <td className="num mono">{fmt(p.score, 6)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
        <div className="card">
          <h2>Children ({c.childCount})</h2>
          {c.children.length === 0 ? (
            <span className="muted small">none yet</span>
          ) : (
            <div className="scroll-x">
              <table className="table small">
                <tbody>
                  {c.children.map((k) => (
                    <tr key={k.id}>
                      <td>
                        <Link className="mono" href={`/runs/${runId}/candidates/${k.id}`}>
                          {shortId(k.id)}
                        </Link>
                      </td>
                      <td>{originLabel(k.origin)}</td>
                      <td>
                        <StatusBadge status={k.status === 'evaluated' && k.valid === false ? 'invalid' : k.status} />
                      </td>
                      <td className="num mono">{fmt(k.score, 6)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      </div>
    </div>
  )
}

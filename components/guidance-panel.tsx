'use client'
// Natural-language guidance: experts write a hint for the whole run or one island, active from
// now until an expiry (evaluations or time) or until withdrawn. Each hint shows the candidates
// made under it and how they scored against its concurrent control: the prompts in its scope the
// engine made without it while it was active (a random share, config.controlShare).
import { CommandNote } from './command-status.tsx'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import Link from 'next/link'
import { useSearchParams } from 'next/navigation'
import { useState } from 'react'
import { EffectTable } from './intervention-effect.tsx'
import { duration, fmt } from '../client-safe/format.ts'
import { useRunLive } from './run-live.tsx'
import { Age, ErrorBox, shortId, useRole } from './run-ui.tsx'
import { errorMessage, useTRPC } from './trpc.tsx'
import { evalsExpiryEstimate, hintExpiry } from '../client-safe/hint-form.ts'
import { latestMetric } from '../client-safe/series.ts'

type Hint = NonNullable<ReturnType<typeof useHints>['data']>['hints'][number]

function useHints(runId: string) {
  const trpc = useTRPC()
  return useQuery(trpc.guidance.list.queryOptions({ runId }, { refetchInterval: 3000 }))
}

export function GuidancePanel() {
  const { runId, overview, status, live } = useRunLive()
  const trpc = useTRPC()
  const qc = useQueryClient()
  const sp = useSearchParams()
  const { can } = useRole()
  const hints = useHints(runId)
  const [text, setText] = useState('')
  const [scope, setScope] = useState<string>(sp.get('island') ?? 'run')
  const [expiry, setExpiry] = useState<'none' | 'evals' | 'minutes'>('evals')
  const [amount, setAmount] = useState('100')
  const until = hintExpiry(expiry, amount)
  const lasts = evalsExpiryEstimate(until, latestMetric(live.metrics, -1)?.evalsPerSec)
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.guidance.list.queryKey({ runId }) })
  const create = useMutation(trpc.guidance.create.mutationOptions({ onSuccess: () => (setText(''), refresh()) }))
  const withdraw = useMutation(trpc.guidance.withdraw.mutationOptions({ onSuccess: refresh }))
  const islands = overview.data?.config.islands ?? 0
  const finished = status !== null && ['completed', 'stopped', 'failed'].includes(status)
  const offline = overview.data?.config.mutator === 'local'
  const active = hints.data?.hints.filter((h) => h.state === 'active') ?? []
  const past = hints.data?.hints.filter((h) => h.state !== 'active') ?? []
  const older = hints.data?.olderNotShown ?? 0
  return (
    <div className="grid" data-testid="guidance-panel">
      {can('expert') ? (
        <form
          className="card form"
          data-testid="guidance-form"
          onSubmit={(e) => {
            e.preventDefault()
            if ('error' in until) return
            create.mutate({ runId, text, island: scope === 'run' ? null : Number(scope), ...until })
          }}
        >
          <h2 style={{ margin: 0 }}>Give a hint</h2>
          <label>
            What should the next mutations try? It goes into their prompts
            {overview.data?.config.mutator === 'local'
              ? ' (this run uses offline operators: the hint is recorded on the candidates, but no model reads it)'
              : ''}
            .
            <textarea
              aria-label="hint"
              rows={3}
              value={text}
              onChange={(e) => setText(e.target.value)}
              placeholder="e.g. the sine term's frequency is too low; try values near 2"
              required
              maxLength={4000}
            />
          </label>
          <div className="row" style={{ alignItems: 'flex-end' }}>
            <label>
              scope
              <select aria-label="scope" value={scope} onChange={(e) => setScope(e.target.value)}>
                <option value="run">whole run</option>
                {Array.from({ length: islands }, (_, i) => (
                  <option key={i} value={String(i)}>
                    island {i}
                  </option>
                ))}
              </select>
            </label>
            <label>
              active until
              <select aria-label="expiry" value={expiry} onChange={(e) => setExpiry(e.target.value as typeof expiry)}>
                <option value="evals">N more evaluations</option>
                <option value="minutes">N minutes from now</option>
                <option value="none">withdrawn</option>
              </select>
            </label>
            {expiry !== 'none' && (
              <label>
                N
                <input
                  aria-label="expiry amount"
                  style={{ width: 90 }}
                  inputMode="decimal"
                  value={amount}
                  onChange={(e) => setAmount(e.target.value)}
                  aria-invalid={'error' in until}
                  aria-describedby={'error' in until ? 'hint-expiry-error' : undefined}
                />
                {'error' in until && (
                  <span id="hint-expiry-error" className="small" style={{ color: 'var(--bad)' }} role="alert">
                    {until.error}
                  </span>
                )}
                {lasts && !finished && (
                  <span className="small muted" data-testid="hint-expiry-estimate">
                    {lasts}
                  </span>
                )}
              </label>
            )}
            <button
              className="primary"
              type="submit"
              disabled={create.isPending || !text.trim() || finished || 'error' in until}
            >
              Add hint
            </button>
            {finished && <span className="muted small">the run is {status}: resume it for hints to reach prompts</span>}
          </div>
          {create.error && (
            <div className="alert error" role="alert">
              {errorMessage(create.error)}
            </div>
          )}
          {create.data && <CommandNote outcome={create.data.command} />}
        </form>
      ) : (
        <div className="muted small">Experts give hints; you see them and their effect here.</div>
      )}
      <ErrorBox error={hints.error} />
      <div>
        <h3>Active hints{hints.data ? ` (${active.length})` : ''}</h3>
        {active.length === 0 ? (
          <NoActiveHint loaded={!!hints.data} loading={hints.isPending} />
        ) : (
          <div className="grid" data-testid="active-hints">
            {active.map((h) => (
              <HintCard
                key={h.id}
                h={h}
                runId={runId}
                direction={hints.data!.direction}
                offline={offline}
                onWithdraw={
                  can('expert')
                    ? () =>
                        window.confirm(
                          `Withdraw this hint? Prompts made from now on go without it; it cannot be made active again (write it anew).`,
                        ) && withdraw.mutate({ runId, id: h.id })
                    : undefined
                }
              />
            ))}
          </div>
        )}
        {withdraw.error && <div className="alert error">{errorMessage(withdraw.error)}</div>}
      </div>
      {(past.length > 0 || older > 0) && (
        <div>
          <h3>Earlier hints ({past.length + older})</h3>
          <div className="grid">
            {past.map((h) => (
              <HintCard key={h.id} h={h} runId={runId} direction={hints.data!.direction} offline={offline} />
            ))}
          </div>
          <OlderHintsNote older={older} />
        </div>
      )}
      {hints.data && (
        <div className="muted small" data-testid="control-share">
          {hints.data.controlShare > 0
            ? `While a hint or retrieved knowledge is active, ${Math.round(hints.data.controlShare * 100)}% of the prompts in its scope are made without it, at random: its effect is measured against them.`
            : 'This run makes no prompt without an active hint (controlShare 0): effects cannot be measured.'}
        </div>
      )}
      {(hints.data?.retrievals.length ?? 0) > 0 && (
        <div>
          <h3>Knowledge retrieved for the prompts ({hints.data!.retrievals.length})</h3>
          <div className="grid" data-testid="retrieval-effects">
            {hints.data!.retrievals.map((r) => (
              <div key={r.id} className="hint" data-testid="retrieval-effect">
                <div className="small">
                  {r.island === null ? 'whole run' : `island ${r.island}`} ·{' '}
                  {r.trigger === 'stagnation' ? 'on stagnation' : 'asked by an expert'} · {r.chunks} chunk
                  {r.chunks === 1 ? '' : 's'} · <Age t={r.createdAt} /> · {r.made} candidate{r.made === 1 ? '' : 's'}{' '}
                  with it, {r.control} without
                </div>
                {r.effect && (
                  <EffectTable e={r.effect} treatedLabel="with the knowledge" direction={hints.data!.direction} />
                )}
              </div>
            ))}
          </div>
        </div>
      )}
    </div>
  )
}

/** The active list without a card: a list not loaded yet (or failed: ErrorBox says so) is not "no hint". */
export function NoActiveHint({ loaded, loading }: { loaded: boolean; loading: boolean }) {
  if (loaded) return <div className="empty">No hint is active.</div>
  return loading ? (
    <div className="muted" data-testid="hints-loading">
      Loading the hints…
    </div>
  ) : null
}

/** The run's earlier hints beyond those the list sends (the newest ones and every active one). */
export function OlderHintsNote({ older }: { older: number }) {
  return older > 0 ? (
    <div className="muted small" data-testid="hints-older">
      and {older} older (withdrawn/expired) not shown
    </div>
  ) : null
}

function HintCard({
  h,
  runId,
  direction,
  offline,
  onWithdraw,
}: {
  h: Hint
  runId: string
  direction: 'max' | 'min'
  /** offline operators: no model reads the hint, so a difference is chance */
  offline: boolean
  onWithdraw?: () => void
}) {
  const left =
    h.state === 'active'
      ? [
          h.evalsLeft !== null ? `${h.evalsLeft} evaluations left` : null,
          h.msLeft !== null ? `${duration(h.msLeft / 1000)} left` : null,
        ]
          .filter(Boolean)
          .join(' · ') || 'until withdrawn'
      : h.state === 'withdrawn' && h.withdrawnBy
        ? `withdrawn by ${h.withdrawnBy}`
        : h.state
  return (
    <div className={`hint ${h.state}`} data-testid="hint" data-state={h.state} data-made={h.made.count}>
      <div className="row between small">
        <span>
          <span className={`badge ${h.state === 'active' ? 'good' : ''}`}>{h.state}</span>{' '}
          {h.island === null ? 'whole run' : `island ${h.island}`} · by {h.authorLabel} · <Age t={h.createdAt} /> · from
          evaluation {h.startEval} · {left}
        </span>
        {onWithdraw && h.state === 'active' && (
          <button className="small" onClick={onWithdraw}>
            Withdraw
          </button>
        )}
      </div>
      <div className="text">{h.text}</div>
      <div className="row small" style={{ alignItems: 'flex-start', gap: 18 }}>
        <div>
          <div data-testid="hint-made">
            <strong>{h.made.count}</strong> candidate{h.made.count === 1 ? '' : 's'} made under it ({h.made.evaluated}{' '}
            evaluated), {h.made.control} without it (control)
            {h.made.rejected > 0 && (
              <span className="muted" data-testid="hint-rejected">
                {' '}
                · {h.made.rejected} more answer{h.made.rejected === 1 ? '' : 's'} refused before evaluation
              </span>
            )}
          </div>
          {h.made.count > 0 && <Link href={`/runs/${runId}/candidates?guidance=${h.id}`}>see them</Link>}
          <div className="row" style={{ gap: 4, marginTop: 4 }}>
            {h.recent.map((r) => (
              <Link
                key={r.id}
                href={`/runs/${runId}/candidates/${r.id}`}
                className="badge mono"
                title={`island ${r.island} · ${r.status}`}
              >
                {shortId(r.id)} {r.valid ? fmt(r.score, 3) : r.status === 'evaluated' ? '×' : '…'}
              </Link>
            ))}
          </div>
        </div>
        {h.effect && (
          <div>
            {offline && (
              <div className="muted small" data-testid="hint-offline">
                No model reads hints in this run (offline operators): any difference below is chance.
              </div>
            )}
            <EffectTable e={h.effect} treatedLabel="under the hint" direction={direction} />
          </div>
        )}
      </div>
    </div>
  )
}

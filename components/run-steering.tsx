'use client'
// Steering a running engine: stagnation alerts with their suggested actions, exploration for the
// run or one island (experts), and the weights of models or offline operators (admins). Every
// change is audited and appears in the run's activity feed.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import Link from 'next/link'
import { useState } from 'react'
import type { StagnationAlert } from '../client-safe/series.ts'
import { fmt } from '../client-safe/format.ts'
import { CommandNote } from './command-status.tsx'
import { useRunLive } from './run-live.tsx'
import { Age, useRole } from './run-ui.tsx'
import { errorMessage, useTRPC } from './trpc.tsx'

const SUGGESTION_TEXT: Record<string, string> = {
  'give-hint': 'give a hint',
  'retrieve-knowledge': 'retrieve knowledge',
  'raise-exploration': 'raise exploration',
  'migrate-in': 'bring in the best of other islands',
  'restart-from-elites': 'restart from the elites',
}

export function StagnationAlerts({ alerts, ended = false }: { alerts: StagnationAlert[]; ended?: boolean }) {
  const { runId } = useRunLive()
  const trpc = useTRPC()
  const qc = useQueryClient()
  const { can } = useRole()
  const controls = useQuery(trpc.runs.controls.queryOptions({ runId }))
  const [note, setNote] = useState<string | null>(null)
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.runs.controls.queryKey({ runId }) })
  const retrieve = useMutation(
    trpc.runs.retrieve.mutationOptions({
      onSuccess: (r) =>
        setNote(
          r.chunks
            ? `${r.chunks} knowledge chunk(s) go into the island's next prompts`
            : 'the knowledge base had nothing relevant for this island',
        ),
    }),
  )
  const explore = useMutation(
    trpc.runs.setExploration.mutationOptions({ onSuccess: () => (refresh(), setNote('exploration raised')) }),
  )
  const escalate = useMutation(
    trpc.runs.escalate.mutationOptions({
      onSuccess: (r, v) =>
        setNote(
          r.joined === null
            ? 'sent to the engine'
            : v.action === 'migrate-in'
              ? `${r.joined} program(s) of other islands joined island ${v.island}`
              : `island ${v.island} restarted: ${r.removed} member(s) out, ${r.joined} elite(s) in`,
        ),
    }),
  )
  if (!alerts.length)
    return (
      <div className="muted small" data-testid="no-alerts">
        {ended
          ? 'The run has ended: alerts are for a search under way (the islands table says which ended on a plateau).'
          : 'No island is stagnating.'}
      </div>
    )
  const err = retrieve.error ?? explore.error ?? escalate.error
  return (
    <div className="alerts" data-testid="stagnation-alerts">
      {alerts.map((a) => {
        const current = controls.data?.effectiveExploration[a.island] ?? controls.data?.exploration ?? 0.3
        return (
          <div
            key={a.island}
            data-testid="stagnation-alert"
            data-island={a.island}
            data-level={a.level}
            className={`alert ${a.kind === 'escalated' ? 'error' : ''}`}
          >
            <div className="row between">
              <strong>
                Island {a.island} {a.kind === 'escalated' ? 'is still stuck' : 'stalled'}
              </strong>
              <span className="muted small" title={`last raised ${new Date(a.t).toLocaleTimeString()}`}>
                first raised <Age t={a.since} />
              </span>
            </div>
            {a.events > 1 && (
              <div className="muted small" data-testid="alert-levels">
                level {a.firstLevel} → {a.level} ({a.events} alerts folded into one)
              </div>
            )}
            <div className="small">{a.message}</div>
            <div className="muted small">
              suggested: {a.suggestions.map((s) => SUGGESTION_TEXT[s] ?? s).join(', ') || '–'}
            </div>
            {can('expert') && (
              <div className="actions">
                <Link className="btn small" href={`/runs/${runId}/guidance?island=${a.island}`}>
                  Give a hint
                </Link>
                <button
                  className="small"
                  onClick={() => retrieve.mutate({ runId, island: a.island })}
                  disabled={retrieve.isPending}
                >
                  Retrieve knowledge
                </button>
                <button
                  className="small"
                  onClick={() =>
                    explore.mutate({
                      runId,
                      island: a.island,
                      value: Math.min(1, Math.round((current + 0.2) * 100) / 100),
                    })
                  }
                  disabled={explore.isPending || current >= 1}
                >
                  Raise exploration ({fmt(current, 2)} → {fmt(Math.min(1, current + 0.2), 2)})
                </button>
                <button
                  className="small"
                  data-testid="escalate-migrate-in"
                  onClick={() => escalate.mutate({ runId, island: a.island, action: 'migrate-in' })}
                  disabled={escalate.isPending}
                  title="copy the best programs of the other islands into this one"
                >
                  Bring in other islands’ best
                </button>
                <button
                  className="small"
                  data-testid="escalate-restart"
                  onClick={() => escalate.mutate({ runId, island: a.island, action: 'restart-from-elites' })}
                  disabled={escalate.isPending}
                  title="empty this island (pinned programs stay) and reseed it from the run’s elite archive"
                >
                  Restart from the elites
                </button>
              </div>
            )}
          </div>
        )
      })}
      {note && (
        <div className="alert info small">
          {note} <CommandNote outcome={escalate.data?.command ?? retrieve.data?.command ?? explore.data?.command} />
        </div>
      )}
      {err && (
        <div className="alert error small" role="alert">
          {errorMessage(err)}
        </div>
      )}
    </div>
  )
}

export function Steering() {
  const { runId, overview } = useRunLive()
  const trpc = useTRPC()
  const qc = useQueryClient()
  const { can } = useRole()
  const controls = useQuery(trpc.runs.controls.queryOptions({ runId }, { refetchInterval: 10_000 }))
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.runs.controls.queryKey({ runId }) })
  const setExp = useMutation(trpc.runs.setExploration.mutationOptions({ onSuccess: refresh }))
  const setWeights = useMutation(trpc.runs.setWeights.mutationOptions({ onSuccess: refresh }))
  const [island, setIsland] = useState<string>('run')
  const [value, setValue] = useState<string>('')
  const [weights, setWeightsDraft] = useState<Record<string, string>>({})
  const c = controls.data
  const islands = overview.data?.config.islands ?? 0
  if (!c) return <div className="muted small">Loading…</div>
  const current = island === 'run' ? c.exploration : (c.islandExploration[Number(island)] ?? c.exploration)
  const rows = c.mutator === 'llm' ? c.models : c.localOperators
  const arms = new Map(c.arms.map((a) => [a.id, a]))
  return (
    <div className="grid" style={{ gap: 12 }} data-testid="steering">
      <div>
        <h3>Exploration</h3>
        <div className="small muted" style={{ marginBottom: 6 }}>
          0 exploits the best, 1 explores broadly. Run: <strong>{fmt(c.exploration, 2)}</strong>
          {c.effectiveExploration.length > 0 && (
            <>
              {' '}
              · effective per island (with stagnation boost):{' '}
              {c.effectiveExploration.map((v, i) => `${i}: ${fmt(v, 2)}`).join(' · ')}
            </>
          )}
          {c.notDriven && <> · {c.notDriven}: figures as its engine last stored them</>}
        </div>
        {can('expert') ? (
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault()
              const v = Number(value || current)
              setExp.mutate({ runId, value: v, island: island === 'run' ? null : Number(island) })
            }}
          >
            <select aria-label="exploration scope" value={island} onChange={(e) => setIsland(e.target.value)}>
              <option value="run">whole run</option>
              {Array.from({ length: islands }, (_, i) => (
                <option key={i} value={i}>
                  island {i}
                </option>
              ))}
            </select>
            <input
              aria-label="exploration"
              type="range"
              min={0}
              max={1}
              step={0.05}
              value={value || String(current)}
              onChange={(e) => setValue(e.target.value)}
            />
            <span className="mono">{fmt(Number(value || current), 2)}</span>
            <button type="submit" disabled={setExp.isPending}>
              Set
            </button>
            {setExp.data && <CommandNote outcome={setExp.data.command} />}
            {setExp.error && <span className="badge bad">{errorMessage(setExp.error)}</span>}
          </form>
        ) : (
          <div className="muted small">Experts change exploration.</div>
        )}
      </div>
      <div>
        <h3>{c.mutator === 'llm' ? 'Model weights' : 'Offline operator weights'}</h3>
        <div className="scroll-x">
          <table className="table small">
            <thead>
              <tr>
                <th>{c.mutator === 'llm' ? 'model' : 'operator'}</th>
                <th className="num">weight</th>
                {c.mutator === 'llm' && (
                  <th
                    className="num"
                    title="the evolve stage's requests to it (the bandit's count; the cold start's are not in it)"
                  >
                    calls
                  </th>
                )}
                {c.mutator === 'llm' && (
                  <th className="num" title="mean reward the bandit measured for it">
                    reward
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id}>
                  {/* a long provider:model id breaks after its provider, so the numbers stay in view */}
                  <td className="mono">{r.id.replace(':', ':\u200b')}</td>
                  <td className="num">
                    {can('admin') ? (
                      <input
                        aria-label={`weight of ${r.id}`}
                        style={{ width: 56, textAlign: 'right' }}
                        inputMode="decimal"
                        value={weights[r.id] ?? String(r.weight)}
                        onChange={(e) => setWeightsDraft({ ...weights, [r.id]: e.target.value })}
                      />
                    ) : (
                      fmt(r.weight)
                    )}
                  </td>
                  {c.mutator === 'llm' && <td className="num">{arms.get(r.id)?.pulls ?? '–'}</td>}
                  {c.mutator === 'llm' && <td className="num">{fmt(arms.get(r.id)?.meanReward)}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {c.mutator === 'local' && c.arms.length > 0 && (
          <details className="block small" style={{ marginTop: 6 }}>
            <summary>bandit arms (operator variants)</summary>
            <div className="scroll-x">
              <table className="table small">
                <tbody>
                  {c.arms.map((a) => (
                    <tr key={a.id}>
                      <td className="mono">{a.id}</td>
                      <td className="num">weight {fmt(a.weight, 3)}</td>
                      <td className="num">{a.pulls} uses</td>
                      <td className="num">reward {fmt(a.meanReward, 3)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        )}
        {can('admin') && (
          <div className="row" style={{ marginTop: 6 }}>
            <button
              disabled={setWeights.isPending || Object.keys(weights).length === 0}
              onClick={() => {
                if (c.mutator === 'llm')
                  setWeights.mutate({ runId, models: c.models.map((m) => Number(weights[m.id] ?? m.weight)) })
                else
                  setWeights.mutate({
                    runId,
                    localOperators: Object.fromEntries(
                      c.localOperators.map((o) => [o.id, Number(weights[o.id] ?? o.weight)]),
                    ),
                  })
                setWeightsDraft({})
              }}
            >
              Apply weights
            </button>
            <span className="muted small">0 takes one out; the bandit keeps what it learned.</span>
            {setWeights.error && <span className="badge bad">{errorMessage(setWeights.error)}</span>}
            {setWeights.data && <CommandNote outcome={setWeights.data.command} />}
          </div>
        )}
      </div>
    </div>
  )
}

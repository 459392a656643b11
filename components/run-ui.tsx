'use client'
// Small pieces shared by the runs pages: status badges, numbers, ages, meters, the caller's role.
import { useQuery } from '@tanstack/react-query'
import { useEffect, useState, type ReactNode } from 'react'
import { ago, fmt } from '../client-safe/format.ts'
import { errorMessage, useTRPC } from './trpc.tsx'

const STATUS_CLASS: Record<string, string> = {
  created: 'info',
  'cold-start': 'info',
  evolving: 'good',
  paused: 'warn',
  completed: '',
  stopped: 'warn',
  failed: 'bad',
  queued: 'info',
  running: 'info',
  pending: 'info',
  evaluated: 'good',
  rejected: 'warn',
  invalid: 'bad',
}

export function StatusBadge({ status, title }: { status: string; title?: string }) {
  return (
    <span className={`badge ${STATUS_CLASS[status] ?? ''}`} title={title} data-testid="status-badge">
      {status}
    </span>
  )
}

export function Num({ v, digits = 4 }: { v: number | null | undefined; digits?: number }) {
  return <span className="mono">{fmt(v, digits)}</span>
}

export function usd(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–'
  return v < 0.01 && v > 0 ? `$${v.toFixed(4)}` : `$${v.toFixed(2)}`
}

/** "3 min ago", refreshed every few seconds */
export function Age({ t }: { t: number | null | undefined }) {
  const now = useNow(5000)
  if (!t) return <span className="muted">–</span>
  return <span title={new Date(t).toLocaleString()}>{ago((now - t) / 1000)}</span>
}

export function useNow(everyMs: number) {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs)
    return () => clearInterval(t)
  }, [everyMs])
  return now
}

/**
 * A bar from 0 to 1. A level (failure rate, load) turns amber, then red, as it fills; a budget's
 * progress does not: a run that spent its budget ended as planned, its bar only says it is done.
 */
export function Meter({ value, title, progress }: { value: number | null; title?: string; progress?: boolean }) {
  if (value === null) return null
  const cls = progress ? (value >= 1 ? 'done' : '') : value >= 1 ? 'bad' : value >= 0.85 ? 'warn' : ''
  return (
    <div className={`meter ${cls}`} title={title}>
      <span style={{ width: `${Math.min(100, Math.max(0, value * 100)).toFixed(1)}%` }} />
    </div>
  )
}

export function Tile({
  label,
  value,
  sub,
  meter,
  progress,
  testId,
}: {
  label: string
  value: ReactNode
  sub?: ReactNode
  meter?: number | null
  /** the meter is a budget's progress, not a level (see Meter) */
  progress?: boolean
  testId?: string
}) {
  return (
    <div className="tile" data-testid={testId}>
      <div className="l">{label}</div>
      <div className="v">{value}</div>
      {sub !== undefined && <div className="s">{sub}</div>}
      {meter !== undefined && <Meter value={meter} progress={progress} />}
    </div>
  )
}

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null
  return (
    <div className="alert error" role="alert">
      {title && <strong>{title}: </strong>}
      {errorMessage(error)}
    </div>
  )
}

const ORDER = ['viewer', 'expert', 'admin']

/** The signed-in user's role and what it allows (the server checks again; this only hides buttons). */
export function useRole() {
  const trpc = useTRPC()
  const me = useQuery(trpc.account.me.queryOptions())
  const role = (me.data?.role ?? 'viewer') as 'viewer' | 'expert' | 'admin'
  return {
    role,
    loaded: !!me.data,
    can: (needed: 'viewer' | 'expert' | 'admin') => ORDER.indexOf(role) >= ORDER.indexOf(needed),
  }
}

export function shortId(id: string | null | undefined): string {
  return id ? id.slice(0, 8) : '–'
}

/** Origin of a candidate in words (offline operators are never presented as a model). */
export function originLabel(origin: string): string {
  return (
    {
      seed: 'seed program',
      'cold-start': 'cold start',
      mutation: 'mutation',
      crossover: 'crossover',
      'expert-edit': 'expert edit',
      repair: 'repair',
    }[origin] ?? origin
  )
}

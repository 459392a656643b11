'use client'
// An intervention's effect against its concurrent control (shaped by server/steering/intervention-effect.ts):
// the two groups side by side, the differences with their 95 % intervals, and the verdict.
import type { GroupStats } from '../server/steering/guidance-stats.ts'
import type { ConcurrentEffect, Interval } from '../server/steering/intervention-effect.ts'
import { fmt } from '../client-safe/format.ts'

const pct = (v: number | null) => (v === null ? '–' : `${Math.round(v * 100)}%`)
const signed = (v: number | null, f: (v: number) => string) => (v === null ? '–' : `${v > 0 ? '+' : ''}${f(v)}`)
const interval = (i: Interval | null, f: (v: number) => string) => (i === null ? '' : ` [${f(i.low)}, ${f(i.high)}]`)

export function EffectTable({
  e,
  treatedLabel,
  direction,
}: {
  e: ConcurrentEffect
  treatedLabel: string
  direction: 'max' | 'min'
}) {
  const cls = e.verdict === 'better' ? 'good' : e.verdict === 'worse' ? 'bad' : ''
  const num = (v: number) => fmt(v, 3)
  const pp = (v: number) => `${Math.round(v * 100)} pt`
  return (
    <div>
      <div className="cmp">
        <span className="h" />
        <span className="h">{treatedLabel}</span>
        <span className="h">control (without it)</span>
        <Row label="candidates" a={e.treated} b={e.control} f={(s) => String(s.n)} />
        <Row label="valid" a={e.treated} b={e.control} f={(s) => pct(s.validRate)} />
        <Row label="mean score" a={e.treated} b={e.control} f={(s) => fmt(s.mean)} />
        <Row label="best score" a={e.treated} b={e.control} f={(s) => fmt(s.best)} />
        <Row label="beat their parent" a={e.treated} b={e.control} f={(s) => pct(s.improvedRate)} />
      </div>
      <div className="small" style={{ marginTop: 4 }} data-testid="effect-differences">
        difference (positive is better, {direction === 'max' ? 'higher' : 'lower'} scores): mean{' '}
        {signed(e.meanGain, num)}
        {interval(e.meanInterval, num)} · best {signed(e.bestGain, num)} · beat their parent{' '}
        {signed(e.improvedRateGain, pp)}
        {interval(e.improvedInterval, pp)}
      </div>
      <div style={{ marginTop: 4 }}>
        <span className={`badge ${cls}`} data-testid="effect-verdict" data-verdict={e.verdict}>
          {e.verdict}
        </span>
        <span className="muted small"> · {e.reason}</span>
      </div>
    </div>
  )
}

function Row({ label, a, b, f }: { label: string; a: GroupStats; b: GroupStats; f: (s: GroupStats) => string }) {
  return (
    <>
      <span className="h">{label}</span>
      <span>{f(a)}</span>
      <span>{f(b)}</span>
    </>
  )
}

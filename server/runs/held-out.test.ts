// Evaluator integrity end to end: a problem with a held-out stage (the fixture's evaluator samples
// another range when FM_HELD_OUT=1), a headless run through the real CLI and sandboxed workers,
// the top candidates re-evaluated at its end and again on request (`fm-agent held-out`), search
// score against held-out score, and the overfit flag from a pure rule.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cli, FIXTURES } from '../../test-support/cli.ts'
import { heldOutEnv } from '../../workers/runner.ts'
import { openDatabase } from '../db.ts'
import { gapText, type HeldOutBasis } from '../../client-safe/held-out.ts'
import { overfitVerdict, type HeldOutRecord } from './held-out.ts'

const dirs: string[] = []
afterAll(() =>
  dirs.forEach((d) => {
    rmSync(d, { recursive: true, force: true })
  }),
)

describe('the overfit rule', () => {
  const held = (score: number | null, valid = true) => ({ status: 'evaluated' as const, valid, score })
  it('without a baseline, flags a held-out score worse than the search score by more than the tolerance', () => {
    const v = (gap: number, overfit: boolean) => ({ gap: expect.closeTo(gap, 9), basis: 'score', overfit })
    expect(overfitVerdict(10, held(9.8), 'max', 0.05)).toEqual(v(0.02, false))
    expect(overfitVerdict(10, held(9), 'max', 0.05)).toEqual(v(0.1, true))
    expect(overfitVerdict(10, held(12), 'max', 0.05).overfit).toBe(false)
    expect(overfitVerdict(1, held(1.2), 'min', 0.05)).toEqual(v(0.2, true))
    expect(overfitVerdict(1, held(0.5), 'min', 0.05).overfit).toBe(false)
  })
  it('with the seed on both stages, asks what share of the gain over it carries over', () => {
    // bin packing's shape: the held-out instances are harder for every program, and the best
    // candidates score near zero, where a raw comparison calls a 0.1 difference 12 %
    const seed = { search: 3.98, held: held(4.03) }
    expect(overfitVerdict(0.8, held(0.9), 'min', 0.1, seed)).toEqual({
      gap: expect.closeTo(1 - 3.13 / 3.18, 9),
      basis: 'improvement',
      overfit: false,
    })
    expect(overfitVerdict(0.8, held(0.9), 'min', 0.1).overfit).toBe(true)
    // a gain that exists only on the search's instances
    expect(overfitVerdict(0.5, held(2.0), 'min', 0.1, seed)).toMatchObject({ basis: 'improvement', overfit: true })
    // held-out worse than the seed's: more than all of the gain lost
    expect(overfitVerdict(2, held(5), 'min', 0.1, seed).gap).toBeGreaterThan(1)
    // maximizing, and doing better on the held-out stage than on the search's
    expect(overfitVerdict(12, held(13), 'max', 0.05, { search: 10, held: held(10) })).toEqual({
      gap: expect.closeTo(-0.5, 9),
      basis: 'improvement',
      overfit: false,
    })
  })
  it('the seed itself is the baseline; the search score is the basis when the seed has no usable held-out score', () => {
    const seed = { search: 3.98, held: held(4.03) }
    expect(overfitVerdict(3.98, held(4.03), 'min', 0.1, seed)).toEqual({ gap: 0, basis: 'baseline', overfit: false })
    expect(overfitVerdict(5, held(6), 'min', 0.1, seed)).toMatchObject({ basis: 'score', overfit: true })
    expect(overfitVerdict(1, held(1.2), 'min', 0.1, { search: 3, held: held(null, false) })).toMatchObject({
      basis: 'score',
    })
    expect(overfitVerdict(1, held(1.2), 'min', 0.1, { search: 3, held: null })).toMatchObject({ basis: 'score' })
  })
  it('a candidate that is the baseline again, but for float noise, is judged against the baseline held out', () => {
    // a constant nudged 1e-3 → 1.07e-3: the search gain 1.3e-8 of 0.399, the held-out one -1e-7
    const seed = { search: 0.3989285396, held: held(0.5690077) }
    const nudged = overfitVerdict(0.3989285266, held(0.5690078), 'min', 0.5, seed)
    expect(nudged).toEqual({ gap: expect.closeTo(1.757e-7, 9), basis: 'baseline', overfit: false })
    expect(gapText(nudged.gap, nudged.basis)).toBe('as the baseline (no gain on the search)')
    // the same search score, much worse held out than the baseline: overfit all the same
    const worse = overfitVerdict(0.3989285266, held(0.9), 'min', 0.5, seed)
    expect([worse.basis, worse.overfit]).toEqual(['baseline', true])
    expect(gapText(worse.gap, worse.basis)).toBe('58.2% worse than the baseline (no gain on the search)')
    // a real gain, however small in share, is still asked to carry over
    expect(overfitVerdict(0.398, held(0.6), 'min', 0.5, seed)).toMatchObject({ basis: 'improvement', overfit: true })
  })
  it('calls an invalid held-out result overfit and an unchecked one unknown', () => {
    expect(overfitVerdict(1, held(null, false), 'min', 0.05)).toEqual({ gap: null, basis: null, overfit: true })
    expect(overfitVerdict(1, { status: 'queued', valid: undefined, score: undefined }, 'min', 0.05)).toEqual({
      gap: null,
      basis: null,
      overfit: null,
    })
    expect(overfitVerdict(1, null, 'min', 0.05).overfit).toBeNull()
  })
  it("never lets a problem's variables replace the sandbox's own", () => {
    expect(
      heldOutEnv({ SEEDS: '1,2', PATH: '/tmp', HOME: '/x', FM_JOB_ID: 'y', LD_PRELOAD: 'z', PYTHONPATH: '/evil' }),
    ).toEqual({ SEEDS: '1,2' })
  })
})

describe('a problem with a held-out stage', () => {
  it('re-evaluates the top candidates at the end of a run and on request, beside their search scores', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fm-held-out-'))
    dirs.push(dataDir)
    const r = await cli([
      'run',
      join(FIXTURES, 'curve-fit-heldout'),
      '--operators',
      'local',
      '--max-evals',
      '30',
      '--islands',
      '1',
      '--seed',
      '4',
      '--json',
      '--data-dir',
      dataDir,
    ])
    expect(r.code, r.stderr.slice(-2000)).toBe(0)
    expect(r.json.status).toBe('completed')
    expect(r.stderr).toMatch(/held-out stage: 3\/3 evaluated/)
    // the summary carries what it just computed: no second command needed
    expect(r.json.heldOut).toMatchObject({ declared: true })
    expect(r.json.heldOut.candidates).toHaveLength(3)
    const read = async () => {
      const db = await openDatabase({ dataDir, databaseUrl: '' })
      try {
        return await db.prisma.candidate.findMany({
          where: { runId: r.json.runId, status: 'evaluated' },
          select: { id: true, score: true, valid: true, heldOut: true, metrics: true, origin: true },
          orderBy: { evalIndex: 'asc' },
        })
      } finally {
        await db.close()
      }
    }
    const rows = await read()
    const top3 = rows
      .filter((c) => c.valid)
      .sort((a, b) => a.score! - b.score!)
      .slice(0, 3)
    // the seed too: the baseline every verdict is calibrated against
    const seed = rows.find((c) => c.origin === 'seed' && c.valid)!
    const checked = rows.filter((c) => c.heldOut)
    expect(checked.map((c) => c.id).sort()).toEqual([...new Set([...top3, seed].map((c) => c.id))].sort())
    for (const c of checked) {
      const h = c.heldOut as unknown as HeldOutRecord
      expect(h).toMatchObject({ status: 'evaluated', attempt: 0, valid: true })
      // the evaluator saw the held-out range, the search never did
      expect((h.metrics as Record<string, number>).x_min).toBe(1)
      expect((c.metrics as Record<string, number>).x_min).toBe(-1)
      expect(h.score).not.toBe(c.score)
    }
    expect(rows.every((c) => (c.metrics as Record<string, number> | null)?.x_min !== 1)).toBe(true)

    // on request: the CLI re-evaluates the top 2 (a new attempt) and reports both scores side by side
    const again = await cli(['held-out', r.json.runId, '--top', '2', '--json', '--data-dir', dataDir])
    expect(again.code, again.stderr.slice(-2000)).toBe(0)
    const report = again.json as {
      declared: boolean
      tolerance: number
      baseline: { id: string; searchScore: number; heldOut: HeldOutRecord }
      candidates: Array<{
        id: string
        searchScore: number
        heldOut: HeldOutRecord
        gap: number | null
        basis: HeldOutBasis
        overfit: boolean | null
      }>
    }
    expect(report).toMatchObject({
      declared: true,
      tolerance: 0.05,
      baseline: { id: seed.id, searchScore: seed.score },
    })
    // checked once: a new request re-evaluates the top candidates, not the baseline
    expect(report.baseline.heldOut).toMatchObject({ status: 'evaluated', attempt: 0, valid: true })
    // what --top asked for: the 2 best, best first (the baseline apart)
    expect(report).toMatchObject({ topK: 2 })
    expect(report.candidates.map((c) => c.id)).toEqual(top3.slice(0, 2).map((c) => c.id))
    const byId = new Map(report.candidates.map((c) => [c.id, c]))
    const after = await read()
    for (const c of top3.slice(0, 2))
      expect((after.find((x) => x.id === c.id)!.heldOut as unknown as HeldOutRecord).attempt).toBe(1)
    expect((after.find((x) => x.id === top3[2]!.id)!.heldOut as unknown as HeldOutRecord).attempt).toBe(0)
    for (const c of report.candidates) {
      expect(c).toMatchObject(
        overfitVerdict(c.searchScore, c.heldOut, 'min', 0.05, {
          search: report.baseline.searchScore,
          held: report.baseline.heldOut,
        }),
      )
      expect(byId.get(c.id)!.heldOut.score).toBe(
        (after.find((x) => x.id === c.id)!.heldOut as unknown as HeldOutRecord).score,
      )
    }
    // every checked candidate has a verdict; which way it goes depends on what the search found
    // (the rule itself is the pure function's, tested above)
    expect(report.candidates.every((c) => c.overfit !== null)).toBe(true)
    const text = await cli(['held-out', r.json.runId, '--report', '--data-dir', dataDir])
    expect(text.stdout).toMatch(/search \S+\s+held-out \S+/)
    // the report alone: the problem's top 3 and every one checked
    const full = await cli(['held-out', r.json.runId, '--report', '--json', '--data-dir', dataDir])
    expect(full.json.candidates).toHaveLength(3)
    const flagged = (full.json.candidates as typeof report.candidates).filter((c) => c.overfit).length
    expect(text.stdout.match(/OVERFIT/g)?.length ?? 0).toBe(flagged)
    expect(text.stdout).toContain('overfit when a candidate keeps less than 95% of its gain over the seed')
    expect(text.stdout).toContain(`${seed.id}  search`)
    expect(text.stdout).toMatch(/keeps -?\d+% of its gain/)
  }, 300_000)
})

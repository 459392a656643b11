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
import { overfitVerdict, type HeldOutRecord } from './held-out.ts'

const dirs: string[] = []
afterAll(() =>
  dirs.forEach((d) => {
    rmSync(d, { recursive: true, force: true })
  }),
)

describe('the overfit rule', () => {
  const held = (score: number | null, valid = true) => ({ status: 'evaluated' as const, valid, score })
  it('flags a held-out score worse than the search score by more than the tolerance, in the problem direction', () => {
    expect(overfitVerdict(10, held(9.8), 'max', 0.05)).toEqual({ gap: expect.closeTo(0.02, 9), overfit: false })
    expect(overfitVerdict(10, held(9), 'max', 0.05)).toEqual({ gap: expect.closeTo(0.1, 9), overfit: true })
    expect(overfitVerdict(10, held(12), 'max', 0.05).overfit).toBe(false)
    expect(overfitVerdict(1, held(1.2), 'min', 0.05)).toEqual({ gap: expect.closeTo(0.2, 9), overfit: true })
    expect(overfitVerdict(1, held(0.5), 'min', 0.05).overfit).toBe(false)
  })
  it('calls an invalid held-out result overfit and an unchecked one unknown', () => {
    expect(overfitVerdict(1, held(null, false), 'min', 0.05)).toEqual({ gap: null, overfit: true })
    expect(overfitVerdict(1, { status: 'queued', valid: undefined, score: undefined }, 'min', 0.05)).toEqual({
      gap: null,
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
    const read = async () => {
      const db = await openDatabase({ dataDir, databaseUrl: '' })
      try {
        return await db.prisma.candidate.findMany({
          where: { runId: r.json.runId, status: 'evaluated' },
          select: { id: true, score: true, valid: true, heldOut: true, metrics: true },
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
    const checked = rows.filter((c) => c.heldOut)
    expect(checked.map((c) => c.id).sort()).toEqual(top3.map((c) => c.id).sort())
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
      candidates: Array<{
        id: string
        searchScore: number
        heldOut: HeldOutRecord
        gap: number | null
        overfit: boolean | null
      }>
    }
    expect(report).toMatchObject({ declared: true, tolerance: 0.05 })
    expect(report.candidates).toHaveLength(3)
    const byId = new Map(report.candidates.map((c) => [c.id, c]))
    const after = await read()
    for (const c of top3.slice(0, 2))
      expect((after.find((x) => x.id === c.id)!.heldOut as unknown as HeldOutRecord).attempt).toBe(1)
    expect((after.find((x) => x.id === top3[2]!.id)!.heldOut as unknown as HeldOutRecord).attempt).toBe(0)
    for (const c of report.candidates) {
      expect(c).toMatchObject(overfitVerdict(c.searchScore, c.heldOut, 'min', 0.05))
      expect(byId.get(c.id)!.heldOut.score).toBe(
        (after.find((x) => x.id === c.id)!.heldOut as unknown as HeldOutRecord).score,
      )
    }
    // extrapolating an approximate fit: these fit the search's range, not the function
    expect(report.candidates.some((c) => c.overfit)).toBe(true)
    const text = await cli(['held-out', r.json.runId, '--report', '--data-dir', dataDir])
    expect(text.stdout).toMatch(/search \S+\s+held-out \S+/)
    expect(text.stdout).toMatch(/OVERFIT/)
  }, 300_000)
})

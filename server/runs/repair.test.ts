import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { agentResponder, promptKind } from '../../test-support/agent-responder.ts'
import { cli, collect, FIXTURES, startCli } from '../../test-support/cli.ts'
import { startOpenAiTestServer } from '../../test-support/openai-server.ts'
import { candidateDetail } from '../queries/candidates.ts'
import { openDatabase } from '../db.ts'
import { failureOf, repairDepth, repairDue } from './repair.ts'
import { scratchDirs } from '../../test-support/scratch.ts'

const { tempDir, configFile } = scratchDirs('fm-repair-')

const CURVE = join(FIXTURES, 'curve-fit')
const KEY = { OPENAI_API_KEY: 'sk-test-REPAIR' }

const model = (url: string) => ({
  provider: 'openai',
  model: 'agent-model',
  baseURL: url,
  apiKeyEnv: 'OPENAI_API_KEY',
  pricePer1kIn: 0.5,
  pricePer1kOut: 2,
})

describe('which failures owe a repair', () => {
  it('a model-written child that failed, within the chain, never the seed, an expert edit or an infrastructure failure', () => {
    expect(repairDue({ origin: 'mutation', valid: false, errorKind: 'crash', depth: 0 }, 1)).toBe(true)
    expect(repairDue({ origin: 'cold-start', valid: false, depth: 0 }, 1)).toBe(true)
    expect(repairDue({ origin: 'repair', valid: false, depth: 1 }, 1)).toBe(false)
    expect(repairDue({ origin: 'repair', valid: false, depth: 1 }, 2)).toBe(true)
    expect(repairDue({ origin: 'mutation', valid: true, depth: 0 }, 1)).toBe(false)
    expect(repairDue({ origin: 'mutation', valid: false, errorKind: 'infra', depth: 0 }, 1)).toBe(false)
    expect(repairDue({ origin: 'seed', valid: false, depth: 0 }, 1)).toBe(false)
    expect(repairDue({ origin: 'expert-edit', valid: false, depth: 0 }, 1)).toBe(false)
    expect(repairDue({ origin: 'mutation', valid: false, depth: 0 }, 0)).toBe(false)
    expect(repairDepth({ repairDepth: 2 })).toBe(2)
    expect(repairDepth(null)).toBe(0)
    expect(failureOf({ valid: false, error: { kind: 'timeout', message: 'timed out after 10 s' } }, {})).toEqual({
      kind: 'timeout',
      message: 'timed out after 10 s',
    })
    expect(failureOf({ valid: false }, { feedback: "NameError: name 'x' is not defined" }).message).toMatch(
      /invalid: NameError/,
    )
  })
})

describe('repairs against the scripted model', () => {
  it('sends each failure back with its error, repairs it once, and keeps the budget and spend exact', async () => {
    const agent = agentResponder({ breakEvery: 3, literalEdit: { precision: 10 } })
    const server = await startOpenAiTestServer({ apiKey: KEY.OPENAI_API_KEY, responder: agent.respond })
    try {
      const dataDir = tempDir()
      const config = configFile({
        mutator: 'llm',
        islands: 2,
        repairAttempts: 1,
        // few requests ahead of the results: failures come back while the budget still has room for their repairs
        generation: { maxInFlight: 2 },
        budget: { maxEvals: 45 },
        models: [model(server.url)],
      })
      const r = await cli(['run', CURVE, '--config', config, '--json', '--data-dir', dataDir], KEY)
      expect(r.code, r.stderr.slice(-2000)).toBe(0)
      expect(r.json).toMatchObject({ status: 'completed', evaluations: 45 })
      const db = await openDatabase({ dataDir, databaseUrl: '' })
      try {
        const all = await db.prisma.candidate.findMany({ where: { runId: r.json.runId } })
        const byId = new Map(all.map((c) => [c.id, c]))
        const repairs = all.filter((c) => c.origin === 'repair')
        expect(agent.stats.planted['name-error']).toBeGreaterThan(0)
        expect(agent.stats.planted.exception).toBeGreaterThan(0)
        expect(repairs.length).toBeGreaterThan(2)
        // each repair names one failed child, which was marked as owed one; no child is repaired twice
        const perParent = new Map<string, number>()
        for (const rep of repairs) {
          const failed = byId.get(rep.parentIds[0])!
          expect(failed.valid).toBe(false)
          expect(failed.repairDue).toBe(true)
          expect(rep.parentIds).toHaveLength(1)
          expect((rep.operatorParams as { repairDepth: number }).repairDepth).toBe(1)
          expect(rep.prompt).toMatch(/## Why the current program failed/)
          expect(rep.prompt).toContain((failed.artifacts as { feedback: string }).feedback)
          perParent.set(failed.id, (perParent.get(failed.id) ?? 0) + 1)
        }
        expect(Math.max(...perParent.values())).toBe(1)
        // a repair of a repair is not owed with repairAttempts 1
        expect(all.filter((c) => c.origin === 'repair' && c.repairDue)).toHaveLength(0)
        // the culprit the error named was found and removed: those repairs are valid
        const named = repairs.filter(
          (rep) =>
            /fm_undefined_/.test((byId.get(rep.parentIds[0])!.artifacts as { feedback: string }).feedback) &&
            rep.status === 'evaluated',
        )
        expect(named.length).toBeGreaterThan(0)
        expect(named.every((rep) => rep.valid)).toBe(true)
        // the raised exception names no culprit: the scripted model cannot fix it
        const unnamed = repairs.filter(
          (rep) =>
            /ValueError/.test((byId.get(rep.parentIds[0])!.artifacts as { feedback: string }).feedback) &&
            rep.status === 'evaluated',
        )
        expect(unnamed.every((rep) => !rep.valid)).toBe(true)
        // repairs count against the budget and the spend like every request
        const indexes = all
          .filter((c) => c.status === 'evaluated')
          .map((c) => c.evalIndex!)
          .sort((a, b) => a - b)
        expect(indexes).toEqual(Array.from({ length: 45 }, (_, i) => i))
        const run = await db.prisma.run.findUniqueOrThrow({ where: { id: r.json.runId } })
        expect(run.spendUsd).toBeCloseTo(
          all.reduce((s, c) => s + c.costUsd, 0),
          9,
        )
        expect(repairs.every((rep) => rep.costUsd > 0)).toBe(true)
        // the candidate page shows the chain from either end: the failure first, then its repair
        const rep = named[0]!
        for (const id of [rep.id, rep.parentIds[0]]) {
          const d = await candidateDetail(db, r.json.runId, id)
          expect(d.repairs.map((s) => [s.id, s.origin, s.valid])).toEqual([
            [rep.parentIds[0], byId.get(rep.parentIds[0])!.origin, false],
            [rep.id, 'repair', true],
          ])
          expect(d.repairs[0]!.feedback).toMatch(/fm_undefined_/)
        }
      } finally {
        await db.close()
      }
    } finally {
      await server.close()
    }
  })

  it('repairAttempts 0 turns repair off', async () => {
    const agent = agentResponder({ breakEvery: 2 })
    const server = await startOpenAiTestServer({ apiKey: KEY.OPENAI_API_KEY, responder: agent.respond })
    try {
      const config = configFile({
        mutator: 'llm',
        islands: 1,
        repairAttempts: 0,
        budget: { maxEvals: 16 },
        models: [model(server.url)],
      })
      const r = await cli(['run', CURVE, '--config', config, '--json', '--data-dir', tempDir()], KEY)
      expect(r.code, r.stderr.slice(-2000)).toBe(0)
      expect(agent.stats.planted['name-error'] + agent.stats.planted.exception).toBeGreaterThan(0)
      expect(
        server
          .chatRequests()
          .filter(
            (q) => promptKind((q.body as { messages: Array<{ role: string; content: string }> }).messages) === 'repair',
          ),
      ).toHaveLength(0)
    } finally {
      await server.close()
    }
  })
})

describe('kill -9 with repairs in flight', () => {
  it('resumes the repairs that were owed, repairs no child twice, and ends with the budget exact', async () => {
    const agent = agentResponder({ breakEvery: 2, bugs: ['name-error'], literalEdit: { precision: 10 } })
    let hold = true
    let heldRepairs = 0
    const release: Array<() => void> = []
    const server = await startOpenAiTestServer({
      apiKey: KEY.OPENAI_API_KEY,
      responder: async (info) => {
        if (hold && promptKind(info.messages) === 'repair') {
          heldRepairs++
          await new Promise<void>((r) => release.push(r))
        }
        return agent.respond(info)
      },
    })
    try {
      const dataDir = tempDir()
      const config = configFile({
        mutator: 'llm',
        islands: 2,
        repairAttempts: 1,
        // room for the three held repairs and the requests that go on around them
        generation: { maxInFlight: 6 },
        budget: { maxEvals: 50 },
        models: [model(server.url)],
      })
      const child = startCli(['run', CURVE, '--config', config, '--json', '--data-dir', dataDir], KEY)
      const done = collect(child)
      let runId = ''
      child.stderr!.on('data', (d) => (runId ||= /run ([0-9a-f-]{36}) on/.exec(String(d))?.[1] ?? ''))
      await new Promise<void>((resolve, reject) => {
        const t = setInterval(() => {
          if (heldRepairs >= 3) {
            clearInterval(t)
            child.kill('SIGKILL')
            resolve()
          }
        }, 20)
        child.once('exit', () => (clearInterval(t), reject(new Error('the run ended before 3 repairs were in flight'))))
      })
      await done
      hold = false
      for (const r of release.splice(0)) r()
      expect(runId).not.toBe('')
      let owed: string[]
      {
        const db = await openDatabase({ dataDir, databaseUrl: '' })
        try {
          const rows = await db.sql<{ id: string }>(
            `SELECT c.id FROM candidates c WHERE c.run_id = $1 AND c.repair_due
               AND NOT EXISTS (SELECT 1 FROM candidates r WHERE r.run_id = $1 AND r.origin = 'repair' AND r.parent_ids[1] = c.id)`,
            [runId],
          )
          owed = rows.map((r) => r.id)
        } finally {
          await db.close()
        }
      }
      // the held requests were never answered: their children still owe a repair
      expect(owed.length).toBeGreaterThanOrEqual(3)
      const r = await cli(['resume', runId, '--json', '--data-dir', dataDir], { OPENAI_BASE_URL: server.url, ...KEY })
      expect(r.code, r.stderr.slice(-2000)).toBe(0)
      expect(r.json).toMatchObject({ status: 'completed', evaluations: 50 })
      const db = await openDatabase({ dataDir, databaseUrl: '' })
      try {
        const all = await db.prisma.candidate.findMany({
          where: { runId },
          select: { id: true, origin: true, parentIds: true, status: true, evalIndex: true },
        })
        const repairsOf = (id: string) => all.filter((c) => c.origin === 'repair' && c.parentIds[0] === id).length
        for (const id of owed) expect(repairsOf(id)).toBe(1)
        const counts = new Map<string, number>()
        for (const c of all)
          if (c.origin === 'repair') counts.set(c.parentIds[0], (counts.get(c.parentIds[0]) ?? 0) + 1)
        expect(Math.max(...counts.values())).toBe(1)
        const indexes = all
          .filter((c) => c.status === 'evaluated')
          .map((c) => c.evalIndex!)
          .sort((a, b) => a - b)
        expect(indexes).toEqual(Array.from({ length: 50 }, (_, i) => i))
      } finally {
        await db.close()
      }
    } finally {
      hold = false
      for (const r of release.splice(0)) r()
      await server.close()
    }
  })
})

// The run state's memory of candidates stays bounded by its populations (a long run would otherwise
// hold every candidate's code, metrics and artifacts).
import { describe, expect, it } from 'vitest'
import { Evolution } from '../engine/evolution.ts'
import type { Db } from '../db.ts'
import { RunConfig } from '../../client-safe/run-config.ts'
import { CostAwareBandit } from '../engine/bandit.ts'
import { notDrivenHere } from './lease.ts'
import { banditOptionsFor, provenOptimum, RunState, storedArmStats } from './state.ts'
import { ProblemSpec } from '../contracts/problem.ts'
import type { LlmClientOptions } from '../llm/client.ts'

describe('RunState.prune', () => {
  it('keeps the islands’ members, the archive and what it is told to keep; forgets the rest', async () => {
    const reads: string[] = []
    const db = {
      sql: async (_text: string, params: unknown[]) => {
        reads.push(params[0] as string)
        return [{ artifacts: { feedback: `stored for ${params[0]}` } }]
      },
    } as unknown as Db
    const s = new RunState(db, 'run-1')
    s.evo = new Evolution({ language: 'python', direction: 'max', islands: 2, islandCapacity: 5, archiveSize: 3 })
    const all: string[] = []
    for (let i = 0; i < 60; i++) {
      const id = `c${i}`
      all.push(id)
      s.code.set(id, `x = ${i}\n`)
      s.metrics.set(id, { score: i })
      s.artifacts.set(id, { feedback: `f${i}` })
      s.critiques.set(id, { fromId: id, text: 'ok', rating: 0.5 })
      s.evo.ingest({ id, island: i % 2, code: `x = ${i}\nprint(${i})\n`, score: i % 7 === 0 ? null : i })
    }
    const members = new Set([
      ...s.evo.islands.flatMap((isl) => [...isl.members()].map((m) => m.id)),
      ...s.evo.archive.list().map((e) => e.id),
    ])
    expect(members.size).toBeLessThan(20)
    s.prune(['c3', 'c0'])
    const kept = new Set([...members, 'c3', 'c0'])
    for (const map of [s.code, s.metrics, s.artifacts, s.critiques]) expect(new Set(map.keys())).toEqual(kept)
    // the best of the run is in the archive: still there
    expect(s.artifacts.get('c59')).toEqual({ feedback: 'f59' })
    // a forgotten candidate's artifacts are read back when asked for (a repair of an old failure)
    const forgotten = all.find((id) => !kept.has(id))!
    expect(await s.artifactsOf(forgotten)).toEqual({ feedback: `stored for ${forgotten}` })
    expect(await s.artifactsOf('c59')).toEqual({ feedback: 'f59' })
    expect(reads).toEqual([forgotten])
  })
})

describe('RunState notes', () => {
  it("tells the next prompt on the same parent why the last answer did not apply, and no other parent's", () => {
    const s = new RunState({} as Db, 'run-1')
    s.setNote(0, 'a', 'the SEARCH block did not match')
    expect(s.notesFor(0, 'a')).toEqual(['the SEARCH block did not match'])
    // the same island, another parent: the note is about a program this prompt does not show
    expect(s.notesFor(0, 'b')).toEqual([])
    expect(s.notesFor(1, 'a')).toEqual([])
    // an answer to another parent says nothing of this one; the next good answer to it clears it
    s.setNote(0, 'b', undefined)
    expect(s.notesFor(0, 'a')).toEqual(['the SEARCH block did not match'])
    s.setNote(0, 'a', undefined)
    expect(s.notesFor(0, 'a')).toEqual([])
    // the cold start's requests (island -1) keep none
    s.setNote(-1, 'a', 'x')
    expect(s.notesFor(-1, 'a')).toEqual([])
  })
})

describe('RunState.load and a proven optimum', () => {
  const load = async (reference: Record<string, unknown> | undefined) => {
    const spec = ProblemSpec.parse({
      id: 'tour',
      name: 'a tour (minimize its length)',
      language: 'python',
      entry: 'initial.py',
      evaluator: 'evaluator.py',
      direction: 'min',
      primaryMetric: 'length',
      reference,
    })
    const row = {
      config: RunConfig.parse({ stagnationWindow: 3 }),
      problemSnapshot: { id: spec.id, name: spec.name, description: '', spec, seedCode: '', bundleHash: 'h' },
      status: 'evolving',
      evaluations: 0,
      spendUsd: 0,
      nextSeq: 0,
      bestScore: null,
      bestCandidateId: null,
      seedScore: null,
      startedAt: null,
      activeS: 0,
      engineState: null,
    }
    const db = { prisma: { run: { findUnique: async () => row } } } as unknown as Db
    const s = new RunState(db, 'run-1')
    await s.load({} as LlmClientOptions)
    // an island that reached the reference and stayed there for several windows
    return Array.from({ length: 12 }, () => s.evo.stagnation.observe(0, 7542)).flat()
  }

  it("builds the engine with the problem's optimum when the reference is proven optimal, and only then", async () => {
    expect(await load({ value: 7542, source: 'TSPLIB95: proven optimal tour', optimal: true })).toEqual([])
    // a best-known value (or a run stored before optimal existed) keeps the alarms
    expect(await load({ value: 7542, source: 'best known', optimal: false })).not.toEqual([])
    expect(await load({ value: 7542, source: 'best known' })).not.toEqual([])
    expect(await load(undefined)).not.toEqual([])
    expect(provenOptimum({ reference: { value: 1, source: 's', optimal: true } })).toBe(1)
    expect(provenOptimum({})).toBeUndefined()
  })
})

describe('storedArmStats', () => {
  it("gives the bandit's stored figures with the weights of the run's config, in the models' order", () => {
    const config = RunConfig.parse({
      mutator: 'llm',
      models: [
        { provider: 'openai', model: 'a', weight: 2 },
        { provider: 'openai', model: 'b', weight: 0 },
      ],
    })
    const bandit = new CostAwareBandit([{ id: 'openai:a' }, { id: 'openai:b' }], banditOptionsFor(config))
    for (let i = 0; i < 5; i++) bandit.update('openai:a', 0.8, 0.01)
    bandit.update('openai:b', 0.1, 0.02)
    const stats = storedArmStats(config, { bandit: bandit.toJSON() })
    expect(stats.map((a) => [a.id, a.pulls, a.weight])).toEqual([
      ['openai:a', 5, 2],
      ['openai:b', 1, 0],
    ])
    expect(stats[0]!.meanReward).toBeCloseTo(0.8)
    // nothing stored yet (a run that has not started): no figures, not zeros
    expect(storedArmStats(config, {})).toEqual([])
  })
})

describe('notDrivenHere', () => {
  const db = { mode: 'server' as const }
  const later = new Date(Date.now() + 60_000)
  it('says whether the run has ended, is driven elsewhere, or has no engine', () => {
    expect(notDrivenHere(db, { status: 'completed', leaseOwner: 'h:1', leaseUntil: later })).toBe(
      'the run is completed',
    )
    expect(notDrivenHere(db, { status: 'evolving', leaseOwner: 'h:1', leaseUntil: later })).toBe(
      'its engine runs in another process (h:1)',
    )
    expect(notDrivenHere(db, { status: 'evolving', leaseOwner: 'h:1', leaseUntil: new Date(0) })).toBe(
      'no engine drives it now',
    )
  })
})

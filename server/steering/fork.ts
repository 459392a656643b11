// "New run from here": a run forked from any candidate of another run (or from its best). The
// candidate, and optionally the best of its island's population, become the new run's seed
// programs (RunConfig.seedPrograms: the cold start evaluates them next to the problem's seed);
// the form opens with the source run's configuration; the new run records where it came from
// (runs.forked_from_*), and both runs, and the candidates on either side, link to each other.
import type { AppServices } from '../app.ts'
import type { Actor } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { BadInputError, NotFoundError } from '../errors.ts'
import {
  RunConfig,
  SEED_PROGRAMS_MAX,
  SEED_PROGRAMS_MAX_CHARS,
  type RunConfigInput,
  type SeedProgram,
} from '../../client-safe/run-config.ts'
import { createRun, type ProblemSnapshot } from '../runs/service.ts'

async function sourceCandidate(db: Db, runId: string, candidateId: string) {
  const run = await db.prisma.run.findUnique({
    where: { id: runId },
    select: { id: true, name: true, problemId: true, config: true, problemSnapshot: true, bestCandidateId: true },
  })
  if (!run) throw new NotFoundError(`no run "${runId}"`)
  const c = await db.prisma.candidate.findFirst({
    where: { id: candidateId, runId },
    select: { id: true, code: true, score: true, valid: true, island: true, origin: true, seq: true, status: true },
  })
  if (!c) throw new NotFoundError(`no candidate "${candidateId}" in this run`)
  if (!c.code.trim()) throw new BadInputError('this candidate has no program to start from')
  return {
    run: {
      ...run,
      config: run.config as unknown as RunConfig,
      direction: (run.problemSnapshot as unknown as ProblemSnapshot).spec.direction,
    },
    candidate: c,
  }
}

/**
 * The best distinct programs of the candidate's island (evaluated, valid, not banned), best first:
 * what "its island's population" seeds, up to `limit`. Read from the database, so it works for a
 * run that is not driven here (or not at all); at 100,000 candidates an index scan of one island.
 */
async function islandPopulation(
  db: Db,
  runId: string,
  island: number,
  direction: 'max' | 'min',
  exclude: { id: string },
  limit: number,
) {
  if (island < 0 || limit <= 0) return []
  const rows = await db.prisma.candidate.findMany({
    where: { runId, island, status: 'evaluated', valid: true, banned: false, id: { not: exclude.id } },
    orderBy: [{ score: { sort: direction === 'max' ? 'desc' : 'asc', nulls: 'last' } }, { seq: 'asc' }],
    take: limit * 2,
    select: { id: true, code: true, codeHash: true, score: true },
  })
  const seen = new Set<string>()
  const out: typeof rows = []
  for (const r of rows) {
    if (seen.has(r.codeHash) || !r.code.trim()) continue
    seen.add(r.codeHash)
    out.push(r)
    if (out.length >= limit) break
  }
  return out
}

/** How many island members a fork takes at most: the run's population per island, within the seed bounds. */
function islandLimit(config: RunConfig): number {
  return Math.max(0, Math.min(config.populationPerIsland, SEED_PROGRAMS_MAX - 1))
}

/** What the fork form shows before anything is created: the source, its configuration, what would seed the new run. */
export async function forkPreview(db: Db, input: { runId: string; candidateId: string }) {
  const { run, candidate } = await sourceCandidate(db, input.runId, input.candidateId)
  const pop = await islandPopulation(db, run.id, candidate.island, run.direction, candidate, islandLimit(run.config))
  const { seedPrograms: _s, ...config } = run.config
  return {
    source: {
      runId: run.id,
      name: run.name,
      problemId: run.problemId,
      direction: run.direction,
      isBest: run.bestCandidateId === candidate.id,
    },
    candidate: {
      id: candidate.id,
      score: candidate.score,
      valid: candidate.valid,
      island: candidate.island,
      origin: candidate.origin,
      seq: candidate.seq,
      status: candidate.status,
    },
    /** the source run's configuration, seed programs left out (the fork makes its own) */
    config,
    island: { index: candidate.island, available: pop.length, best: pop[0]?.score ?? null },
  }
}

/** The seed programs of a fork: the candidate first, then (optionally) its island's best, within the size bounds. */
async function forkSeeds(
  db: Db,
  src: Awaited<ReturnType<typeof sourceCandidate>>,
  withIsland: boolean,
): Promise<SeedProgram[]> {
  const { run, candidate } = src
  const seeds: SeedProgram[] = [
    {
      code: candidate.code,
      label: `candidate ${candidate.id.slice(0, 8)} of run ${run.id.slice(0, 8)}`,
      sourceRunId: run.id,
      sourceCandidateId: candidate.id,
    },
  ]
  if (withIsland) {
    let chars = candidate.code.length
    for (const m of await islandPopulation(
      db,
      run.id,
      candidate.island,
      run.direction,
      candidate,
      islandLimit(run.config),
    )) {
      if (chars + m.code.length > SEED_PROGRAMS_MAX_CHARS) break
      chars += m.code.length
      seeds.push({
        code: m.code,
        label: `island ${candidate.island} member ${m.id.slice(0, 8)}`,
        sourceRunId: run.id,
        sourceCandidateId: m.id,
      })
    }
  }
  return seeds
}

export interface ForkInput {
  runId: string
  candidateId: string
  withIsland: boolean
  name?: string
  /** the edited configuration (the source run's, as the form opened it); its seedPrograms (uploads) follow the candidate's */
  config: Record<string, unknown>
}

/** Creates the forked run (same problem as the source), recording where it came from. */
export async function forkRun(app: AppServices, actor: Actor, input: ForkInput) {
  const src = await sourceCandidate(app.db, input.runId, input.candidateId)
  const { run } = src
  // the candidate (and its island) first, then programs the expert uploaded on the form
  const uploaded = Array.isArray(input.config.seedPrograms) ? (input.config.seedPrograms as SeedProgram[]) : []
  const seedPrograms = [...(await forkSeeds(app.db, src, input.withIsland)), ...uploaded]
  const config = { ...input.config, seedPrograms } as RunConfigInput
  const parsed = RunConfig.safeParse(config)
  if (!parsed.success) {
    const i = parsed.error.issues[0]!
    throw new BadInputError(`config.${i.path.join('.')}: ${i.message}`)
  }
  const r = await createRun(app.db, actor, {
    problemId: run.problemId,
    name: input.name,
    config,
    forkedFrom: { runId: run.id, candidateId: input.candidateId },
  })
  return { id: r.id, seeds: seedPrograms.length - uploaded.length }
}

/** Which seed program a seed candidate of a forked run is, by its code (null: the problem's own seed, or not a fork). */
export function forkSourceOf(
  config: Pick<RunConfig, 'seedPrograms'>,
  code: string,
): { runId: string; candidateId: string; label: string | null } | null {
  const p = config.seedPrograms?.find((s) => s.code === code && s.sourceRunId && s.sourceCandidateId)
  return p ? { runId: p.sourceRunId!, candidateId: p.sourceCandidateId!, label: p.label ?? null } : null
}

/** For the lineage view: which of these seed candidates came from another run's candidate. */
export async function forkSourcesOf(
  db: Db,
  runId: string,
  seedIds: string[],
): Promise<Record<string, { runId: string; candidateId: string }>> {
  if (!seedIds.length) return {}
  const run = await db.prisma.run.findUnique({ where: { id: runId }, select: { config: true } })
  const config = run?.config as unknown as RunConfig | undefined
  if (!config?.seedPrograms?.length) return {}
  const rows = await db.prisma.candidate.findMany({
    where: { runId, id: { in: seedIds.slice(0, 200) }, origin: 'seed' },
    select: { id: true, code: true },
  })
  const out: Record<string, { runId: string; candidateId: string }> = {}
  for (const r of rows) {
    const src = forkSourceOf(config, r.code)
    if (src) out[r.id] = { runId: src.runId, candidateId: src.candidateId }
  }
  return out
}

/** A run's place in a family of forks: where it came from, and the runs forked from it. */
export async function runFamily(db: Db, runId: string) {
  const run = await db.prisma.run.findUnique({
    where: { id: runId },
    select: { forkedFromRunId: true, forkedFromCandidateId: true },
  })
  if (!run) throw new NotFoundError(`no run "${runId}"`)
  const [parent, forks] = await Promise.all([
    run.forkedFromRunId
      ? db.prisma.run.findUnique({ where: { id: run.forkedFromRunId }, select: { id: true, name: true } })
      : Promise.resolve(null),
    db.prisma.run.findMany({
      where: { forkedFromRunId: runId },
      select: { id: true, name: true, status: true, forkedFromCandidateId: true, createdAt: true },
      orderBy: { createdAt: 'asc' },
      take: 50,
    }),
  ])
  return {
    forkedFrom: run.forkedFromRunId
      ? {
          runId: run.forkedFromRunId,
          runName: parent?.name ?? null,
          exists: !!parent,
          candidateId: run.forkedFromCandidateId,
        }
      : null,
    forks: forks.map((f) => ({
      id: f.id,
      name: f.name,
      status: f.status,
      candidateId: f.forkedFromCandidateId,
      createdAt: f.createdAt.getTime(),
    })),
  }
}

/**
 * A candidate's links across runs: the runs forked from it, and (for a seed of a forked run) the
 * candidate of the other run it was copied from.
 */
export async function candidateFamily(db: Db, runId: string, candidateId: string) {
  const c = await db.prisma.candidate.findFirst({
    where: { id: candidateId, runId },
    select: { origin: true, code: true, run: { select: { config: true } } },
  })
  if (!c) throw new NotFoundError(`no candidate "${candidateId}" in this run`)
  const forks = await db.prisma.run.findMany({
    where: { forkedFromCandidateId: candidateId },
    select: { id: true, name: true, status: true },
    orderBy: { createdAt: 'asc' },
    take: 50,
  })
  const from = c.origin === 'seed' ? forkSourceOf(c.run.config as unknown as RunConfig, c.code) : null
  return { forks, from }
}

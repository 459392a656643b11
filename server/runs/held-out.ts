// Evaluator integrity: a problem may declare a held-out stage (other seeds, other instances) that
// the search never sees. The top candidates of a run are re-evaluated on it through the normal
// sandboxed workers (the job says heldOut, the worker sets FM_HELD_OUT=1 and the stage's
// variables), at the end of a completed run and on request; the console shows search score against
// held-out score and flags candidates whose held-out score falls short: they fit the search's
// instances, not the problem. Held-out evaluations are not search evaluations (no budget slot, no
// effect on selection).
import type { EvalJob, EvalResult, EvaluationBackend } from '../contracts/evaluation.ts'
import { isRetryable, MAX_INFRA_ATTEMPTS } from '../contracts/evaluation.ts'
import type { Db } from '../db.ts'
import { pgJson } from '../db/pg-json.ts'
import { NotFoundError, PreconditionError } from '../errors.ts'
import { scoreFromMetrics } from '../engine/fitness.ts'
import type { Logger } from '../log.ts'
import type { ProblemSnapshot } from './service.ts'
import type { HeldOutBasis } from '../../client-safe/held-out.ts'

export const HELD_OUT_JOB_PREFIX = 'held-out:'

/** What candidates.held_out holds. */
export interface HeldOutRecord {
  status: 'queued' | 'evaluated' | 'failed'
  attempt: number
  valid?: boolean
  score?: number | null
  metrics?: Record<string, unknown>
  error?: string
  at: number
}

export interface OverfitVerdict {
  /**
   * What the candidate loses on the held-out stage, positive when worse, null when unknown. Against
   * the run's baseline (its seed, checked on both stages): the share of its search improvement over
   * the baseline that does not carry over. Without one (or no improvement): the held-out shortfall
   * relative to the search score.
   */
  gap: number | null
  /**
   * what `gap` is a share of: the improvement over the baseline; the baseline's held-out score (a
   * candidate that is the baseline again, or a rounding of it); or the search score (no baseline)
   */
  basis: HeldOutBasis
  /** true: overfit (invalid on the held-out stage, or a gap above the tolerance); null: not evaluated */
  overfit: boolean | null
}

type HeldScore = Pick<HeldOutRecord, 'status' | 'valid' | 'score'>

/** a search gain over the baseline below this share of the scores is none (float noise, a rounding) */
const NO_GAIN = 1e-6

const heldScore = (h: HeldScore | null | undefined) =>
  h?.status === 'evaluated' && h.valid && typeof h.score === 'number' ? h.score : null

/**
 * Search score against held-out score, in the problem's direction. Pure. Instance sets differ in
 * difficulty, so a baseline (the seed on both stages) calibrates: what a candidate gained over it on
 * the search's instances should hold on the held-out ones. Comparing raw scores flags good
 * candidates whose held-out instances are merely harder, more so as the score nears zero.
 */
export function overfitVerdict(
  search: number | null,
  held: HeldScore | null,
  direction: 'max' | 'min',
  tolerance: number,
  baseline: { search: number | null; held: HeldScore | null } | null = null,
): OverfitVerdict {
  if (held?.status !== 'evaluated' || search === null) return { gap: null, basis: null, overfit: null }
  const score = heldScore(held)
  if (score === null) return { gap: null, basis: null, overfit: true }
  const sign = direction === 'max' ? 1 : -1
  const baseHeld = heldScore(baseline?.held)
  const baseSearch = baseline?.search ?? null
  if (baseHeld !== null && baseSearch !== null) {
    const searchGain = sign * (search - baseSearch)
    if (searchGain > NO_GAIN * Math.max(Math.abs(search), Math.abs(baseSearch), 1e-12)) {
      const gap = 1 - (sign * (score - baseHeld)) / searchGain
      return { gap, basis: 'improvement', overfit: gap > tolerance }
    }
    if (Math.abs(searchGain) <= NO_GAIN * Math.max(Math.abs(search), Math.abs(baseSearch), 1e-12)) {
      // the baseline again, or a rounding of it: it should score on the held-out stage as the
      // baseline does (a share of a 1e-8 gain would call float noise overfit)
      const gap = (sign * (baseHeld - score)) / Math.max(Math.abs(baseHeld), 1e-9) + 0 // never -0
      return { gap, basis: 'baseline', overfit: gap > tolerance }
    }
  }
  // relative to the search score's size; an absolute floor keeps scores near zero meaningful
  const gap = (sign * (search - score)) / Math.max(Math.abs(search), 1e-9)
  return { gap, basis: 'score', overfit: gap > tolerance }
}

type Waiter = (r: EvalResult) => void
const routers = new WeakMap<EvaluationBackend, Map<string, Waiter>>()

/** Held-out results of this backend go to whoever waits for them (one listener per backend). */
function waitersOf(backend: EvaluationBackend): Map<string, Waiter> {
  let m = routers.get(backend)
  if (!m) {
    const waiters = new Map<string, Waiter>()
    backend.onResult((r) => {
      if (r.jobId.startsWith(HELD_OUT_JOB_PREFIX)) waiters.get(`${r.jobId}#${r.attempt}`)?.(r)
    })
    routers.set(backend, waiters)
    m = waiters
  }
  return m
}

export interface HeldOutDeps {
  db: Db
  backend: EvaluationBackend
  log: Logger
}

/**
 * What a held-out check calibrates against: the run's seed (its first, when several), else its
 * first valid candidate (a run without a seed program).
 */
export async function baselineCandidate(db: Db, runId: string) {
  const where = { runId, status: 'evaluated', valid: true, score: { not: null } }
  const select = { id: true, code: true, score: true, heldOut: true }
  return (
    (await db.prisma.candidate.findFirst({
      where: { ...where, origin: 'seed' },
      orderBy: { evalIndex: 'asc' },
      select,
    })) ?? (await db.prisma.candidate.findFirst({ where, orderBy: { evalIndex: 'asc' }, select }))
  )
}

/** The run's best valid candidates by search score (the ones a held-out check is about). */
export async function topCandidates(db: Db, runId: string, direction: 'max' | 'min', k: number) {
  return db.prisma.candidate.findMany({
    where: { runId, status: 'evaluated', valid: true, score: { not: null } },
    orderBy: [{ score: direction === 'max' ? 'desc' : 'asc' }, { evalIndex: 'asc' }],
    take: k,
    select: { id: true, code: true, score: true, heldOut: true },
  })
}

/**
 * Re-evaluates the run's top k candidates (or the given ones) on the held-out stage, concurrently,
 * each retried on infrastructure errors; resolves when all have a stored result (or gave up).
 */
export async function evaluateHeldOut(
  deps: HeldOutDeps,
  runId: string,
  opts: { topK?: number; candidateIds?: string[]; signal?: AbortSignal } = {},
) {
  const run = await deps.db.prisma.run.findUnique({ where: { id: runId }, select: { problemSnapshot: true } })
  if (!run) throw new PreconditionError(`no run "${runId}"`)
  const snap = run.problemSnapshot as unknown as ProblemSnapshot
  const spec = snap.spec
  if (!spec.heldOut)
    throw new PreconditionError(`problem ${snap.id} declares no held-out stage ("heldOut" in problem.json)`)
  const k = opts.topK ?? spec.heldOut.topK
  const picked = opts.candidateIds
    ? await deps.db.prisma.candidate.findMany({
        where: { runId, id: { in: opts.candidateIds }, status: 'evaluated' },
        select: { id: true, code: true, score: true, heldOut: true },
      })
    : await topCandidates(deps.db, runId, spec.direction, k)
  // the baseline once: a verdict needs its held-out score, which a deterministic evaluator keeps
  const baseline = opts.candidateIds ? null : await baselineCandidate(deps.db, runId)
  const baselineDone = (baseline?.heldOut as HeldOutRecord | null)?.status === 'evaluated'
  const checks = baseline && !baselineDone && !picked.some((c) => c.id === baseline.id) ? [...picked, baseline] : picked
  const waiters = waitersOf(deps.backend)
  // queued jobs wait for workers: a bound that grows with how many must share them
  const rounds = Math.ceil(checks.length / Math.max(1, deps.backend.capacity())) + 1
  const boundMs = rounds * (spec.limits.timeoutS * 2 + 60) * 1000 * MAX_INFRA_ATTEMPTS

  const one = async (c: (typeof picked)[number]): Promise<HeldOutRecord> => {
    let attempt = ((c.heldOut as HeldOutRecord | null)?.attempt ?? -1) + 1
    for (let tries = 0; ; tries++) {
      await store(deps.db, c.id, { status: 'queued', attempt, at: Date.now() })
      const jobId = `${HELD_OUT_JOB_PREFIX}${c.id}`
      const result = await new Promise<EvalResult | null>((resolve) => {
        const key = `${jobId}#${attempt}`
        const timer = setTimeout(() => done(null), boundMs)
        const onAbort = () => done(null)
        function done(r: EvalResult | null) {
          clearTimeout(timer)
          opts.signal?.removeEventListener('abort', onAbort)
          waiters.delete(key)
          resolve(r)
        }
        waiters.set(key, done)
        opts.signal?.addEventListener('abort', onAbort)
        const job: EvalJob = {
          jobId,
          runId,
          problem: { id: snap.id, bundleHash: snap.bundleHash },
          language: spec.language,
          code: c.code,
          stage: 0,
          limits: {
            timeoutS: spec.limits.timeoutS,
            memoryMb: spec.limits.memoryMb,
            cpuS: spec.limits.cpuS ?? spec.limits.timeoutS * 2,
          },
          needs: { gpu: !!spec.limits.gpu, languages: [spec.language] },
          attempt,
          heldOut: true,
          enqueuedAt: Date.now(),
        }
        deps.backend.submit(job).catch((e) => {
          deps.log.warn(`held-out evaluation of ${c.id} could not be queued: ${(e as Error).message}`)
          done(null)
        })
      })
      if (result && isRetryable(result) && tries + 1 < MAX_INFRA_ATTEMPTS && !opts.signal?.aborted) {
        attempt++
        continue
      }
      const rec: HeldOutRecord = result
        ? (() => {
            const score = scoreFromMetrics(
              result.metrics as Record<string, number>,
              { primaryMetric: spec.primaryMetric, direction: spec.direction },
              result.valid,
            )
            const feedback = typeof result.artifacts.feedback === 'string' ? result.artifacts.feedback : undefined
            return {
              status: 'evaluated' as const,
              attempt,
              valid: result.valid && score !== null,
              score,
              metrics: result.metrics,
              error: result.error?.message ?? (result.valid ? undefined : feedback),
              at: Date.now(),
            }
          })()
        : {
            status: 'failed',
            attempt,
            error: opts.signal?.aborted
              ? 'stopped before the held-out result came back'
              : 'no held-out result came back in time',
            at: Date.now(),
          }
      await store(deps.db, c.id, rec)
      return rec
    }
  }
  const records = await Promise.all(checks.map(one))
  return picked.map((c, i) => ({ id: c.id, searchScore: c.score, heldOut: records[i]! }))
}

async function store(db: Db, id: string, rec: HeldOutRecord) {
  await db.sql('UPDATE candidates SET held_out = $2::jsonb WHERE id = $1', [id, pgJson(rec)])
}

/**
 * What the console and the CLI show: the stage, and search against held-out score for the top
 * candidates and every one checked; with `topK`, the K best only (what `held-out --top K` asked for).
 */
export async function heldOutReport(db: Db, runId: string, opts: { topK?: number } = {}) {
  const run = await db.prisma.run.findUnique({ where: { id: runId }, select: { problemSnapshot: true } })
  if (!run) throw new NotFoundError(`no run "${runId}"`)
  // a run imported from elsewhere may carry no problem snapshot: nothing declared then
  const spec = (run.problemSnapshot as unknown as Partial<ProblemSnapshot> | null)?.spec
  if (!spec?.heldOut)
    return {
      declared: false as const,
      direction: spec?.direction ?? 'max',
      primaryMetric: spec?.primaryMetric ?? 'score',
      candidates: [],
    }
  const [top, base] = await Promise.all([
    topCandidates(db, runId, spec.direction, opts.topK ?? spec.heldOut.topK),
    baselineCandidate(db, runId),
  ])
  const baseline = base && {
    id: base.id,
    searchScore: base.score,
    heldOut: (base.heldOut ?? null) as HeldOutRecord | null,
  }
  const checked = opts.topK
    ? []
    : await db.prisma.candidate.findMany({
        where: { runId, NOT: { heldOut: { equals: null } } } as never,
        select: { id: true, score: true, heldOut: true },
        take: 200,
      })
  const seen = new Set<string>()
  // the baseline is shown apart, unless it is among the best
  const rows = [...top, ...checked.filter((c) => c.id !== base?.id)].filter((c) => !seen.has(c.id) && seen.add(c.id))
  const tolerance = spec.heldOut.tolerance
  return {
    declared: true as const,
    description: spec.heldOut.description ?? null,
    topK: opts.topK ?? spec.heldOut.topK,
    tolerance,
    direction: spec.direction,
    primaryMetric: spec.primaryMetric,
    /** the seed on both stages, what the verdicts are calibrated against (null: no valid candidate yet) */
    baseline,
    candidates: rows.map((c) => {
      const held = (c.heldOut ?? null) as HeldOutRecord | null
      return {
        id: c.id,
        searchScore: c.score,
        heldOut: held,
        ...overfitVerdict(
          c.score,
          held,
          spec.direction,
          tolerance,
          baseline && { search: baseline.searchScore, held: baseline.heldOut },
        ),
      }
    }),
  }
}

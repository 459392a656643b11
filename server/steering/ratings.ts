// Experts rate candidates: up (promising) or down (dead end), with an optional note, one rating
// per expert and candidate. The candidate's rating is the sign of the sum; it is a bounded bonus
// or penalty in parent selection (engine/selection.ts, weighted by the run's ratingWeight).
// Like pin and ban (interventions.ts): stored, audited, in the run's event log, and sent to the
// run's engine through the control channel; an engine that resumes the run reads the stored ratings. The effect is measured as hints are: children of rated parents against children
// of unrated ones made over the same stretch of the run.
import type { AppServices } from '../app.ts'
import type { Actor } from '../auth/roles.ts'
import { BadInputError, NotFoundError } from '../errors.ts'
import type { ProblemSnapshot } from '../runs/service.ts'
import { audit } from '../services/audit.ts'
import { compareByParentGain, type Comparison, type ScoredRow } from './guidance-stats.ts'
import { command, recordIntervention } from './interventions.ts'

export type RatingValue = -1 | 0 | 1

/** The candidate's rating from its experts' ratings: the sign of their sum. */
export function effectiveRating(values: readonly number[]): RatingValue {
  const sum = values.reduce((s, v) => s + Math.sign(v), 0)
  return sum > 0 ? 1 : sum < 0 ? -1 : 0
}

/** Rate a candidate (value 0 withdraws the expert's rating). */
export async function rateCandidate(
  app: AppServices,
  actor: Actor,
  input: { runId: string; id: string; value: RatingValue; note?: string | null },
) {
  if (!actor.id) throw new BadInputError('ratings are made by a signed-in expert')
  const prisma = app.db.prisma
  const c = await prisma.candidate.findFirst({
    where: { id: input.id, runId: input.runId },
    select: { id: true, rating: true, status: true },
  })
  if (!c) throw new NotFoundError(`no candidate "${input.id}" in this run`)
  const note = input.note?.trim() || null
  const { before, after, rating } = await prisma.$transaction(async (tx) => {
    const mine = await tx.candidateRating.findUnique({
      where: { candidateId_userId: { candidateId: c.id, userId: actor.id! } },
    })
    if (input.value === 0) {
      if (mine) await tx.candidateRating.delete({ where: { id: mine.id } })
    } else {
      await tx.candidateRating.upsert({
        where: { candidateId_userId: { candidateId: c.id, userId: actor.id! } },
        create: {
          runId: input.runId,
          candidateId: c.id,
          userId: actor.id!,
          userLabel: actor.label,
          value: input.value,
          note,
        },
        update: { value: input.value, note, userLabel: actor.label },
      })
    }
    const all = await tx.candidateRating.findMany({ where: { candidateId: c.id }, select: { value: true } })
    const rating = effectiveRating(all.map((r) => r.value))
    if (rating !== c.rating) await tx.candidate.update({ where: { id: c.id }, data: { rating } })
    return {
      before: mine ? { value: mine.value, note: mine.note } : null,
      after: input.value === 0 ? null : { value: input.value, note },
      rating,
    }
  })
  await audit(prisma, actor, {
    action: input.value === 0 ? 'candidate.unrate' : 'candidate.rate',
    targetType: 'candidate',
    targetId: c.id,
    runId: input.runId,
    before: { mine: before, rating: c.rating },
    after: { mine: after, rating },
  })
  await recordIntervention(app, input.runId, actor, {
    action: input.value === 0 ? 'candidate.unrate' : 'candidate.rate',
    candidateId: c.id,
    value: input.value,
    note: note?.slice(0, 200) ?? null,
    rating,
  })
  const run = await prisma.run.findUniqueOrThrow({ where: { id: input.runId }, select: { id: true, status: true } })
  const cmd = await command(app, actor, run, 'candidate.rate', { candidateId: c.id, rating })
  return { rating, mine: input.value, command: cmd }
}

/** Every expert's rating of one candidate, newest first. */
export async function candidateRatings(app: AppServices, runId: string, candidateId: string) {
  const rows = await app.db.prisma.candidateRating.findMany({
    where: { runId, candidateId },
    orderBy: { updatedAt: 'desc' },
    take: 100,
  })
  return rows.map((r) => ({
    userId: r.userId,
    userLabel: r.userLabel,
    value: r.value as RatingValue,
    note: r.note,
    at: r.updatedAt.getTime(),
  }))
}

/** The ratings of a run as candidate id → rating (what an engine re-applies on resume). */
export async function runRatings(app: AppServices, runId: string): Promise<Map<string, RatingValue>> {
  const rows = await app.db.prisma.candidate.findMany({
    where: { runId, rating: { not: 0 } },
    select: { id: true, rating: true },
  })
  return new Map(rows.map((r) => [r.id, r.rating as RatingValue]))
}

export interface RatingEffect {
  direction: 'max' | 'min'
  rated: { up: number; down: number }
  /** children of rated-up parents (made after the rating) against children of unrated parents over the same stretch */
  up: Comparison | null
  down: Comparison | null
}

/**
 * Do rated-up parents produce better children? Children (mutations and crossovers, evaluated)
 * whose primary parent was rated before they were made, against children of unrated parents
 * made since the run's first rating, in the problem's direction, judged by the children's gain
 * over their own parent (experts rate the best candidates: their children score high anyway).
 */
export async function ratingEffect(app: AppServices, runId: string): Promise<RatingEffect> {
  const run = await app.db.prisma.run.findUnique({ where: { id: runId }, select: { problemSnapshot: true } })
  if (!run) throw new NotFoundError(`no run "${runId}"`)
  const direction = (run.problemSnapshot as unknown as ProblemSnapshot).spec.direction
  const counts = await app.db.prisma.candidate.groupBy({
    by: ['rating'],
    where: { runId, rating: { not: 0 } },
    _count: { _all: true },
  })
  const rated = {
    up: counts.find((c) => c.rating > 0)?._count._all ?? 0,
    down: counts.find((c) => c.rating < 0)?._count._all ?? 0,
  }
  if (!rated.up && !rated.down) return { direction, rated, up: null, down: null }
  const rows = await app.db.prisma.$queryRaw<
    Array<{
      score: number | null
      valid: boolean | null
      parent_score: number | null
      parent_valid: boolean | null
      parent_rating: number
    }>
  >`
    WITH r AS (SELECT candidate_id, min(created_at) AS first_at FROM candidate_ratings WHERE run_id = ${runId} GROUP BY candidate_id)
    SELECT c.score, c.valid, p.score AS parent_score, p.valid AS parent_valid, p.rating AS parent_rating
    FROM candidates c JOIN candidates p ON p.id = c.parent_ids[1] LEFT JOIN r ON r.candidate_id = p.id
    WHERE c.run_id = ${runId} AND c.origin IN ('mutation', 'crossover') AND c.status = 'evaluated'
      AND c.created_at >= (SELECT min(first_at) FROM r)
      AND (p.rating = 0 OR c.created_at >= r.first_at)
    ORDER BY c.seq DESC LIMIT 50000`
  const group = (rating: number): ScoredRow[] =>
    rows
      .filter((r) => Math.sign(r.parent_rating) === rating)
      .map((r) => ({ score: r.score, valid: r.valid, parentScore: r.parent_valid ? r.parent_score : null }))
  const unrated = group(0)
  return {
    direction,
    rated,
    up: rated.up ? compareByParentGain(group(1), unrated, direction) : null,
    down: rated.down ? compareByParentGain(group(-1), unrated, direction) : null,
  }
}

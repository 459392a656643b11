// A run's candidates: the paged, sortable, filterable table; export pages (CSV/JSON are built in
// the browser from these); the candidate page; lineage; and the experts' actions on candidates
// (pin, ban, submit an edit made in the editor). Every action is audited (server/steering/interventions.ts).
import { TRPCError } from '@trpc/server'
import { z } from 'zod'
import { MAX_CODE_BYTES } from '../../contracts/evaluation.ts'
import { CandidateFilter, CandidateSort, MAX_SEQ } from '../../../client-safe/candidate-query.ts'
import {
  candidateDetail,
  candidateFacets,
  exportCandidates,
  lineage,
  listCandidates,
} from '../../queries/candidates.ts'
import { TtlCache, runVersion } from '../../queries/cache.ts'
import { liveCandidate } from '../../queries/live.ts'
import { ban, setPinned, submitExpertEdit } from '../../steering/interventions.ts'
import { candidateRatings, rateCandidate, ratingEffect } from '../../steering/ratings.ts'
import { candidatePictures, runFilmstrip } from '../../images/store.ts'
import { candidateFamily, forkSourcesOf } from '../../steering/fork.ts'
import { notDrivenHere } from '../../runs/lease.ts'
import { expertProcedure, router, viewerProcedure } from '../trpc.ts'
import { orPrecondition, RunIdInput } from './runs.ts'

const Id = z.string().min(1).max(64)
export const CandidateListInput = RunIdInput.extend({
  filter: CandidateFilter.optional(),
  sort: CandidateSort.optional(),
  offset: z.number().int().min(0).max(10_000_000).default(0),
  limit: z.number().int().min(1).max(500).default(100),
})
export const CandidateExportInput = CandidateListInput.extend({
  limit: z.number().int().min(1).max(5000).default(2000),
  withCode: z.boolean().default(false),
  /** the snapshot's bound: the upToSeq the export's first page answered */
  upToSeq: z.number().int().min(-1).max(MAX_SEQ).optional(),
  /** keyset paging in # order: the nextAfterSeq of the page before (-1 for the first page) */
  afterSeq: z.number().int().min(-1).max(MAX_SEQ).optional(),
}).refine(
  (i) => i.afterSeq === undefined || (i.offset === 0 && (!i.sort || (i.sort.field === 'seq' && i.sort.dir === 'asc'))),
  {
    message: 'afterSeq pages in # order: leave offset at 0 and sort out (order the rows after reading them)',
  },
)
export const CandidateIdInput = RunIdInput.extend({ id: Id })
export const LineageInput = RunIdInput.extend({
  expand: z.array(Id).max(50).optional(),
  fullPath: z.boolean().optional(),
  focus: Id.nullish(),
})
export const FilmstripInput = RunIdInput.extend({ limit: z.number().int().min(2).max(48).default(12) })
export const PinInput = CandidateIdInput.extend({ pinned: z.boolean() })
export const BanInput = CandidateIdInput.extend({ reason: z.string().max(500).optional() })
export const RateInput = CandidateIdInput.extend({
  value: z.union([z.literal(-1), z.literal(0), z.literal(1)]),
  note: z.string().max(1000).nullish(),
})
export const ExpertEditInput = RunIdInput.extend({
  parentId: Id,
  // what a worker takes: an edit past it was accepted, then failed as an infra error on the worker
  code: z
    .string()
    .min(1)
    .max(MAX_CODE_BYTES, `a program may have at most ${MAX_CODE_BYTES.toLocaleString('en-US')} characters`),
  island: z.number().int().min(0).max(1024),
  note: z.string().max(1000).optional(),
})

const lineageCache = new TtlCache<
  Awaited<ReturnType<typeof lineage>> & { forkSources: Awaited<ReturnType<typeof forkSourcesOf>> }
>(3000, 100)
const facetsCache = new TtlCache<Awaited<ReturnType<typeof candidateFacets>>>(3000, 100)
const filmCache = new TtlCache<Awaited<ReturnType<typeof runFilmstrip>>>(3000, 100)

export const candidatesRouter = router({
  list: viewerProcedure.input(CandidateListInput).query(({ ctx, input }) => listCandidates(ctx.app.db, input)),
  facets: viewerProcedure.input(RunIdInput).query(async ({ ctx, input }) => {
    const v = await runVersion(ctx.app.db, input.runId)
    return facetsCache.get(JSON.stringify([input.runId, v]), () => candidateFacets(ctx.app.db, input.runId))
  }),
  export: viewerProcedure.input(CandidateExportInput).query(({ ctx, input }) => exportCandidates(ctx.app.db, input)),
  get: viewerProcedure.input(CandidateIdInput).query(async ({ ctx, input }) => {
    const { runLease, savedPopulation, ...detail } = await candidateDetail(ctx.app.db, input.runId, input.id)
    const engine = ctx.app.runs?.get(input.runId)
    // which island populations hold it now: the engine driving the run knows; elsewhere, its last save
    return {
      ...detail,
      population: engine ? engine.populationOf(input.id) : (savedPopulation?.islands ?? null),
      /** when the population shown was saved, where no engine here drives the run (null: it is live) */
      populationSavedAt: engine ? null : (savedPopulation?.savedAt ?? null),
      /** why the population is not live here */
      populationUnknown: engine ? null : notDrivenHere(ctx.app.db, runLease),
      ratings: await candidateRatings(ctx.app, input.runId, input.id),
      /** runs forked from it; for a fork's seed, the candidate it was copied from */
      family: await candidateFamily(ctx.app.db, input.runId, input.id),
    }
  }),
  /**
   * The candidate page's wait for an evaluation: its status when it changes, ending once it is
   * evaluated or rejected (null: it is gone), so the page refetches then instead of polling.
   */
  watch: viewerProcedure.input(CandidateIdInput).subscription(async function* ({ ctx, input, signal }) {
    // a generator runs after the middleware: map "no such candidate" here
    const found = await ctx.app.db.prisma.candidate.findFirst({
      where: { id: input.id, runId: input.runId },
      select: { id: true },
    })
    if (!found)
      throw new TRPCError({
        code: 'NOT_FOUND',
        message: `no candidate "${input.id}" in run "${input.runId}": open it from the run's candidates`,
      })
    const ac = signal ?? new AbortController().signal
    yield* liveCandidate({ db: ctx.app.db, events: ctx.app.events }, input.runId, input.id, ac)
  }),
  /** its pictures (evaluators' image artifacts) and its parents', as URLs of /api/images */
  pictures: viewerProcedure
    .input(CandidateIdInput)
    .query(({ ctx, input }) => candidatePictures(ctx.app.db, input.runId, input.id)),
  /** the run's best over time with pictures: the improvements of the best, thinned to `limit` */
  filmstrip: viewerProcedure.input(FilmstripInput).query(async ({ ctx, input }) => {
    const v = await runVersion(ctx.app.db, input.runId)
    return filmCache.get(JSON.stringify([input, v]), () => runFilmstrip(ctx.app.db, input.runId, input.limit))
  }),
  lineage: viewerProcedure.input(LineageInput).query(async ({ ctx, input }) => {
    const v = await runVersion(ctx.app.db, input.runId)
    return lineageCache.get(JSON.stringify([input, v]), async () => {
      const view = await lineage(ctx.app.db, input)
      // seeds of a forked run link across to the candidates they were copied from
      return {
        ...view,
        forkSources: await forkSourcesOf(
          ctx.app.db,
          input.runId,
          view.nodes.filter((n) => n.origin === 'seed').map((n) => n.id),
        ),
      }
    })
  }),
  setPinned: expertProcedure.input(PinInput).mutation(({ ctx, input }) => setPinned(ctx.app, ctx.actor, input)),
  ban: expertProcedure.input(BanInput).mutation(({ ctx, input }) => ban(ctx.app, ctx.actor, input)),
  /** an expert's rating: up (promising) or down (dead end), 0 withdraws it; a bounded weight in parent selection */
  rate: expertProcedure.input(RateInput).mutation(({ ctx, input }) => rateCandidate(ctx.app, ctx.actor, input)),
  /** do rated-up parents produce better children? (as a hint's effect is measured) */
  ratingEffect: viewerProcedure.input(RunIdInput).query(({ ctx, input }) => ratingEffect(ctx.app, input.runId)),
  /** an expert's edit of a candidate: evaluated like any candidate, on the chosen island */
  submitEdit: expertProcedure
    .input(ExpertEditInput)
    .mutation(({ ctx, input }) => orPrecondition(() => submitExpertEdit(ctx.app, ctx.actor, input))),
})

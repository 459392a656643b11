// The run driver's hooks into the knowledge base: retrieval when an island stalls (or an expert
// asks), the chunks' usefulness from the fitness change of the candidates they informed, and
// lessons proposed when a candidate beats its island's best.
import type { Db } from '../db.ts'
import type { Logger } from '../log.ts'
import {
  promptLessons,
  promptTitle,
  proposeLesson,
  recordOutcome,
  recordUses,
  retrieveForIsland,
} from '../knowledge/rag.ts'
import type { KnowledgeChunk } from './state.ts'

/** The prose of a model's answer, without its code: the model's own explanation of the change. */
export function explanationOf(response: string | null | undefined): string | undefined {
  if (!response) return undefined
  const prose = response
    .replace(/<think>[\s\S]*?<\/think>/g, '')
    .replace(/```[\s\S]*?```/g, '')
    .replace(/<{5,9} SEARCH[\s\S]*?>{5,9} REPLACE/g, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
  return prose ? prose.slice(0, 2000) : undefined
}

/** Knowledge and lessons plug in here (server/knowledge, knowledgeHooks below); a run works without them. */
export interface DriverHooks {
  /** an island stalled (or an expert asked): chunks to put in that island's next prompts */
  retrieve?(input: {
    runId: string
    island: number
    problemId: string
    queryText: string
    /** what a passage must be about (the problem's statement); default the query */
    topicText?: string
    trigger: 'stagnation' | 'expert' | 'cold-start'
    /** the run ended, stopped or paused: the retrieval ends too, rejecting, and writes nothing */
    signal?: AbortSignal
  }): Promise<{
    retrievalId: string
    chunks: KnowledgeChunk[]
  } | null>
  /** a candidate's prompt included these chunks */
  recordUses?(input: { retrievalId: string; chunkIds: string[]; candidateId: string; runId: string }): Promise<void>
  /** the candidate's fitness change against its parent is known (positive = better, -1 when invalid) */
  recordOutcome?(input: { candidateId: string; delta: number }): Promise<void>
  /** a candidate beat its island's best */
  onIslandBest?(input: {
    runId: string
    problemId: string
    candidateId: string
    parentCode: string
    childCode: string
    parentScore: number | null
    childScore: number
    /** the problem's, known to the run: the lesson need not read it */
    direction?: 'max' | 'min'
    explanation?: string
    operatorDescription?: string
  }): Promise<void>
  /** lessons approved for this problem, for the prompts */
  lessons?(problemId: string): Promise<string[]>
}

export function knowledgeHooks(db: Db, log: Logger): DriverHooks {
  // said once per run: a run that stalls often repeated it at every retrieval
  const fullTextSaid = new Set<string>()
  return {
    async retrieve(input) {
      // a cold start with an empty knowledge base: nothing to search (and no embedding model to load)
      if (
        input.trigger === 'cold-start' &&
        !(await db.prisma.knowledgeDoc.count({ where: { OR: [{ problemId: input.problemId }, { problemId: null }] } }))
      )
        return null
      const r = await retrieveForIsland(db, { ...input, k: 5 })
      if (!r.vectorUsed && !fullTextSaid.has(input.runId)) {
        if (fullTextSaid.size >= 1000) fullTextSaid.clear()
        fullTextSaid.add(input.runId)
        log.warn(
          `knowledge retrieval of run ${input.runId.slice(0, 8)} uses full text only, the embedding model is unavailable (${(r.vectorError ?? 'no vector').slice(0, 300)}); check the embeddings endpoint (fm-agent kb status), the run goes on`,
        )
      }
      return {
        retrievalId: r.retrievalId,
        chunks: r.chunks.map((c) => ({
          id: c.id,
          text: c.content,
          title: promptTitle(c.docTitle, c.heading),
          source: c.sourcePath ?? undefined,
        })),
      }
    },
    async recordUses(input) {
      await recordUses(db, input)
    },
    async recordOutcome(input) {
      await recordOutcome(db, input)
    },
    async onIslandBest(input) {
      const [row] = await db.sql<{ response: string | null; operator: string; model: string | null }>(
        'SELECT response, operator, model FROM candidates WHERE id = $1',
        [input.candidateId],
      )
      await proposeLesson(db, {
        ...input,
        explanation: explanationOf(row?.response) ?? null,
        operatorDescription:
          input.operatorDescription ?? (row?.model ? `${row.model} ${row.operator}` : row?.operator) ?? null,
      })
    },
    lessons: (problemId) => promptLessons(db, problemId),
  }
}

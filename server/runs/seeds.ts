// The programs a run starts from: the problem's own seed (none for a problem that comes with only a
// description, a signature and an evaluator), then the run's seed programs (RunConfig.seedPrograms:
// a fork's candidate, programs an expert uploaded or passed with `--seed-program`, knowledge
// documents tagged `seed`), deduplicated on their normalized code and bounded by the budget.
import type { Db } from '../db.ts'
import { languageOfPath } from '../knowledge/formats.ts'
import { analyzeCode } from '../engine/novelty.ts'
import {
  SEED_PROGRAM_MAX_CHARS,
  SEED_PROGRAMS_MAX,
  SEED_PROGRAMS_MAX_CHARS,
  type RunConfig,
  type SeedProgram,
} from '../../client-safe/run-config.ts'
import type { ProblemSnapshot } from './service.ts'

export interface StartProgram {
  code: string
  /** what the candidate's record says it is */
  description: string
  /** -1: the problem's own seed; otherwise its place in config.seedPrograms */
  index: number
  prepared: ReturnType<typeof analyzeCode>
}

/** The distinct programs the cold start evaluates first, the problem's own seed first; at most `limit`. */
export function startPrograms(
  problem: Pick<ProblemSnapshot, 'seedCode'>,
  config: Pick<RunConfig, 'seedPrograms'>,
  language: string,
  limit: number,
): StartProgram[] {
  const all = [
    ...(problem.seedCode.trim()
      ? [{ code: problem.seedCode, description: "the problem's entry program", index: -1 }]
      : []),
    ...(config.seedPrograms ?? []).map((p, index) => ({
      code: p.code,
      description: p.label ? `seed program: ${p.label}` : `seed program ${index + 1}`,
      index,
    })),
  ]
  const seen = new Set<string>()
  const out: StartProgram[] = []
  for (const p of all) {
    if (out.length >= limit) break
    if (!p.code.trim()) continue
    const prepared = analyzeCode(p.code, language)
    if (seen.has(prepared.codeHash)) continue
    seen.add(prepared.codeHash)
    out.push({ ...p, prepared })
  }
  return out
}

/**
 * The program a knowledge document holds in the problem's language: a code document as it is
 * (unless its file says another language), otherwise its first fenced block in that language or
 * with none named; null when it holds none. A note's `bash` snippet is no Python seed.
 */
export function programOfDocument(
  doc: { format: string; content: string; sourcePath?: string | null },
  language: string,
): string | null {
  const lang = language.toLowerCase()
  const aliases: Record<string, string[]> = {
    python: ['python', 'py'],
    javascript: ['javascript', 'js'],
    typescript: ['typescript', 'ts'],
    cpp: ['cpp', 'c++', 'cc'],
    rust: ['rust', 'rs'],
  }
  const names = aliases[lang] ?? [lang]
  if (doc.format === 'code') {
    const of = languageOfPath(doc.sourcePath)
    if (of && !names.includes(of)) return null
    return doc.content.trim() ? doc.content : null
  }
  const blocks = [...doc.content.matchAll(/^```([\w+-]*)[^\n]*\n([\s\S]*?)^```/gm)].map((m) => ({
    lang: m[1]!.toLowerCase(),
    code: m[2]!,
  }))
  const code = (blocks.find((b) => names.includes(b.lang)) ?? blocks.find((b) => b.lang === ''))?.code
  return code?.trim() ? code : null
}

/**
 * Knowledge documents tagged `seed` for this problem (its own, and global ones tagged with its id
 * or family), as seed programs, within what `existing` leaves of the seed bounds.
 */
export async function knowledgeSeedPrograms(
  db: Db,
  problem: { id: string; language: string; family?: string | null },
  existing: readonly SeedProgram[] = [],
): Promise<SeedProgram[]> {
  const tags = [problem.id, ...(problem.family ? [problem.family] : [])]
  const docs = await db.prisma.knowledgeDoc.findMany({
    where: { tags: { has: 'seed' }, OR: [{ problemId: problem.id }, { problemId: null, tags: { hasSome: tags } }] },
    select: { id: true, title: true, format: true, content: true, sourcePath: true },
    orderBy: { createdAt: 'asc' },
    take: SEED_PROGRAMS_MAX,
  })
  let chars = existing.reduce((n, p) => n + p.code.length, 0)
  const out: SeedProgram[] = []
  for (const d of docs) {
    const code = programOfDocument(d, problem.language)
    if (
      !code ||
      code.length > SEED_PROGRAM_MAX_CHARS ||
      existing.length + out.length >= SEED_PROGRAMS_MAX ||
      chars + code.length > SEED_PROGRAMS_MAX_CHARS
    )
      continue
    chars += code.length
    out.push({ code, label: `knowledge document "${d.title.slice(0, 150)}"`, knowledgeDocId: d.id })
  }
  return out
}

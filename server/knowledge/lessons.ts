// Lessons: when a candidate beats its island's best, the engine proposes a short note of what
// changed and why it helped, for an expert to approve into the knowledge base (as a document
// scoped to the problem and tagged `lesson`), edit, or discard.
// With a model, the note starts from the model's own explanation; under offline operators it is
// derived from the diff and the metrics: which lines and constants changed, and by how much the
// score moved.
import { randomUUID } from 'node:crypto'
import type { Actor } from '../auth/roles.ts'
import { SYSTEM_ACTOR } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { audit } from '../services/audit.ts'
import { formatNumber } from '../../client-safe/format.ts'
import { gain as scoreGain } from '../../client-safe/score.ts'
import { definitionName } from './chunker.ts'
import { createDocument, deleteDocument, embedDocument } from './documents.ts'
import { KnowledgeConflictError, KnowledgeInputError, KnowledgeNotFoundError } from './errors.ts'
import { MAX_LESSON_TEXT_CHARS, MAX_LESSON_TITLE_CHARS } from './limits.ts'

export interface LessonInput {
  runId: string
  candidateId: string
  problemId: string
  parentCode: string
  childCode: string
  parentScore: number | null
  childScore: number
  /** the model's explanation of its change (prose around the diff), when there was a model */
  explanation?: string | null
  /** what produced the change: "offline operator: literal perturbation", "openai:gpt-4.1 diff"… */
  operatorDescription?: string | null
  /** the problem's direction; read from the problem when absent */
  direction?: 'max' | 'min'
}

export interface LessonView {
  id: string
  runId: string
  candidateId: string
  problemId: string
  title: string
  text: string
  status: 'proposed' | 'approved' | 'discarded'
  docId: string | null
  reviewedById: string | null
  createdAt: Date
  reviewedAt: Date | null
}

// ---------------------------------------------------------------- diff summary

interface LineChange {
  kind: 'add' | 'del'
  /** 1-based line number in the parent (del) or the child (add) */
  line: number
  text: string
}

/** Line diff by longest common subsequence after trimming the common prefix and suffix (bounded). */
export function lineDiff(a: string, b: string): LineChange[] {
  const A = a.replace(/\r\n?/g, '\n').split('\n')
  const B = b.replace(/\r\n?/g, '\n').split('\n')
  let pre = 0
  while (pre < A.length && pre < B.length && A[pre] === B[pre]) pre++
  let suf = 0
  while (suf < A.length - pre && suf < B.length - pre && A[A.length - 1 - suf] === B[B.length - 1 - suf]) suf++
  const a2 = A.slice(pre, A.length - suf)
  const b2 = B.slice(pre, B.length - suf)
  const out: LineChange[] = []
  if (a2.length * b2.length > 4_000_000) {
    // too large to align: report the whole middle as replaced
    a2.forEach((t, i) => {
      out.push({ kind: 'del', line: pre + i + 1, text: t })
    })
    b2.forEach((t, i) => {
      out.push({ kind: 'add', line: pre + i + 1, text: t })
    })
    return out
  }
  const n = a2.length
  const m = b2.length
  const dp: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1))
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      dp[i][j] = a2[i] === b2[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1])
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && a2[i] === b2[j]) i++, j++
    // on a tie the old line goes first: a replaced line reads "- old" then "+ new", as diffs do
    else if (i < n && (j === m || dp[i + 1][j] >= dp[i][j + 1]))
      out.push({ kind: 'del', line: pre + i + 1, text: a2[i++] })
    else out.push({ kind: 'add', line: pre + j + 1, text: b2[j++] })
  }
  return out
}

const NUMBER = /(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])/g

export interface ConstantChange {
  name: string | null
  line: number
  from: string
  to: string
}

/** Pairs of removed/added lines that differ only in numbers: the constants that changed. */
export function constantChanges(changes: LineChange[]): ConstantChange[] {
  const dels = changes.filter((c) => c.kind === 'del')
  const adds = changes.filter((c) => c.kind === 'add')
  const used = new Set<number>()
  const out: ConstantChange[] = []
  for (const d of dels) {
    const shape = d.text.replace(NUMBER, '#').trim()
    const idx = adds.findIndex((a, k) => !used.has(k) && a.text.replace(NUMBER, '#').trim() === shape)
    if (idx < 0) continue
    used.add(idx)
    const before = d.text.match(NUMBER) ?? []
    const after = adds[idx].text.match(NUMBER) ?? []
    const name =
      /^\s*(?:(?:const|let|var|final|static|constexpr|int|float|double|auto)\s+)*([A-Za-z_]\w*)\s*(?::[^=]+)?=(?!=)/.exec(
        d.text,
      )?.[1] ?? null
    for (let k = 0; k < Math.min(before.length, after.length); k++) {
      if (before[k] !== after[k]) out.push({ name, line: adds[idx].line, from: before[k], to: after[k] })
    }
  }
  return out
}

/** The definition (def / function / class) enclosing a line, by looking upward for a less indented header. */
function enclosingDefinition(code: string, line: number): string | null {
  const lines = code.split('\n')
  const indentOf = (s: string) => s.match(/^\s*/)![0].length
  let limit = indentOf(lines[line - 1] ?? '')
  for (let i = line - 2; i >= 0; i--) {
    const s = lines[i]
    if (!s.trim()) continue
    const ind = indentOf(s)
    if (ind < limit || (ind === 0 && limit === 0)) {
      if (
        /^\s*(?:async\s+)?(?:def|class|function|fn|func)\b|^\s*(?:export\s+)?(?:async\s+)?function\b|^[A-Za-z_][\w:<>*&\s]*\([^;]*\)\s*\{?\s*$/.test(
          s,
        )
      )
        return definitionName([s])
      limit = ind
      if (ind === 0) break
    }
  }
  return null
}

export interface ChangeSummary {
  added: number
  removed: number
  constants: ConstantChange[]
  definitions: string[]
  /** unified-style excerpt of the changed lines (bounded) */
  excerpt: string
}

export function summarizeChange(parentCode: string, childCode: string): ChangeSummary {
  const changes = lineDiff(parentCode, childCode)
  const constants = constantChanges(changes)
  const defs = new Set<string>()
  for (const c of changes) {
    const d = enclosingDefinition(c.kind === 'add' ? childCode : parentCode, c.line)
    if (d) defs.add(d)
  }
  const lines: string[] = []
  let size = 0
  for (const c of changes) {
    const l = `${c.kind === 'add' ? '+' : '-'} ${c.text}`.slice(0, 200)
    if (size + l.length > 1200) {
      lines.push(`… (${changes.length - lines.length} more changed lines)`)
      break
    }
    lines.push(l)
    size += l.length + 1
  }
  return {
    added: changes.filter((c) => c.kind === 'add').length,
    removed: changes.filter((c) => c.kind === 'del').length,
    constants,
    definitions: [...defs].slice(0, 5),
    excerpt: lines.join('\n'),
  }
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x)
  return formatNumber(x, 6, { below: 1e-3, atOrAbove: 1e6, digits: 3 })
}

function firstSentence(text: string, max: number): string {
  const clean = text
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/<think>[\s\S]*?<\/think>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  const m = /^(.{10,}?[.!?])(\s|$)/.exec(clean)
  const s = (m ? m[1] : clean).trim()
  return s.length > max ? s.slice(0, max - 1).trimEnd() + '…' : s
}

function clip(s: string, n: number) {
  return s.length <= n ? s : s.slice(0, n - 1).trimEnd() + '…'
}

/** a relative change as title and text both say it: one decimal, two significant digits below 0.1 % */
function percent(rel: number): string {
  const pct = rel * 100
  return `${pct >= 0 ? '+' : ''}${Math.abs(pct) >= 0.1 || pct === 0 ? pct.toFixed(1) : pct.toPrecision(2)}%`
}

/** Title and text of a lesson (pure: exported for tests). */
export function composeLesson(input: LessonInput & { direction: 'max' | 'min' }): { title: string; text: string } {
  const change = summarizeChange(input.parentCode, input.childCode)
  const gain = input.parentScore == null ? null : scoreGain(input.childScore, input.parentScore, input.direction)
  // a share of a score within 1e-9 of zero (a degenerate program's) is noise: the gain alone is said
  const rel =
    gain != null && input.parentScore && Math.abs(input.parentScore) >= 1e-9 * Math.max(1, Math.abs(input.childScore))
      ? gain / Math.abs(input.parentScore)
      : null
  const effect =
    input.parentScore == null
      ? `score ${fmt(input.childScore)} (the parent had no valid score)`
      : `score ${fmt(input.parentScore)} → ${fmt(input.childScore)} (${gain! >= 0 ? '+' : ''}${fmt(gain!)}${rel != null ? `, ${percent(rel)}` : ''}; ${input.direction === 'max' ? 'higher' : 'lower'} is better)`
  const gainTag = rel != null ? ` (${percent(rel)})` : gain != null ? ` (${gain >= 0 ? '+' : ''}${fmt(gain)})` : ''

  const explanation = input.explanation?.trim() ? input.explanation.replace(/<think>[\s\S]*?<\/think>/g, '').trim() : ''
  let title: string
  if (explanation) title = firstSentence(explanation, 110)
  else if (change.constants.length) {
    title = change.constants
      .slice(0, 2)
      .map((c) => `${c.name ?? `line ${c.line}`} ${c.from} → ${c.to}`)
      .join(', ')
    title = `Set ${title}${change.constants.length > 2 ? ` and ${change.constants.length - 2} more` : ''}`
  } else {
    const where = change.definitions.length ? ` in ${change.definitions.slice(0, 2).join(', ')}` : ''
    title = `Changed ${change.added + change.removed} line${change.added + change.removed === 1 ? '' : 's'}${where}`
  }
  title = clip(title.replace(/\s+/g, ' ') + gainTag, MAX_LESSON_TITLE_CHARS)

  const parts: string[] = []
  if (explanation) parts.push(clip(explanation, 1500))
  const what: string[] = []
  for (const c of change.constants.slice(0, 8))
    what.push(`- ${c.name ? `\`${c.name}\`` : 'a constant'} on line ${c.line}: ${c.from} → ${c.to}`)
  if (change.definitions.length) what.push(`- changed code in ${change.definitions.map((d) => `\`${d}\``).join(', ')}`)
  what.push(`- ${change.added} line${change.added === 1 ? '' : 's'} added, ${change.removed} removed`)
  parts.push(`What changed:\n${what.join('\n')}`)
  parts.push(`Effect: ${effect}.`)
  if (input.operatorDescription?.trim()) parts.push(`Produced by: ${clip(input.operatorDescription.trim(), 200)}.`)
  if (change.excerpt) parts.push('```diff\n' + change.excerpt + '\n```')
  let text = parts.join('\n\n')
  if (text.length > MAX_LESSON_TEXT_CHARS) {
    // the diff excerpt goes first: the prose and the numbers matter more
    text = parts.slice(0, -1).join('\n\n')
    text = clip(text, MAX_LESSON_TEXT_CHARS)
  }
  return { title, text }
}

// ---------------------------------------------------------------- storage

const view = (r: {
  id: string
  runId: string
  candidateId: string
  problemId: string
  title: string
  text: string
  status: string
  docId: string | null
  reviewedById: string | null
  createdAt: Date
  reviewedAt: Date | null
}): LessonView => ({ ...r, status: r.status as LessonView['status'] })

/**
 * Proposes a lesson for a candidate that beat its island's best. Idempotent per candidate: a
 * second call (a resumed run) returns the lesson already proposed.
 */
export async function proposeLesson(db: Db, input: LessonInput): Promise<LessonView> {
  if (!input.runId || !input.candidateId || !input.problemId)
    throw new KnowledgeInputError('a lesson needs runId, candidateId and problemId')
  if (!Number.isFinite(input.childScore)) throw new KnowledgeInputError('a lesson needs the child’s score')
  // proposed on every new island best of every run: plain SQL, not queries the ORM compiles anew
  const [existing] = await db.sql<LessonRow>(
    `SELECT ${LESSON_COLUMNS} FROM lessons WHERE candidate_id = $1 ORDER BY created_at LIMIT 1`,
    [input.candidateId],
  )
  if (existing) return viewRow(existing)
  let direction = input.direction
  if (!direction) {
    const [p] = await db.sql<{ direction: string }>('SELECT direction FROM problems WHERE id = $1', [input.problemId])
    direction = p?.direction === 'min' ? 'min' : 'max'
  }
  const { title, text } = composeLesson({ ...input, direction })
  const [row] = await db.sql<LessonRow>(
    `WITH l AS (INSERT INTO lessons (id, run_id, candidate_id, problem_id, title, text, status, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'proposed', now() AT TIME ZONE 'UTC') RETURNING *)
     SELECT ${LESSON_COLUMNS} FROM l`,
    [randomUUID(), input.runId, input.candidateId, input.problemId, title, text],
  )
  return viewRow(row!)
}

/** a lesson row as SQL returns it; timestamps (stored as UTC without a zone) given their zone */
interface LessonRow {
  id: string
  run_id: string
  candidate_id: string
  problem_id: string
  title: string
  text: string
  status: string
  doc_id: string | null
  reviewed_by_id: string | null
  created_at: Date
  reviewed_at: Date | null
}

const LESSON_COLUMNS = `id, run_id, candidate_id, problem_id, title, text, status, doc_id, reviewed_by_id,
    created_at AT TIME ZONE 'UTC' AS created_at, reviewed_at AT TIME ZONE 'UTC' AS reviewed_at`

const viewRow = (r: LessonRow): LessonView =>
  view({
    id: r.id,
    runId: r.run_id,
    candidateId: r.candidate_id,
    problemId: r.problem_id,
    title: r.title,
    text: r.text,
    status: r.status,
    docId: r.doc_id,
    reviewedById: r.reviewed_by_id,
    createdAt: new Date(r.created_at),
    reviewedAt: r.reviewed_at && new Date(r.reviewed_at),
  })

/**
 * An approved lesson as its document reads now: the expert edits it there (approval made it a
 * knowledge document), so the title is the document's and the text its body, without the heading
 * and the provenance line approval wrote. Pure.
 */
export function lessonFromDocument(doc: { title: string; content: string }): { title: string; text: string } {
  const body = doc.content
    .replace(/\r\n/g, '\n')
    .replace(/^\s*# [^\n]*\n/, '')
    .replace(/\n*_Lesson from run [^\n]*_\s*$/, '')
    .trim()
  return {
    title: doc.title,
    text: body.length > MAX_LESSON_TEXT_CHARS ? `${body.slice(0, MAX_LESSON_TEXT_CHARS - 1)}…` : body,
  }
}

/**
 * Lessons, newest first. An approved one reads as its document does now (lessonFromDocument); one
 * whose document was deleted comes with `docId` null: withdrawn, it reaches no prompt.
 */
export async function listLessons(
  db: Db,
  opts: { status?: LessonView['status']; problemId?: string; runId?: string; limit?: number } = {},
): Promise<LessonView[]> {
  const rows = await db.prisma.lesson.findMany({
    where: {
      ...(opts.status ? { status: opts.status } : {}),
      ...(opts.problemId ? { problemId: opts.problemId } : {}),
      ...(opts.runId ? { runId: opts.runId } : {}),
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
    take: Math.min(500, opts.limit ?? 100),
  })
  const docIds = rows.flatMap((r) => (r.status === 'approved' && r.docId ? [r.docId] : []))
  const docs = docIds.length
    ? new Map(
        (
          await db.prisma.knowledgeDoc.findMany({
            where: { id: { in: docIds } },
            select: { id: true, title: true, content: true },
          })
        ).map((d) => [d.id, d]),
      )
    : new Map<string, { title: string; content: string }>()
  return rows.map((r) => {
    const doc = r.status === 'approved' && r.docId ? docs.get(r.docId) : undefined
    return view(doc ? { ...r, ...lessonFromDocument(doc) } : r)
  })
}

/** What prompts carry of a problem's approved lessons: those whose document is still there, as it reads now. */
export async function promptLessons(db: Db, problemId: string): Promise<string[]> {
  const approved = await listLessons(db, { status: 'approved', problemId, limit: 10 })
  return approved.filter((l) => l.docId).map((l) => `${l.title}: ${l.text}`)
}

function checkLessonText(title: string | undefined, text: string | undefined) {
  if (title !== undefined) {
    if (!title.trim()) throw new KnowledgeInputError('the lesson title is empty')
    if (title.length > MAX_LESSON_TITLE_CHARS)
      throw new KnowledgeInputError(`the lesson title is over ${MAX_LESSON_TITLE_CHARS} characters`)
  }
  if (text !== undefined) {
    if (!text.trim()) throw new KnowledgeInputError('the lesson text is empty')
    if (text.length > MAX_LESSON_TEXT_CHARS)
      throw new KnowledgeInputError(`the lesson text is over ${MAX_LESSON_TEXT_CHARS} characters`)
  }
}

async function getLesson(db: Db, id: string) {
  const l = await db.prisma.lesson.findUnique({ where: { id } })
  if (!l) throw new KnowledgeNotFoundError(`no lesson ${id}`)
  return l
}

export async function editLesson(
  db: Db,
  input: { lessonId: string; title?: string; text?: string },
  actor: Actor = SYSTEM_ACTOR,
): Promise<LessonView> {
  checkLessonText(input.title, input.text)
  const before = await getLesson(db, input.lessonId)
  if (before.status !== 'proposed')
    throw new KnowledgeConflictError(`lesson ${input.lessonId} was already ${before.status}; edit its document instead`)
  return db.prisma.$transaction(async (tx) => {
    const n = await tx.lesson.updateMany({
      where: { id: input.lessonId, status: 'proposed' },
      data: {
        ...(input.title !== undefined ? { title: input.title.trim() } : {}),
        ...(input.text !== undefined ? { text: input.text.trim() } : {}),
      },
    })
    if (n.count === 0) throw new KnowledgeConflictError(`lesson ${input.lessonId} was reviewed meanwhile`)
    const after = await tx.lesson.findUniqueOrThrow({ where: { id: input.lessonId } })
    await audit(tx, actor, {
      action: 'knowledge.lesson.edit',
      targetType: 'lesson',
      targetId: input.lessonId,
      runId: before.runId,
      before: { title: before.title, text: before.text },
      after: { title: after.title, text: after.text },
    })
    return view(after)
  })
}

export async function discardLesson(
  db: Db,
  input: { lessonId: string },
  actor: Actor = SYSTEM_ACTOR,
): Promise<LessonView> {
  const before = await getLesson(db, input.lessonId)
  if (before.status !== 'proposed')
    throw new KnowledgeConflictError(`lesson ${input.lessonId} was already ${before.status}`)
  return db.prisma.$transaction(async (tx) => {
    const n = await tx.lesson.updateMany({
      where: { id: input.lessonId, status: 'proposed' },
      data: { status: 'discarded', reviewedById: actor.id, reviewedAt: new Date() },
    })
    if (n.count === 0) throw new KnowledgeConflictError(`lesson ${input.lessonId} was reviewed meanwhile`)
    await audit(tx, actor, {
      action: 'knowledge.lesson.discard',
      targetType: 'lesson',
      targetId: input.lessonId,
      runId: before.runId,
      before: { status: 'proposed' },
      after: { status: 'discarded' },
    })
    return view(await tx.lesson.findUniqueOrThrow({ where: { id: input.lessonId } }))
  })
}

/**
 * Approves a lesson into the knowledge base: a markdown document scoped to the lesson's problem,
 * tagged `lesson` (plus `tags`), embedded like any other. Optional title/text replace the
 * proposal's (an expert's last edit).
 */
export async function approveLesson(
  db: Db,
  input: { lessonId: string; title?: string; text?: string; tags?: string[] },
  actor: Actor = SYSTEM_ACTOR,
): Promise<LessonView & { embedStatus: string }> {
  checkLessonText(input.title, input.text)
  const before = await getLesson(db, input.lessonId)
  if (before.status !== 'proposed')
    throw new KnowledgeConflictError(`lesson ${input.lessonId} was already ${before.status}`)
  // claim it first, so two experts approving at once make one document
  const claimed = await db.prisma.lesson.updateMany({
    where: { id: input.lessonId, status: 'proposed' },
    data: { status: 'approved', reviewedById: actor.id, reviewedAt: new Date() },
  })
  if (claimed.count === 0) throw new KnowledgeConflictError(`lesson ${input.lessonId} was reviewed meanwhile`)
  const title = input.title?.trim() || before.title
  const text = input.text?.trim() || before.text
  const problem = await db.prisma.problem.findUnique({ where: { id: before.problemId }, select: { id: true } })
  let docId: string
  try {
    const doc = await createDocument(
      db,
      {
        title,
        content: `# ${title}\n\n${text}\n\n_Lesson from run ${before.runId}, candidate ${before.candidateId}._\n`,
        format: 'markdown',
        tags: ['lesson', ...(input.tags ?? [])],
        // a problem removed since the run: keep the lesson, globally
        problemId: problem ? before.problemId : null,
        sourcePath: `lesson:${before.id}`,
      },
      { actor, embed: false },
    )
    docId = doc.id
  } catch (e) {
    await db.prisma.lesson.updateMany({
      where: { id: input.lessonId },
      data: { status: 'proposed', reviewedById: null, reviewedAt: null },
    })
    throw e
  }
  try {
    const after = await db.prisma.$transaction(async (tx) => {
      const row = await tx.lesson.update({ where: { id: input.lessonId }, data: { docId, title, text } })
      await audit(tx, actor, {
        action: 'knowledge.lesson.approve',
        targetType: 'lesson',
        targetId: input.lessonId,
        runId: before.runId,
        before: { status: 'proposed', title: before.title },
        after: { status: 'approved', title, docId },
      })
      return row
    })
    const embedded = await embedDocument(db, docId)
    return { ...view(after), embedStatus: embedded.status }
  } catch (e) {
    await deleteDocument(db, docId, { actor }).catch(() => undefined)
    await db.prisma.lesson.updateMany({
      where: { id: input.lessonId },
      data: { status: 'proposed', docId: null, reviewedById: null, reviewedAt: null },
    })
    throw e
  }
}

// The candidates table's query: filters and sort as a bounded schema, turned into a Prisma
// `where`/`orderBy` (paging happens in the database: a run of 100,000 candidates is never sent
// whole), and the rows as CSV or JSON for export. Pure.
import { z } from 'zod'
import { DECIMAL_RE } from './run-form.ts'

export const SORT_FIELDS = [
  'evalIndex',
  'seq',
  'score',
  'island',
  'origin',
  'operator',
  'model',
  'status',
  'costUsd',
  'createdAt',
] as const
export type SortField = (typeof SORT_FIELDS)[number]
export const STATUSES = ['pending', 'queued', 'running', 'evaluated', 'rejected'] as const
export const ORIGINS = ['seed', 'cold-start', 'mutation', 'crossover', 'expert-edit', 'repair'] as const

const names = z.array(z.string().min(1).max(200)).max(50)

export const CandidateFilter = z
  .object({
    islands: z.array(z.number().int().min(-1).max(1024)).max(64).optional(),
    origins: z.array(z.enum(ORIGINS)).max(ORIGINS.length).optional(),
    operators: names.optional(),
    models: names.optional(),
    statuses: z.array(z.enum(STATUSES)).max(STATUSES.length).optional(),
    valid: z.boolean().optional(),
    // any score a problem reports, bounded below the double range's edge: Prisma sends a bound
    // as 16-digit decimal text, and ±1.7976931348623157e308 rounded that way overflows in PostgreSQL
    scoreMin: z.number().min(-1e300).max(1e300).optional(),
    scoreMax: z.number().min(-1e300).max(1e300).optional(),
    pinned: z.boolean().optional(),
    banned: z.boolean().optional(),
    /** experts' rating: rated up (promising) or down (dead end) */
    rating: z.enum(['up', 'down']).optional(),
    /** an id prefix or a guidance id the candidates were made under */
    idPrefix: z
      .string()
      .max(64)
      .regex(/^[0-9a-f-]*$/i, 'hex digits and dashes')
      .optional(),
    guidanceId: z.string().max(64).optional(),
  })
  .strict()
export type CandidateFilter = z.infer<typeof CandidateFilter>

// newest first by default: the (run, seq) index serves it without a sort
export const CandidateSort = z.object({
  field: z.enum(SORT_FIELDS).default('seq'),
  dir: z.enum(['asc', 'desc']).default('desc'),
})
export type CandidateSort = z.infer<typeof CandidateSort>

/** candidates.seq is a 32-bit integer column: the bound of an export's snapshot and keyset cursor */
export const MAX_SEQ = 2_147_483_647

type Where = Record<string, unknown>

/** Prisma `where` for a run's candidates under a filter. */
export function candidateWhere(runId: string, f: CandidateFilter = {}): Where {
  const and: Where[] = [{ runId }]
  if (f.islands?.length) and.push({ island: { in: f.islands } })
  if (f.origins?.length) and.push({ origin: { in: f.origins } })
  if (f.operators?.length) and.push({ operator: { in: f.operators } })
  if (f.models?.length) {
    // "(none)" selects candidates made without a model (offline operators, seeds, expert edits)
    const named = f.models.filter((m) => m !== '(none)')
    const or: Where[] = []
    if (named.length) or.push({ model: { in: named } })
    if (named.length !== f.models.length) or.push({ model: null })
    and.push(or.length === 1 ? or[0]! : { OR: or })
  }
  if (f.statuses?.length) and.push({ status: { in: f.statuses } })
  if (f.valid !== undefined) and.push({ valid: f.valid })
  if (f.scoreMin !== undefined) and.push({ score: { gte: f.scoreMin } })
  if (f.scoreMax !== undefined) and.push({ score: { lte: f.scoreMax } })
  if (f.pinned !== undefined) and.push({ pinned: f.pinned })
  if (f.banned !== undefined) and.push({ banned: f.banned })
  if (f.rating) and.push({ rating: f.rating === 'up' ? 1 : -1 })
  if (f.idPrefix) and.push({ id: { startsWith: f.idPrefix.toLowerCase() } })
  if (f.guidanceId) and.push({ guidanceIds: { has: f.guidanceId } })
  return and.length === 1 ? and[0]! : { AND: and }
}

/** Prisma `orderBy`: the chosen column (empty values last either way), then seq for a stable order. */
export function candidateOrder(s: CandidateSort): Where[] {
  const nullable = new Set<SortField>(['evalIndex', 'score', 'operator', 'model'])
  const primary = nullable.has(s.field) ? { [s.field]: { sort: s.dir, nulls: 'last' } } : { [s.field]: s.dir }
  return s.field === 'seq' ? [primary] : [primary, { seq: s.dir }]
}

/**
 * The order candidateOrder gives in the database, for rows an export read in # order (keyset
 * paging by the immutable seq is what keeps each candidate once while a live run changes scores
 * and statuses; the chosen order is then applied to the whole snapshot here). Text compares by
 * code unit, where the database may use its collation.
 */
export function compareExportRows(s: CandidateSort): (a: ExportRow, b: ExportRow) => number {
  const nullable = new Set<SortField>(['evalIndex', 'score', 'operator', 'model'])
  const sign = s.dir === 'asc' ? 1 : -1
  const cmp = (x: string | number, y: string | number) => (x < y ? -1 : x > y ? 1 : 0)
  return (a, b) => {
    if (s.field !== 'seq') {
      const x = a[s.field]
      const y = b[s.field]
      const xNull = x === null || x === undefined
      const yNull = y === null || y === undefined
      if (xNull !== yNull && nullable.has(s.field)) return xNull ? 1 : -1
      if (!xNull && !yNull && x !== y) return sign * cmp(x, y)
    }
    return sign * (a.seq - b.seq)
  }
}

export interface ExportRow {
  id: string
  seq: number
  evalIndex: number | null
  island: number
  origin: string
  operator: string | null
  model: string | null
  status: string
  valid: boolean | null
  score: number | null
  parentIds: string[]
  metrics: unknown
  features: unknown
  /** null where the model that made it has no price (its calls counted $0): unknown, not free */
  costUsd: number | null
  tokensIn: number
  tokensOut: number
  pinned: boolean
  banned: boolean
  /** experts' rating: 1 promising, -1 dead end, 0 none */
  rating: number
  rejectReason: string | null
  createdAt: string
  evaluatedAt: string | null
  code?: string
}

export const CSV_COLUMNS: Array<keyof ExportRow> = [
  'id',
  'seq',
  'evalIndex',
  'island',
  'origin',
  'operator',
  'model',
  'status',
  'valid',
  'score',
  'parentIds',
  'metrics',
  'features',
  'costUsd',
  'tokensIn',
  'tokensOut',
  'pinned',
  'banned',
  'rejectReason',
  'createdAt',
  'evaluatedAt',
  'rating',
]

/** One CSV cell (RFC 4180 quoting); text that a spreadsheet would run as a formula is defused. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return ''
  let s: string
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : ''
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) s = v.join(' ')
  else if (typeof v === 'object') s = JSON.stringify(v)
  else s = String(v)
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function toCsv(rows: readonly ExportRow[], withCode = false): string {
  const cols = withCode ? [...CSV_COLUMNS, 'code' as const] : CSV_COLUMNS
  const lines = [cols.join(',')]
  for (const r of rows) lines.push(cols.map((c) => csvCell(r[c])).join(','))
  return lines.join('\r\n') + '\r\n'
}

/** The table's filters as the URL holds them; a value that does not parse is left out (the form flags it). */
export function filterFromParams(sp: URLSearchParams): CandidateFilter {
  const list = (k: string) => (sp.get(k) ? sp.get(k)!.split(',').filter(Boolean) : undefined)
  const boxes = checkFilterBoxes({ min: sp.get('min') ?? '', max: sp.get('max') ?? '', id: sp.get('id') ?? '' })
  const num = (k: 'min' | 'max') => (boxes.params[k] === null ? undefined : Number(boxes.params[k]))
  const f: CandidateFilter = {
    islands: list('island')?.map(Number),
    origins: list('origin') as CandidateFilter['origins'],
    operators: list('operator'),
    models: list('model'),
    statuses: list('status') as CandidateFilter['statuses'],
    valid: sp.get('valid') === 'true' ? true : sp.get('valid') === 'false' ? false : undefined,
    scoreMin: num('min'),
    scoreMax: num('max'),
    pinned: sp.get('pinned') === 'true' ? true : undefined,
    rating: sp.get('rating') === 'up' || sp.get('rating') === 'down' ? (sp.get('rating') as 'up' | 'down') : undefined,
    idPrefix: boxes.params.id ?? undefined,
    guidanceId: sp.get('guidance') || undefined,
  }
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as CandidateFilter
}

/** The text of the table's typed filters: score ≥ (min), score ≤ (max), id starts with (id). */
export interface FilterBoxes {
  min: string
  max: string
  id: string
}

/**
 * What the typed filters put in the URL (null: none) and, for a box whose text cannot be a
 * filter, the message the form shows beside it; such a box is not put in the URL (params leaves
 * it out), so a typo never silently widens the list.
 */
export function checkFilterBoxes(b: FilterBoxes): {
  params: { min: string | null; max: string | null; id: string | null }
  errors: Partial<Record<keyof FilterBoxes, string>>
  /** the URL values to set: the valid boxes only */
  apply: Partial<Record<keyof FilterBoxes, string | null>>
} {
  const errors: Partial<Record<keyof FilterBoxes, string>> = {}
  const score = (k: 'min' | 'max'): string | null => {
    const t = b[k].trim()
    if (t === '') return null
    const parsed = CandidateFilter.shape.scoreMin.safeParse(Number(t))
    if (!DECIMAL_RE.test(t)) errors[k] = 'not a number'
    else if (!parsed.success) errors[k] = 'out of range (±1e300)'
    return errors[k] ? null : t
  }
  const min = score('min')
  const max = score('max')
  const idText = b.id.trim().toLowerCase()
  let id: string | null = idText || null
  if (id !== null && !CandidateFilter.shape.idPrefix.safeParse(id).success) {
    errors.id = idText.length > 64 ? 'at most 64 characters' : 'hex digits and dashes only'
    id = null
  }
  const params = { min, max, id }
  const apply: Partial<Record<keyof FilterBoxes, string | null>> = {}
  for (const k of ['min', 'max', 'id'] as const) if (!errors[k]) apply[k] = params[k]
  return { params, errors, apply }
}

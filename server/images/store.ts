// Pictures of candidates on the server: stored when a result arrives (checked again: the worker is
// trusted, the candidate that drew the picture is not), listed for the console's pages, and the
// run's "best over time" filmstrip. Served by server/api/images.ts.
import type { EvalImage, EvalResult, EvaluationBackend } from '../contracts/evaluation.ts'
import type { Db } from '../db.ts'
import { NotFoundError } from '../errors.ts'
import type { ProblemSnapshot } from '../runs/service.ts'
import type { Logger } from '../log.ts'
import {
  cleanImage,
  ImageError,
  MAX_IMAGES,
  MAX_IMAGES_TOTAL_CHARS,
  PNG_MIME,
  SVG_MIME,
  type ImageMime,
} from '../../workers/images.ts'

export interface ImageRef {
  name: string
  mime: ImageMime
  size: number
  /** where the console loads it (server/api/images.ts) */
  url: string
}

export const imageUrl = (candidateId: string, name: string) =>
  `/api/images/${encodeURIComponent(candidateId)}/${encodeURIComponent(name)}`

/** The images of a result, checked again and within the bounds; what fails is left out (and logged). */
export function checkedImages(images: readonly EvalImage[] | undefined, log?: Logger, candidateId = '?'): EvalImage[] {
  const out: EvalImage[] = []
  let total = 0
  for (const img of images ?? []) {
    if (out.length >= MAX_IMAGES) break
    try {
      const c = cleanImage(img.name, img.mime, img.data)
      if (total + c.data.length > MAX_IMAGES_TOTAL_CHARS) break
      total += c.data.length
      out.push(c)
    } catch (e) {
      if (!(e instanceof ImageError)) throw e
      log?.warn(`image ${img.name} of candidate ${candidateId} refused at ingestion: ${e.message}`)
    }
  }
  return out
}

/**
 * Stores a result's images for its candidate (replacing those of an earlier attempt). A result
 * without images changes nothing; a candidate that does not exist stores nothing.
 */
export async function storeResultImages(
  db: Db,
  r: Pick<EvalResult, 'jobId' | 'images'>,
  log?: Logger,
): Promise<number> {
  const images = checkedImages(r.images, log, r.jobId)
  if (images.length === 0) return 0
  const exists = await db.prisma.candidate.findUnique({ where: { id: r.jobId }, select: { id: true } })
  if (!exists) return 0
  const rows = images.map((i) => {
    const data = i.mime === SVG_MIME ? Buffer.from(i.data, 'utf8') : Buffer.from(i.data, 'base64')
    return { candidateId: r.jobId, name: i.name, mime: i.mime, data, size: data.length }
  })
  await db.prisma.$transaction([
    db.prisma.candidateImage.deleteMany({ where: { candidateId: r.jobId, name: { notIn: rows.map((x) => x.name) } } }),
    ...rows.map((row) =>
      db.prisma.candidateImage.upsert({
        where: { candidateId_name: { candidateId: row.candidateId, name: row.name } },
        create: row,
        update: { mime: row.mime, data: row.data, size: row.size },
      }),
    ),
  ])
  return rows.length
}

/**
 * The backend with its results' images stored before anyone else sees the result, and taken out of
 * it: the engine, prompts and exports never carry them. Storage failing loses the pictures, never
 * the result.
 */
export function withImageStore<B extends EvaluationBackend>(backend: B, db: Db, log: Logger): B {
  const onResult = backend.onResult.bind(backend)
  backend.onResult = (cb) =>
    onResult(async (r) => {
      // a held-out evaluation's pictures are not the candidate's (held-out.ts)
      if (r.images?.length && !r.jobId.startsWith('held-out:')) {
        await storeResultImages(db, r, log).catch((e) =>
          log.warn(`the images of candidate ${r.jobId} were not stored: ${(e as Error).message}`),
        )
        const { images: _images, ...rest } = r
        return cb(rest)
      }
      return cb(r)
    })
  return backend
}

/** A picture from a run export (its bytes in base64) as a row to store, checked again; null when it fails. */
export function importedImage(i: { candidateId?: unknown; name?: unknown; mime?: unknown; data?: unknown }) {
  if (
    typeof i.candidateId !== 'string' ||
    typeof i.name !== 'string' ||
    typeof i.data !== 'string' ||
    (i.mime !== SVG_MIME && i.mime !== PNG_MIME)
  )
    return null
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/.test(i.name)) return null
  try {
    const bytes = Buffer.from(i.data, 'base64')
    const c = cleanImage(i.name, i.mime, i.mime === SVG_MIME ? bytes.toString('utf8') : i.data)
    const data = c.mime === SVG_MIME ? Buffer.from(c.data, 'utf8') : Buffer.from(c.data, 'base64')
    return { candidateId: i.candidateId, name: c.name, mime: c.mime, data, size: data.length }
  } catch (e) {
    if (e instanceof ImageError) return null
    throw e
  }
}

/** Image names, types and sizes per candidate (no data). */
export async function imagesOf(db: Db, candidateIds: string[]): Promise<Map<string, ImageRef[]>> {
  const out = new Map<string, ImageRef[]>()
  if (candidateIds.length === 0) return out
  const rows = await db.prisma.candidateImage.findMany({
    where: { candidateId: { in: candidateIds } },
    select: { candidateId: true, name: true, mime: true, size: true },
    orderBy: [{ candidateId: 'asc' }, { name: 'asc' }],
  })
  for (const r of rows) {
    const list = out.get(r.candidateId) ?? []
    list.push({ name: r.name, mime: r.mime as ImageMime, size: r.size, url: imageUrl(r.candidateId, r.name) })
    out.set(r.candidateId, list)
  }
  return out
}

export async function getImage(
  db: Db,
  candidateId: string,
  name: string,
): Promise<{ mime: ImageMime; data: Buffer } | null> {
  const row = await db.prisma.candidateImage.findUnique({
    where: { candidateId_name: { candidateId, name } },
    select: { mime: true, data: true },
  })
  if (!row || (row.mime !== SVG_MIME && row.mime !== PNG_MIME)) return null
  return { mime: row.mime, data: Buffer.from(row.data) }
}

export interface FilmFrame {
  candidateId: string
  evalIndex: number
  score: number
  images: ImageRef[]
}

/**
 * The run's best over time: every candidate that improved on the best before it (in evaluation
 * order, in the problem's direction) and has a picture, thinned to `limit` frames evenly spread
 * over the improvements, the first and the latest always kept.
 */
export async function bestOverTime(
  db: Db,
  runId: string,
  direction: 'max' | 'min',
  limit = 12,
): Promise<{ frames: FilmFrame[]; improvements: number }> {
  const better = direction === 'max' ? '>' : '<'
  const prev = direction === 'max' ? 'max' : 'min'
  const rows = await db.sql<{ id: string; eval_index: number; score: number }>(
    `SELECT id, eval_index, score FROM (
       SELECT c.id, c.eval_index, c.score,
              ${prev}(c.score) OVER (ORDER BY c.eval_index ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
       FROM candidates c
       WHERE c.run_id = $1 AND c.valid = true AND c.score IS NOT NULL AND c.eval_index IS NOT NULL
     ) t
     WHERE (before IS NULL OR score ${better} before)
       AND EXISTS (SELECT 1 FROM candidate_images i WHERE i.candidate_id = t.id)
     ORDER BY eval_index`,
    [runId],
  )
  const n = rows.length
  const keep =
    n <= limit
      ? rows
      : Array.from(new Set(Array.from({ length: limit }, (_, k) => Math.round((k * (n - 1)) / (limit - 1))))).map(
          (i) => rows[i]!,
        )
  const pics = await imagesOf(
    db,
    keep.map((r) => r.id),
  )
  return {
    improvements: n,
    frames: keep.map((r) => ({
      candidateId: r.id,
      evalIndex: Number(r.eval_index),
      score: Number(r.score),
      images: pics.get(r.id) ?? [],
    })),
  }
}

/** A candidate's pictures and its parents' (the candidate page draws them side by side). */
export async function candidatePictures(db: Db, runId: string, id: string) {
  const c = await db.prisma.candidate.findFirst({ where: { id, runId }, select: { parentIds: true } })
  if (!c) throw new NotFoundError(`no candidate ${id} in run ${runId}`)
  const pics = await imagesOf(db, [id, ...c.parentIds])
  return { images: pics.get(id) ?? [], parents: c.parentIds.map((p) => ({ id: p, images: pics.get(p) ?? [] })) }
}

/** The run's best over time with pictures, in the run's own direction. */
export async function runFilmstrip(db: Db, runId: string, limit: number) {
  const run = await db.prisma.run.findUnique({ where: { id: runId }, select: { problemSnapshot: true } })
  if (!run) throw new NotFoundError(`no run ${runId}`)
  const direction = (run.problemSnapshot as unknown as ProblemSnapshot).spec.direction
  return { direction, ...(await bestOverTime(db, runId, direction, limit)) }
}

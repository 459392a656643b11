'use client'
// Pictures of candidates (the evaluators' SVG / PNG image artifacts, served checked by
// /api/images): on the candidate page, each picture of the parent beside the child's; on the
// dashboard, the run's best, following the run live, with a filmstrip of the best over time.
import { useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { fmt } from '../client-safe/format.ts'
import { shortId } from './run-ui.tsx'
import { useTRPC } from './trpc.tsx'

type Ref = { name: string; url: string; mime: string }

function Picture({ img, label, testId }: { img: Ref | undefined; label: string; testId?: string }) {
  return (
    <figure className="picture" data-testid={testId}>
      {img ? (
        <img src={img.url} alt={`${img.name}: ${label}`} loading="lazy" />
      ) : (
        <div className="picture-none">no picture</div>
      )}
      <figcaption>{label}</figcaption>
    </figure>
  )
}

/** The candidate's pictures beside its parent's, one row per picture name. */
export function CandidatePictures({
  runId,
  id,
  parentId,
  evaluated,
}: {
  runId: string
  id: string
  parentId: string | null
  evaluated: boolean
}) {
  const trpc = useTRPC()
  const q = useQuery(
    trpc.candidates.pictures.queryOptions({ runId, id }, { refetchInterval: evaluated ? false : 2000 }),
  )
  if (!q.data) return null
  const parent = q.data.parents.find((p) => p.id === parentId) ?? q.data.parents[0] ?? null
  const names = [...new Set([...q.data.images.map((i) => i.name), ...(parent?.images.map((i) => i.name) ?? [])])]
  if (names.length === 0) return null
  return (
    <div className="card" data-testid="candidate-pictures">
      <div className="panel-head">
        <h2>Pictures</h2>
        <span className="muted small">
          {parent ? 'the parent beside this candidate, drawn by the evaluator' : 'drawn by the evaluator'}
        </span>
      </div>
      {names.map((name) => (
        <div key={name} className="picture-row">
          <h3>{name}</h3>
          <div className={parent ? 'pictures two' : 'pictures'}>
            {parent && (
              <Picture
                img={parent.images.find((i) => i.name === name)}
                label={`parent ${shortId(parent.id)}`}
                testId="parent-picture"
              />
            )}
            <Picture
              img={q.data.images.find((i) => i.name === name)}
              label="this candidate"
              testId="candidate-picture"
            />
          </div>
        </div>
      ))}
    </div>
  )
}

/** The run's best candidate's picture, live, and the best over time as a filmstrip. */
export function RunPictures({
  runId,
  bestId,
  active,
  metric,
}: {
  runId: string
  bestId: string | null
  active: boolean
  metric: string
}) {
  const trpc = useTRPC()
  const film = useQuery(
    trpc.candidates.filmstrip.queryOptions({ runId, limit: 12 }, { refetchInterval: active ? 5000 : false }),
  )
  const best = useQuery({
    ...trpc.candidates.pictures.queryOptions({ runId, id: bestId ?? '' }),
    enabled: !!bestId,
    refetchInterval: active ? 5000 : false,
  })
  const frames = film.data?.frames ?? []
  // the live best may be newer than the last frame the filmstrip had; its own pictures come first
  const bestImages = best.data?.images.length ? best.data.images : (frames[frames.length - 1]?.images ?? [])
  const shownId = best.data?.images.length ? bestId : (frames[frames.length - 1]?.candidateId ?? null)
  if (!bestImages.length && frames.length === 0) return null
  const main = bestImages[0]
  return (
    <div className="card w12" data-testid="run-pictures" data-best={shownId ?? ''}>
      <div className="panel-head">
        <h2>The best so far</h2>
        <span className="muted small">
          {shownId && (
            <Link href={`/runs/${runId}/candidates/${shownId}`} className="mono">
              {shortId(shownId)}
            </Link>
          )}{' '}
          drawn by the evaluator{bestImages.length > 1 ? ` (${bestImages.map((i) => i.name).join(', ')})` : ''}
        </span>
      </div>
      <div className="best-pictures">
        <div className="best-main">
          {main && (
            <figure className="picture large" data-testid="best-picture">
              <img key={main.url} src={main.url} alt={`${main.name} of the best candidate`} />
              <figcaption>{main.name}</figcaption>
            </figure>
          )}
        </div>
        {frames.length > 0 && (
          <div className="filmstrip-wrap">
            <h3>
              The best over time{' '}
              <span className="muted">
                ({film.data!.improvements} improvement{film.data!.improvements === 1 ? '' : 's'} with a picture
                {film.data!.improvements > frames.length ? `, ${frames.length} shown` : ''})
              </span>
            </h3>
            <div className="filmstrip" data-testid="filmstrip">
              {frames.map((f) => (
                <Link
                  key={f.candidateId}
                  href={`/runs/${runId}/candidates/${f.candidateId}`}
                  className={`frame${f.candidateId === shownId ? ' current' : ''}`}
                  data-testid="film-frame"
                  title={`evaluation ${f.evalIndex}: ${metric} ${f.score}`}
                >
                  {f.images[0] && (
                    <img src={f.images[0].url} alt={`best at evaluation ${f.evalIndex}`} loading="lazy" />
                  )}
                  <span>
                    #{f.evalIndex} · {fmt(f.score, 5)}
                  </span>
                </Link>
              ))}
            </div>
          </div>
        )}
      </div>
    </div>
  )
}

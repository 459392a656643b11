// GET /api/images/<candidateId>/<name>: a candidate's picture, for those who may call viewer
// procedures (session or CLI token) only. Checked once more before it leaves (an image stored by an older version, or written
// to the database by other means, is no exception), sent with its exact type, never sniffed, and
// under a policy that lets nothing in it run or load even when opened on its own.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createHash } from 'node:crypto'
import type { AppServices } from '../app.ts'
import { accessRefusal, createContext } from './trpc.ts'
import { checkPng, ImageError, sanitizeSvg, SVG_MIME } from '../../workers/images.ts'
import { getImage } from '../images/store.ts'

export const IMAGE_ROUTE = /^\/api\/images\/([0-9A-Za-z_-]{1,64})\/([A-Za-z0-9_][A-Za-z0-9._-]{0,63})$/

/** What an image response carries besides the console's usual headers. */
export const IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"

export async function serveImage(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  headers: Headers,
): Promise<void> {
  const path = (req.url ?? '').split('?')[0]!
  const m = IMAGE_ROUTE.exec(path)
  const fail = (code: number, error: string) =>
    void res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify({ error }))
  if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'method not allowed')
  if (!m) return fail(404, 'not found')
  // the rule of a viewer procedure: a worker token or a password still to change sees no picture either
  const refusal = accessRefusal(await createContext(app, headers), { access: 'viewer' })
  if (refusal) return fail(refusal.code === 'UNAUTHORIZED' ? 401 : 403, refusal.message)
  const img = await getImage(app.db, m[1]!, m[2]!)
  if (!img) return fail(404, 'no such picture')
  let body: Buffer
  try {
    body =
      img.mime === SVG_MIME
        ? Buffer.from(sanitizeSvg(img.data.toString('utf8')), 'utf8')
        : (checkPng(img.data), img.data)
  } catch (e) {
    if (!(e instanceof ImageError)) throw e
    app.log.warn(`picture ${m[1]}/${m[2]} refused when served: ${e.message}`)
    return fail(422, 'this picture did not pass the check')
  }
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
  if (req.headers['if-none-match'] === etag) return void res.writeHead(304, { etag }).end()
  res.setHeader('Content-Security-Policy', IMAGE_CSP)
  res.writeHead(200, {
    'content-type': img.mime,
    'content-length': body.length,
    'content-disposition': `inline; filename="${m[2]}.${img.mime === SVG_MIME ? 'svg' : 'png'}"`,
    'cache-control': 'private, max-age=60',
    'cross-origin-resource-policy': 'same-origin',
    etag,
  })
  res.end(req.method === 'HEAD' ? undefined : body)
}

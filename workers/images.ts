// Pictures of candidates: evaluators may return SVG or PNG images as artifacts. Nothing in them may
// run or fetch anything, so every image is checked here, on the worker, before it leaves; the
// server checks it again when it stores it and when it serves it (server/images/).
//
// - SVG is parsed by a strict tokenizer and written out again from what was understood: only
//   allow-listed elements and attributes survive (no script, no foreignObject, no event handler,
//   no style element, no use or href at all, url() only to an `#id` of the same document);
//   a DOCTYPE (entity expansion), an unknown entity or malformed markup rejects the image.
// - PNG: the signature, a well-formed chunk sequence (lengths, CRCs, IHDR first, IEND last) and a
//   bounded size in bytes and in pixels.
// Pure functions: no I/O except readImageFiles.
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs'
import { join } from 'node:path'

export const SVG_MIME = 'image/svg+xml'
export const PNG_MIME = 'image/png'
export type ImageMime = typeof SVG_MIME | typeof PNG_MIME

/** One image: SVG as its (sanitized) text, PNG as base64. */
export interface EvalImage {
  name: string
  mime: ImageMime
  data: string
}

/** bytes of one image (an SVG's characters after sanitizing, a PNG's decoded bytes) */
export const MAX_IMAGE_BYTES = 100_000
/** all images of one result together (as carried: SVG text plus PNG base64) */
export const MAX_IMAGES_TOTAL_CHARS = 250_000
export const MAX_IMAGES = 8
/** a PNG's width and height, and their product: a small file must not decode to a huge bitmap */
export const MAX_PNG_SIDE = 4096
export const MAX_PNG_PIXELS = 4_000_000
/** an SVG as written by the evaluator, before sanitizing */
export const MAX_SVG_INPUT_CHARS = 400_000
const MAX_SVG_ELEMENTS = 20_000
const MAX_SVG_DEPTH = 64

// ------------------------------------------------------------------------------------------ SVG

const ELEMENTS = new Set([
  'svg',
  'g',
  'defs',
  'title',
  'desc',
  'circle',
  'ellipse',
  'line',
  'polyline',
  'polygon',
  'path',
  'rect',
  'text',
  'tspan',
  'linearGradient',
  'radialGradient',
  'stop',
  'clipPath',
  'marker',
])
const TEXT_ELEMENTS = new Set(['text', 'tspan', 'title', 'desc'])
/** presentation properties: allowed as attributes and inside a `style` attribute */
const STYLE_PROPERTIES = new Set([
  'fill',
  'fill-opacity',
  'fill-rule',
  'stroke',
  'stroke-width',
  'stroke-opacity',
  'stroke-dasharray',
  'stroke-dashoffset',
  'stroke-linecap',
  'stroke-linejoin',
  'stroke-miterlimit',
  'opacity',
  'color',
  'font-size',
  'font-family',
  'font-weight',
  'font-style',
  'text-anchor',
  'dominant-baseline',
  'letter-spacing',
  'visibility',
  'display',
  'paint-order',
  'stop-color',
  'stop-opacity',
  'shape-rendering',
  'vector-effect',
  'text-decoration',
])
const ATTRIBUTES = new Set([
  'id',
  'class',
  'transform',
  'x',
  'y',
  'x1',
  'y1',
  'x2',
  'y2',
  'cx',
  'cy',
  'r',
  'rx',
  'ry',
  'fx',
  'fy',
  'width',
  'height',
  'd',
  'points',
  'viewBox',
  'preserveAspectRatio',
  'version',
  'pathLength',
  'alignment-baseline',
  'baseline-shift',
  'word-spacing',
  'clip-path',
  'clip-rule',
  'marker-start',
  'marker-mid',
  'marker-end',
  'text-rendering',
  'style',
  'offset',
  'gradientUnits',
  'gradientTransform',
  'spreadMethod',
  'dx',
  'dy',
  'rotate',
  'textLength',
  'lengthAdjust',
  'markerWidth',
  'markerHeight',
  'refX',
  'refY',
  'orient',
  'markerUnits',
  'clipPathUnits',
  'xml:space',
  'xmlns',
  ...STYLE_PROPERTIES,
])
const SVG_NS = 'http://www.w3.org/2000/svg'
const LOCAL_URL = /^url\(\s*#[A-Za-z_][\w.:-]{0,127}\s*\)$/
// a CSS value: words, numbers, colours, lists and rgb()/hsl() only; no url(), no escapes, no at-rules
const SAFE_CSS_VALUE = /^(?:[#\w.,%\s+-]|(?:rgba?|hsla?)\([\d\s.,%+-]*\))*$/i

const WS = /\s*/y
const ATTR = /([A-Za-z_][\w:.-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

export class ImageError extends Error {}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]+);|&/gi, (m, ent: string | undefined) => {
    if (!ent) throw new ImageError('a bare "&" (write &amp;)')
    if (ent[0] === '#') {
      const code = ent[1] === 'x' || ent[1] === 'X' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10)
      if (
        !Number.isFinite(code) ||
        (code < 0x20 && code !== 9 && code !== 10 && code !== 13) ||
        code > 0x10ffff ||
        (code >= 0xd800 && code <= 0xdfff)
      )
        throw new ImageError(`the character reference ${m} is not allowed`)
      return String.fromCodePoint(code)
    }
    const v = ENTITIES[ent]
    if (v === undefined) throw new ImageError(`the entity ${m} is not defined (only &lt; &gt; &amp; &quot; &apos;)`)
    return v
  })
}

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const escapeAttr = (s: string) => escapeText(s).replace(/"/g, '&quot;')

/** null when the attribute is dropped */
function cleanAttribute(name: string, raw: string): string | null {
  if (!ATTRIBUTES.has(name)) return null
  // control characters and the like have no place in an attribute
  const value = raw.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
  if (name === 'xmlns') return SVG_NS
  if (name === 'style') return cleanStyle(value)
  if (/url\s*\(/i.test(value)) return LOCAL_URL.test(value.trim()) ? value.trim() : null
  if (/[\\@]|javascript:|expression\s*\(/i.test(value)) return null
  return value
}

function cleanStyle(value: string): string | null {
  const kept: string[] = []
  for (const decl of value.split(';')) {
    const i = decl.indexOf(':')
    if (i < 0) continue
    const prop = decl.slice(0, i).trim().toLowerCase()
    const v = decl.slice(i + 1).trim()
    if (!STYLE_PROPERTIES.has(prop) || !v) continue
    if (
      LOCAL_URL.test(v) ||
      (SAFE_CSS_VALUE.test(v) && !/\b(?:url|expression|image|element|var|env|attr)\s*\(/i.test(v))
    )
      kept.push(`${prop}:${v}`)
  }
  return kept.length ? kept.join(';') : null
}

/**
 * The SVG rewritten from its allow-listed parts. Throws ImageError (with the reason) for markup that
 * cannot be understood safely; drops, silently, what is understood but not allowed.
 */
export function sanitizeSvg(input: string): string {
  if (input.length > MAX_SVG_INPUT_CHARS)
    throw new ImageError(`the SVG has ${input.length} characters, over ${MAX_SVG_INPUT_CHARS}`)
  const s = input.replace(/^\uFEFF/, '')
  const out: string[] = []
  const stack: Array<{ name: string; kept: boolean }> = []
  let skipDepth = 0 // > 0 inside an element that is dropped with its content
  let elements = 0
  let sawRoot = false
  let rootClosed = false
  let i = 0
  const keptTop = () => stack.length === 0 || stack[stack.length - 1]!.kept
  while (i < s.length) {
    const lt = s.indexOf('<', i)
    const text = lt < 0 ? s.slice(i) : s.slice(i, lt)
    if (text) {
      if (stack.length === 0) {
        if (text.trim()) throw new ImageError('text outside the <svg> element')
      } else if (skipDepth === 0 && TEXT_ELEMENTS.has(stack[stack.length - 1]!.name))
        out.push(escapeText(decodeEntities(text)))
      else if (skipDepth === 0) decodeEntities(text) // still checked: an undefined entity is an error anywhere
    }
    if (lt < 0) break
    if (s.startsWith('<!--', lt)) {
      const end = s.indexOf('-->', lt + 4)
      if (end < 0) throw new ImageError('an unterminated comment')
      i = end + 3
      continue
    }
    if (s.startsWith('<?', lt)) {
      const end = s.indexOf('?>', lt + 2)
      if (end < 0) throw new ImageError('an unterminated processing instruction')
      i = end + 2
      continue
    }
    if (s.startsWith('<![CDATA[', lt)) {
      const end = s.indexOf(']]>', lt + 9)
      if (end < 0) throw new ImageError('an unterminated CDATA section')
      if (stack.length && skipDepth === 0 && TEXT_ELEMENTS.has(stack[stack.length - 1]!.name))
        out.push(escapeText(s.slice(lt + 9, end)))
      i = end + 3
      continue
    }
    if (s.startsWith('<!', lt))
      throw new ImageError('a DOCTYPE or other declaration (not allowed: entities could expand)')
    if (s[lt + 1] === '/') {
      const m = /^<\/([A-Za-z_][\w:.-]*)\s*>/.exec(s.slice(lt, lt + 200))
      if (!m) throw new ImageError('a malformed end tag')
      const top = stack.pop()
      if (!top || top.name !== m[1]) throw new ImageError(`</${m[1]}> does not close <${top?.name ?? 'nothing'}>`)
      if (skipDepth > 0) skipDepth--
      else if (top.kept) out.push(`</${top.name}>`)
      if (stack.length === 0) rootClosed = true
      i = lt + m[0].length
      continue
    }
    // a start tag
    const nameMatch = /^<([A-Za-z_][\w:.-]*)/.exec(s.slice(lt, lt + 200))
    if (!nameMatch) throw new ImageError('a "<" that starts no tag (write &lt;)')
    const name = nameMatch[1]!
    let j = lt + nameMatch[0].length
    const attrs: Array<[string, string]> = []
    const seen = new Set<string>()
    let selfClosing = false
    for (;;) {
      WS.lastIndex = j
      const ws = WS.exec(s)![0].length
      j += ws
      if (j >= s.length) throw new ImageError(`the tag <${name}> is not closed`)
      if (s.startsWith('/>', j)) {
        selfClosing = true
        j += 2
        break
      }
      if (s[j] === '>') {
        j += 1
        break
      }
      if (ws === 0) throw new ImageError(`attributes of <${name}> must be separated by white space`)
      ATTR.lastIndex = j
      const am = ATTR.exec(s)
      if (!am) throw new ImageError(`a malformed attribute in <${name}>`)
      const an = am[1]!
      if (seen.has(an)) throw new ImageError(`the attribute ${an} is repeated in <${name}>`)
      seen.add(an)
      attrs.push([an, decodeEntities(am[2] ?? am[3] ?? '')])
      j += am[0].length
    }
    if (rootClosed) throw new ImageError('content after the closing </svg>')
    if (stack.length === 0) {
      if (sawRoot) throw new ImageError('more than one root element')
      if (name !== 'svg') throw new ImageError(`the root element is <${name}>, not <svg>`)
      sawRoot = true
    }
    if (++elements > MAX_SVG_ELEMENTS) throw new ImageError(`more than ${MAX_SVG_ELEMENTS} elements`)
    if (stack.length >= MAX_SVG_DEPTH) throw new ImageError(`elements nested deeper than ${MAX_SVG_DEPTH}`)
    const keep = skipDepth === 0 && keptTop() && ELEMENTS.has(name)
    if (keep) {
      const parts: string[] = [name]
      for (const [an, av] of attrs) {
        const v = cleanAttribute(an, av)
        if (v !== null) parts.push(`${an}="${escapeAttr(v)}"`)
      }
      if (stack.length === 0 && !seen.has('xmlns')) parts.splice(1, 0, `xmlns="${SVG_NS}"`)
      out.push(`<${parts.join(' ')}${selfClosing ? '/>' : '>'}`)
    }
    if (!selfClosing) {
      if (!keep && skipDepth === 0 && keptTop()) skipDepth = 1
      else if (skipDepth > 0) skipDepth++
      stack.push({ name, kept: keep })
    } else if (stack.length === 0) rootClosed = true
    i = j
  }
  if (!sawRoot) throw new ImageError('no <svg> element')
  if (stack.length) throw new ImageError(`<${stack[stack.length - 1]!.name}> is not closed`)
  const svg = out.join('')
  if (svg.length > MAX_IMAGE_BYTES)
    throw new ImageError(`the SVG has ${svg.length} characters after cleaning, over ${MAX_IMAGE_BYTES}`)
  return svg
}

// ------------------------------------------------------------------------------------------ PNG

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()
function crc32(buf: Buffer, start: number, end: number): number {
  let c = 0xffffffff
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** Checks a PNG's structure and size; returns its dimensions. Throws ImageError. */
export function checkPng(buf: Buffer): { width: number; height: number } {
  if (buf.length > MAX_IMAGE_BYTES) throw new ImageError(`the PNG has ${buf.length} bytes, over ${MAX_IMAGE_BYTES}`)
  if (buf.length < 8 + 25 + 12 || !buf.subarray(0, 8).equals(PNG_SIGNATURE))
    throw new ImageError('not a PNG (its signature is wrong)')
  let p = 8
  let first = true
  let width = 0
  let height = 0
  let idat = false
  for (;;) {
    if (p + 12 > buf.length) throw new ImageError('the PNG ends inside a chunk (truncated)')
    const len = buf.readUInt32BE(p)
    const type = buf.toString('latin1', p + 4, p + 8)
    if (!/^[A-Za-z]{4}$/.test(type)) throw new ImageError('a PNG chunk with an invalid type')
    if (p + 12 + len > buf.length) throw new ImageError(`the PNG chunk ${type} runs past the end of the file`)
    if (crc32(buf, p + 4, p + 8 + len) !== buf.readUInt32BE(p + 8 + len))
      throw new ImageError(`the PNG chunk ${type} has a wrong CRC`)
    if (first) {
      if (type !== 'IHDR' || len !== 13) throw new ImageError('the PNG does not start with its IHDR header')
      width = buf.readUInt32BE(p + 8)
      height = buf.readUInt32BE(p + 12)
      if (width < 1 || height < 1 || width > MAX_PNG_SIDE || height > MAX_PNG_SIDE || width * height > MAX_PNG_PIXELS) {
        throw new ImageError(
          `the PNG is ${width} × ${height} pixels (at most ${MAX_PNG_SIDE} a side and ${MAX_PNG_PIXELS.toLocaleString('en-US')} in all)`,
        )
      }
      first = false
    } else if (type === 'IHDR') throw new ImageError('the PNG has a second IHDR')
    if (type === 'IDAT') idat = true
    p += 12 + len
    if (type === 'IEND') break
  }
  if (!idat) throw new ImageError('the PNG has no image data')
  if (p !== buf.length) throw new ImageError('the PNG has data after its end')
  return { width, height }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** A PNG given as base64 (whitespace allowed), checked; returns canonical base64. */
export function checkPngBase64(b64: string): string {
  const compact = b64.replace(/\s+/g, '')
  if (compact.length > Math.ceil((MAX_IMAGE_BYTES * 4) / 3) + 4)
    throw new ImageError(`the PNG is over ${MAX_IMAGE_BYTES} bytes`)
  if (!BASE64.test(compact) || compact.length % 4 !== 0) throw new ImageError('the PNG data is not valid base64')
  const buf = Buffer.from(compact, 'base64')
  checkPng(buf)
  return buf.toString('base64')
}

// --------------------------------------------------------------------------- artifacts → images

/** An image's name as an artifact key and a URL segment. */
export function imageName(key: string): string {
  const n = key
    .replace(/\.(svg|png)$/i, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 64)
  return n || 'image'
}

/** Whether an artifact value is an image: `{"type": "image/svg+xml" | "image/png", "data": "…"}`. */
export function isImageArtifact(v: unknown): v is { type: ImageMime; data: string } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const o = v as Record<string, unknown>
  return (o.type === SVG_MIME || o.type === PNG_MIME) && typeof o.data === 'string'
}

/** One image checked: SVG sanitized, PNG validated. Throws ImageError. */
export function cleanImage(name: string, mime: ImageMime, data: string): EvalImage {
  return mime === SVG_MIME ? { name, mime, data: sanitizeSvg(data) } : { name, mime, data: checkPngBase64(data) }
}

/**
 * Takes the image artifacts out of `artifacts`: each is checked and bounded, and comes back in
 * `images`; one that fails leaves a short text artifact saying why in its place (the evaluator's
 * author needs to know), as does any image beyond the bounds.
 */
export function splitImages(artifacts: Record<string, unknown>): {
  artifacts: Record<string, unknown>
  images: EvalImage[]
} {
  const rest: Record<string, unknown> = {}
  const images: EvalImage[] = []
  let total = 0
  const names = new Set<string>()
  for (const [key, v] of Object.entries(artifacts)) {
    if (!isImageArtifact(v)) {
      rest[key] = v
      continue
    }
    let name = imageName(key)
    for (let k = 2; names.has(name); k++) name = `${imageName(key).slice(0, 60)}-${k}`
    if (images.length >= MAX_IMAGES) {
      rest[`image_error:${key}`] = `left out: at most ${MAX_IMAGES} images per evaluation`
      continue
    }
    try {
      const img = cleanImage(name, v.type, v.data)
      if (total + img.data.length > MAX_IMAGES_TOTAL_CHARS) {
        rest[`image_error:${key}`] =
          `left out: the images of one evaluation take at most ${MAX_IMAGES_TOTAL_CHARS.toLocaleString('en-US')} characters`
        continue
      }
      total += img.data.length
      names.add(name)
      images.push(img)
    } catch (e) {
      if (!(e instanceof ImageError)) throw e
      rest[`image_error:${key}`] = `the ${v.type === SVG_MIME ? 'SVG' : 'PNG'} image was refused: ${e.message}`
    }
  }
  return { artifacts: rest, images }
}

/**
 * Image files an evaluator wrote into a folder (a ShinkaEvolve task's results folder): every
 * regular file named *.svg or *.png directly in it becomes an image artifact named after the file.
 * Links are not followed (the folder is the candidate's to write), and nothing over the size bound
 * is read past it.
 */
export function readImageFiles(dir: string): Record<string, { type: ImageMime; data: string } | string> {
  const out: Record<string, { type: ImageMime; data: string } | string> = {}
  let entries: string[]
  try {
    const st = lstatSync(dir)
    if (!st.isDirectory()) return out
    entries = readdirSync(dir).sort()
  } catch {
    return out
  }
  let n = 0
  for (const file of entries) {
    const ext = /\.(svg|png)$/i.exec(file)?.[1]?.toLowerCase()
    if (!ext) continue
    if (++n > MAX_IMAGES) {
      out[`image_error:${file}`] = `left out: at most ${MAX_IMAGES} images per evaluation`
      continue
    }
    const path = join(dir, file)
    let fd: number | null = null
    try {
      // O_NOFOLLOW: a symbolic link planted by the candidate fails here instead of being followed
      fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
      if (!fstatSync(fd).isFile()) throw Object.assign(new Error('not a regular file'), { code: 'not a regular file' })
      const limit = ext === 'svg' ? MAX_SVG_INPUT_CHARS : MAX_IMAGE_BYTES
      const buf = Buffer.alloc(limit + 1)
      let got = 0
      for (;;) {
        const r = readSync(fd, buf, got, buf.length - got, null)
        if (r <= 0) break
        got += r
        if (got > limit) break
      }
      if (got > limit) {
        out[`image_error:${file}`] = `the file is over ${limit} bytes`
        continue
      }
      const bytes = buf.subarray(0, got)
      out[file] =
        ext === 'svg'
          ? { type: SVG_MIME, data: bytes.toString('utf8') }
          : { type: PNG_MIME, data: bytes.toString('base64') }
    } catch (e) {
      out[`image_error:${file}`] =
        `unreadable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); only regular files are read`
    } finally {
      if (fd !== null) closeSync(fd)
    }
  }
  return out
}

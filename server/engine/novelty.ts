// Code similarity for novelty rejection and diversity: MinHash over token shingles (comments and
// whitespace do not count, see code.ts), indexed with banded LSH so that "is there a near-duplicate
// of this program on the island?" looks at a bounded number of members even at 10k+.
import { normalizeTokens, sha256Hex, tokenize, type Language, type Token } from './code.ts'

export interface CodeSketch {
  /** MinHash signature over token k-shingles */
  minhash: Uint32Array
  /** hashed bag of tokens and token bigrams, L2-normalized: a cheap code embedding for clustering */
  vector: Float32Array
  /** number of tokens (comments and whitespace excluded) */
  tokens: number
}

export interface SketchOptions {
  /** signature length (a power of two); 128 gives a similarity estimate with standard error ≤ 0.045 (≤ 0.015 near 0.97) */
  numPerm?: number
  /** tokens per shingle */
  shingle?: number
  /** dimensions of the hashed code vector */
  vectorDims?: number
}

export const DEFAULT_NUM_PERM = 128
export const DEFAULT_SHINGLE = 3
export const DEFAULT_VECTOR_DIMS = 32

function fnv1a(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

const NL_HASH = fnv1a('\n')

/** murmur3's finalizer: a good 32-bit mixer, so `fmix(x ^ seed_i)` serves as the i-th hash function */
function fmix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * Sketch a token sequence (token texts). The MinHash is one-permutation hashing with rotation densification
 * (Shrivastava & Li, 2014): every shingle is hashed once into one of `numPerm` bins and each bin keeps its
 * minimum, so the cost is O(tokens + numPerm) instead of O(tokens × numPerm); empty bins (short programs)
 * borrow from the next non-empty bin so that equal-looking signatures still mean similar shingle sets.
 */
export function sketchTokens(tokens: readonly string[], opts: SketchOptions = {}): CodeSketch {
  const n = tokens.length
  const th = new Uint32Array(n)
  for (let i = 0; i < n; i++) th[i] = fnv1a(tokens[i] as string)
  return sketchHashes(th, opts)
}

function sketchHashes(th: Uint32Array, opts: SketchOptions): CodeSketch {
  const numPerm = opts.numPerm ?? DEFAULT_NUM_PERM
  if ((numPerm & (numPerm - 1)) !== 0 || numPerm < 8)
    throw new RangeError(`numPerm must be a power of two ≥ 8, got ${numPerm}`)
  const bits = Math.log2(numPerm)
  const k = Math.max(1, opts.shingle ?? DEFAULT_SHINGLE)
  const dims = opts.vectorDims ?? DEFAULT_VECTOR_DIMS
  const n = th.length
  const count = Math.max(1, n - k + 1)
  const mh = new Uint32Array(numPerm).fill(0xffffffff)
  for (let i = 0; i < count; i++) {
    let h = 0x2545f491
    if (n === 0) h = 0x9e3779b9
    for (let j = 0; j < k && i + j < n; j++) h = Math.imul(h ^ (th[i + j] as number), 0x9e3779b1) ^ (h >>> 15)
    h = fmix(h)
    const bin = h & (numPerm - 1)
    const val = h >>> bits
    if (val < (mh[bin] as number)) mh[bin] = val
  }
  // densify: an empty bin takes the next non-empty bin's value, mixed with the distance
  let any = false
  for (let b = 0; b < numPerm; b++) if (mh[b] !== 0xffffffff) any = true
  if (any) {
    const filled = mh.slice()
    for (let b = 0; b < numPerm; b++) {
      if (filled[b] !== 0xffffffff) continue
      let d = 1
      while (filled[(b + d) & (numPerm - 1)] === 0xffffffff) d++
      mh[b] = fmix(((filled[(b + d) & (numPerm - 1)] as number) ^ Math.imul(d, 0x9e3779b9)) >>> 0) >>> bits
    }
  }

  const vec = new Float32Array(dims)
  for (let i = 0; i < n; i++) {
    const h1 = th[i] as number
    vec[h1 % dims] += (h1 & 0x80000000) !== 0 ? 1 : -1
    if (i + 1 < n) {
      const h2 = fmix(h1 ^ Math.imul(th[i + 1] as number, 0x27d4eb2d))
      vec[h2 % dims] += (h2 & 0x80000000) !== 0 ? 0.5 : -0.5
    }
  }
  let norm = 0
  for (let i = 0; i < dims; i++) norm += (vec[i] as number) ** 2
  norm = Math.sqrt(norm)
  if (norm > 0) for (let i = 0; i < dims; i++) vec[i] = (vec[i] as number) / norm
  return { minhash: mh, vector: vec, tokens: n }
}

/** sketch already-tokenized code (the tokens of code.ts tokenize), without re-lexing */
export function sketchFromTokens(code: string, toks: readonly Token[], opts: SketchOptions = {}): CodeSketch {
  const th = new Uint32Array(toks.length)
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i] as Token
    if (t.kind === 'nl') {
      th[i] = NL_HASH
      continue
    }
    let h = 0x811c9dc5
    for (let j = t.start; j < t.end; j++) {
      h ^= code.charCodeAt(j)
      h = Math.imul(h, 0x01000193)
    }
    th[i] = h >>> 0
  }
  return sketchHashes(th, opts)
}

/** sketch source code: tokens without comments and whitespace, numbers and strings kept */
export function sketchCode(code: string, language: Language | string, opts: SketchOptions = {}): CodeSketch {
  return sketchFromTokens(code, tokenize(code, language), opts)
}

/** normalized-code hash and sketch from a single lexing pass (what a new child needs before the novelty check) */
export function analyzeCode(
  code: string,
  language: Language | string,
  opts: SketchOptions = {},
): { codeHash: string; sketch: CodeSketch } {
  const toks = tokenize(code, language)
  return { codeHash: sha256Hex(normalizeTokens(code, toks, language)), sketch: sketchFromTokens(code, toks, opts) }
}

/** estimated Jaccard similarity of the two programs' shingle sets, in [0, 1] */
export function similarity(a: CodeSketch, b: CodeSketch): number {
  const x = a.minhash
  const y = b.minhash
  const n = Math.min(x.length, y.length)
  if (n === 0) return 0
  let eq = 0
  for (let i = 0; i < n; i++) if (x[i] === y[i]) eq++
  return eq / n
}

/** 1 − similarity */
export function codeDistance(a: CodeSketch, b: CodeSketch): number {
  return 1 - similarity(a, b)
}

/** exact Jaccard over token shingles (for tests and small inputs; O(tokens)) */
export function exactJaccard(a: string, b: string, language: Language | string, k = DEFAULT_SHINGLE): number {
  const { inter, union } = shingleOverlap(a, b, language, k)
  return union === 0 ? 1 : inter / union
}

function shingleOverlap(a: string, b: string, language: Language | string, k: number) {
  const sh = (code: string) => {
    const t = tokenize(code, language).map((x) => (x.kind === 'nl' ? '\n' : code.slice(x.start, x.end)))
    const s = new Set<string>()
    for (let i = 0; i + k <= Math.max(t.length, k); i++) s.add(t.slice(i, i + k).join('\u0001'))
    return s
  }
  const A = sh(a)
  const B = sh(b)
  let inter = 0
  for (const x of A) if (B.has(x)) inter++
  return { inter, union: A.size + B.size - inter }
}

/**
 * Programs of this many shingles or fewer are near-duplicates when their Jaccard similarity reaches
 * the threshold; a larger program is measured as if it had this many. One changed token changes up
 * to six shingles whatever the program's size, so the ratio alone made every focused edit of a
 * 10 KB program (similarity 0.997) or a 160 KB one (0.9998) a near-duplicate at the default 0.995:
 * measured this way, that default refuses what differs in at most one shingle, and 0.95 what
 * differs in under ten (a few tokens).
 */
export const NOVELTY_REFERENCE_SHINGLES = 200

/**
 * Whether `a` is a near-duplicate of `b` at `threshold`: their differing shingles are at most
 * (1 − threshold) of their union, the union counted up to NOVELTY_REFERENCE_SHINGLES.
 */
export function nearDuplicate(
  a: string,
  b: string,
  language: Language | string,
  threshold: number,
  k = DEFAULT_SHINGLE,
): boolean {
  const { inter, union } = shingleOverlap(a, b, language, k)
  if (union === 0) return true
  return union - inter <= (1 - threshold) * Math.min(union, NOVELTY_REFERENCE_SHINGLES)
}

export function sketchToJSON(s: CodeSketch): { minhash: string; vector: string; tokens: number } {
  return {
    minhash: Buffer.from(s.minhash.buffer, s.minhash.byteOffset, s.minhash.byteLength).toString('base64'),
    vector: Buffer.from(s.vector.buffer, s.vector.byteOffset, s.vector.byteLength).toString('base64'),
    tokens: s.tokens,
  }
}

export function sketchFromJSON(j: { minhash: string; vector: string; tokens: number }): CodeSketch {
  const a = Buffer.from(j.minhash, 'base64')
  const b = Buffer.from(j.vector, 'base64')
  // copy into fresh, aligned buffers
  const mh = new Uint32Array(a.byteLength / 4)
  new Uint8Array(mh.buffer).set(a)
  const v = new Float32Array(b.byteLength / 4)
  new Uint8Array(v.buffer).set(b)
  return { minhash: mh, vector: v, tokens: j.tokens }
}

// ---------------------------------------------------------------------------------------------
// LSH index

export interface LshParams {
  bands: number
  rows: number
}

/**
 * Bands × rows for a similarity threshold: the most rows per band (fewest false candidates to verify) such
 * that two sketches exactly at the threshold still share a band with probability ≥ `recall`.
 */
export function lshParamsFor(threshold: number, numPerm = DEFAULT_NUM_PERM, recall = 0.99): LshParams {
  let best: LshParams = { bands: numPerm, rows: 1 }
  for (let r = 1; r <= numPerm; r++) {
    const b = Math.floor(numPerm / r)
    if (b < 1) break
    if (lshCollisionProbability(threshold, { bands: b, rows: r }) >= recall) best = { bands: b, rows: r }
  }
  return best
}

/** probability that two sketches of similarity s share at least one band */
export function lshCollisionProbability(s: number, p: LshParams): number {
  return 1 - (1 - s ** p.rows) ** p.bands
}

export interface NoveltyHit {
  id: string
  similarity: number
}

export interface NoveltyIndexOptions {
  /** the similarity at and above which a program is a near-duplicate (default 0.95) */
  threshold?: number
  numPerm?: number
  /** upper bound on members compared per query (bounds the cost when a bucket is huge) */
  maxCandidates?: number
}

/**
 * Near-duplicate index over one island's (or a run's) members. Queries touch only members that share an
 * LSH band with the probe, at most `maxCandidates` of them, so their cost does not grow with the population.
 */
export class NoveltyIndex {
  readonly threshold: number
  readonly params: LshParams
  readonly maxCandidates: number
  private readonly numPerm: number
  private readonly ids: string[] = []
  private readonly sketches: Array<CodeSketch | null> = []
  private readonly slotOf = new Map<string, number>()
  private readonly free: number[] = []
  private readonly buckets: Array<Map<number, number[]>>
  private stamp: Uint32Array = new Uint32Array(0)
  private gen = 0

  constructor(opts: NoveltyIndexOptions = {}) {
    this.threshold = opts.threshold ?? 0.95
    this.numPerm = opts.numPerm ?? DEFAULT_NUM_PERM
    this.params = lshParamsFor(this.threshold, this.numPerm)
    this.maxCandidates = opts.maxCandidates ?? 512
    this.buckets = Array.from({ length: this.params.bands }, () => new Map<number, number[]>())
  }

  get size(): number {
    return this.slotOf.size
  }

  has(id: string): boolean {
    return this.slotOf.has(id)
  }

  private bandKey(mh: Uint32Array, band: number): number {
    const r = this.params.rows
    let h = 0x345678 + band
    for (let i = band * r; i < band * r + r; i++) h = fmix(h ^ (mh[i] as number)) ^ Math.imul(h, 0x27d4eb2d)
    return h >>> 0
  }

  add(id: string, sketch: CodeSketch): void {
    if (sketch.minhash.length < this.numPerm)
      throw new RangeError(`sketch has ${sketch.minhash.length} permutations, index needs ${this.numPerm}`)
    if (this.slotOf.has(id)) this.remove(id)
    const slot = this.free.length > 0 ? (this.free.pop() as number) : this.ids.length
    this.ids[slot] = id
    this.sketches[slot] = sketch
    this.slotOf.set(id, slot)
    for (let b = 0; b < this.params.bands; b++) {
      const key = this.bandKey(sketch.minhash, b)
      const m = this.buckets[b] as Map<number, number[]>
      const arr = m.get(key)
      if (arr) arr.push(slot)
      else m.set(key, [slot])
    }
  }

  remove(id: string): boolean {
    const slot = this.slotOf.get(id)
    if (slot === undefined) return false
    const sk = this.sketches[slot] as CodeSketch
    for (let b = 0; b < this.params.bands; b++) {
      const key = this.bandKey(sk.minhash, b)
      const m = this.buckets[b] as Map<number, number[]>
      const arr = m.get(key)
      if (!arr) continue
      const i = arr.indexOf(slot)
      if (i >= 0) {
        arr[i] = arr[arr.length - 1] as number
        arr.pop()
      }
      if (arr.length === 0) m.delete(key)
    }
    this.sketches[slot] = null
    this.slotOf.delete(id)
    this.free.push(slot)
    return true
  }

  /**
   * Members whose estimated similarity to `sketch` is ≥ minSimilarity (default: the threshold), best first.
   * `stopAtFirst` returns as soon as one is found (what a novelty check needs).
   */
  query(
    sketch: CodeSketch,
    opts: { minSimilarity?: number; limit?: number; stopAtFirst?: boolean; exclude?: string } = {},
  ): NoveltyHit[] {
    const minSim = opts.minSimilarity ?? this.threshold
    const limit = opts.limit ?? 10
    if (this.stamp.length < this.ids.length) {
      const s = new Uint32Array(Math.max(64, this.ids.length * 2))
      s.set(this.stamp)
      this.stamp = s
    }
    this.gen = (this.gen + 1) >>> 0
    if (this.gen === 0) {
      this.stamp.fill(0)
      this.gen = 1
    }
    const hits: NoveltyHit[] = []
    let checked = 0
    for (let b = 0; b < this.params.bands && checked < this.maxCandidates; b++) {
      const arr = (this.buckets[b] as Map<number, number[]>).get(this.bandKey(sketch.minhash, b))
      if (!arr) continue
      for (let i = 0; i < arr.length && checked < this.maxCandidates; i++) {
        const slot = arr[i] as number
        if (this.stamp[slot] === this.gen) continue
        this.stamp[slot] = this.gen
        const other = this.sketches[slot]
        if (!other) continue
        const id = this.ids[slot] as string
        if (id === opts.exclude) continue
        checked++
        const s = similarity(sketch, other)
        if (s >= minSim) {
          hits.push({ id, similarity: s })
          if (opts.stopAtFirst) return hits
        }
      }
    }
    hits.sort((x, y) => y.similarity - x.similarity || (x.id < y.id ? -1 : 1))
    return hits.slice(0, limit)
  }

  sketchOf(id: string): CodeSketch | undefined {
    const slot = this.slotOf.get(id)
    return slot === undefined ? undefined : (this.sketches[slot] ?? undefined)
  }
}

export interface NoveltyVerdict {
  novel: boolean
  /** the near-duplicate found, when not novel */
  nearest?: NoveltyHit
}

/**
 * Whether `sketch` is novel against `against`: no member with estimated similarity ≥ threshold
 * (default: the index's own threshold). `against` may also be a plain list (small sets, tests).
 */
export function isNovel(
  sketch: CodeSketch,
  against: NoveltyIndex | ReadonlyArray<{ id: string; sketch: CodeSketch }>,
  threshold?: number,
): NoveltyVerdict {
  if (against instanceof NoveltyIndex) {
    const hits = against.query(sketch, { minSimilarity: threshold ?? against.threshold, stopAtFirst: true })
    return hits.length > 0 ? { novel: false, nearest: hits[0] } : { novel: true }
  }
  const t = threshold ?? 0.95
  for (const m of against) {
    const s = similarity(sketch, m.sketch)
    if (s >= t) return { novel: false, nearest: { id: m.id, similarity: s } }
  }
  return { novel: true }
}

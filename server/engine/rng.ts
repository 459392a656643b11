// Seeded PRNG (xoshiro128**) whose whole state is four uint32 words, so the orchestrator can persist
// it next to a run and a resumed run draws exactly the numbers an uninterrupted one would have.

export interface RngState {
  /** the four xoshiro128** state words (uint32) */
  s: [number, number, number, number]
}

const TWO_POW_32 = 4294967296

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

/** splitmix32: spreads a weak seed (0, 1, 2…) over the whole state so nearby seeds give unrelated streams */
function splitmix32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x9e3779b9) >>> 0
    let z = a
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad)
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97)
    return (z ^ (z >>> 15)) >>> 0
  }
}

/** FNV-1a over UTF-16 units, then mixed: turns string seeds ("run-42", "island-3") into 32 bits */
export function hashSeed(seed: string | number): number {
  if (typeof seed === 'number') {
    // fold the high part in so that large seeds (timestamps) are not truncated to their low bits
    const hi = Math.floor(seed / TWO_POW_32)
    return (seed ^ Math.imul(hi, 0x85ebca6b)) >>> 0
  }
  let h = 0x811c9dc5
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

export class Rng {
  private s0: number
  private s1: number
  private s2: number
  private s3: number

  constructor(seed: string | number = 0) {
    const sm = splitmix32(hashSeed(seed))
    this.s0 = sm()
    this.s1 = sm()
    this.s2 = sm()
    this.s3 = sm()
    // the all-zero state is a fixed point of xoshiro
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1
  }

  static fromState(state: RngState): Rng {
    const r = new Rng(0)
    r.setState(state)
    return r
  }

  getState(): RngState {
    return { s: [this.s0, this.s1, this.s2, this.s3] }
  }

  setState(state: RngState): void {
    const [a, b, c, d] = state.s
    this.s0 = a >>> 0
    this.s1 = b >>> 0
    this.s2 = c >>> 0
    this.s3 = d >>> 0
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1
  }

  /** an independent generator derived from this one's current state and a label (does not advance this one) */
  fork(label: string | number): Rng {
    const mixed = hashSeed(label) ^ this.s0 ^ rotl(this.s1, 7) ^ rotl(this.s2, 13) ^ rotl(this.s3, 19)
    return new Rng(mixed >>> 0)
  }

  /** uniform uint32 */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0
    const t = (this.s1 << 9) >>> 0
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    this.s0 >>>= 0
    this.s1 >>>= 0
    this.s2 >>>= 0
    return result
  }

  /** uniform in [0, 1) */
  next(): number {
    return this.nextU32() / TWO_POW_32
  }

  /** uniform integer in [0, n); n ≥ 1 */
  int(n: number): number {
    if (!(n >= 1)) throw new RangeError(`Rng.int: n must be ≥ 1, got ${n}`)
    return Math.floor(this.next() * Math.floor(n))
  }

  /** uniform in [a, b) */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next()
  }

  /** true with probability p */
  chance(p: number): boolean {
    return this.next() < p
  }

  /** standard normal (Box–Muller; no cached spare so the state stays four words) */
  normal(mean = 0, sd = 1): number {
    let u = this.next()
    while (u <= 0) u = this.next()
    const v = this.next()
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick: empty array')
    return items[this.int(items.length)] as T
  }

  /**
   * Index drawn with probability proportional to weights[i]. Negative, NaN and infinite weights count as 0;
   * when every weight is 0 the draw is uniform (a caller that zeroed everything still gets an answer).
   */
  weightedIndex(weights: ArrayLike<number>): number {
    const n = weights.length
    if (n === 0) throw new RangeError('Rng.weightedIndex: no weights')
    let total = 0
    for (let i = 0; i < n; i++) {
      const w = weights[i] as number
      if (w > 0 && Number.isFinite(w)) total += w
    }
    if (!(total > 0)) return this.int(n)
    let r = this.next() * total
    let last = -1
    for (let i = 0; i < n; i++) {
      const w = weights[i] as number
      if (!(w > 0 && Number.isFinite(w))) continue
      last = i
      r -= w
      if (r < 0) return i
    }
    return last
  }

  weightedPick<T>(items: readonly T[], weights: ArrayLike<number>): T {
    if (items.length !== weights.length) throw new RangeError('Rng.weightedPick: items and weights differ in length')
    return items[this.weightedIndex(weights)] as T
  }

  /** Fisher–Yates in place; returns the same array */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const tmp = items[i] as T
      items[i] = items[j] as T
      items[j] = tmp
    }
    return items
  }

  /** k distinct indices from [0, n) in draw order (Floyd's algorithm: O(k) memory, no n-sized array) */
  sampleIndices(n: number, k: number): number[] {
    const m = Math.min(k, n)
    if (m <= 0) return []
    if (m * 3 > n) return this.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, m)
    const chosen = new Set<number>()
    const out: number[] = []
    for (let j = n - m; j < n; j++) {
      const t = this.int(j + 1)
      const v = chosen.has(t) ? j : t
      chosen.add(v)
      out.push(v)
    }
    return out
  }

  /** k distinct items (fewer when the array is shorter) */
  sample<T>(items: readonly T[], k: number): T[] {
    return this.sampleIndices(items.length, k).map((i) => items[i] as T)
  }
}

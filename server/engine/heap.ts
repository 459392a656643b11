// A binary heap with a caller-supplied order; used for eviction (worst first) and bounded top-n scans.

export class Heap<T> {
  private readonly items: T[] = []
  private readonly before: (a: T, b: T) => boolean
  /** `before(a, b)`: a comes out before b */
  constructor(before: (a: T, b: T) => boolean) {
    this.before = before
  }

  get size(): number {
    return this.items.length
  }

  peek(): T | undefined {
    return this.items[0]
  }

  push(x: T): void {
    const a = this.items
    a.push(x)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.before(a[i] as T, a[p] as T)) break
      const t = a[i] as T
      a[i] = a[p] as T
      a[p] = t
      i = p
    }
  }

  pop(): T | undefined {
    const a = this.items
    if (a.length === 0) return undefined
    const top = a[0] as T
    const last = a.pop() as T
    if (a.length > 0) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && this.before(a[l] as T, a[m] as T)) m = l
        if (r < a.length && this.before(a[r] as T, a[m] as T)) m = r
        if (m === i) break
        const t = a[i] as T
        a[i] = a[m] as T
        a[m] = t
        i = m
      }
    }
    return top
  }

  clear(): void {
    this.items.length = 0
  }

  toArray(): T[] {
    return this.items.slice()
  }
}

/**
 * The n best items of an iterable, best first, in O(N log n): a min-heap of the current top n.
 * `better(a, b)` is the strict order; ties keep the earlier item.
 */
export function topN<T>(items: Iterable<T>, n: number, better: (a: T, b: T) => boolean): T[] {
  if (n <= 0) return []
  // heap root = the worst of the kept items; carry the arrival order to break ties deterministically
  const h = new Heap<{ x: T; o: number }>((a, b) => better(b.x, a.x) || (!better(a.x, b.x) && a.o > b.o))
  let o = 0
  for (const x of items) {
    const e = { x, o: o++ }
    if (h.size < n) h.push(e)
    else {
      const worst = h.peek() as { x: T; o: number }
      if (better(x, worst.x)) {
        h.pop()
        h.push(e)
      }
    }
  }
  return h
    .toArray()
    .sort((a, b) => (better(a.x, b.x) ? -1 : better(b.x, a.x) ? 1 : a.o - b.o))
    .map((e) => e.x)
}

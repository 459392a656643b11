// A small in-process cache for the dashboard's heavier reads (downsampled series, the MAP-Elites
// grid, the lineage). Keys carry what makes an answer current (the run's evaluation count or
// cursor), so a finished run is computed once and many watchers of a live one share each answer
// for a moment. Bounded by entries and by age.
export class TtlCache<V> {
  private readonly map = new Map<string, { at: number; value: Promise<V>; ttl: number }>()
  constructor(
    private readonly ttlMs: number,
    private readonly max = 200,
  ) {}

  /** `ttlMs`: this entry's own lifetime (a finished run's answer: keepFor) */
  get(key: string, make: () => Promise<V>, now = Date.now(), ttlMs = this.ttlMs): Promise<V> {
    const hit = this.map.get(key)
    if (hit && now - hit.at < hit.ttl) return hit.value
    const value = make()
    this.map.delete(key)
    this.map.set(key, { at: now, value, ttl: ttlMs })
    // a failure is not remembered
    value.catch(() => this.map.get(key)?.value === value && this.map.delete(key))
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value!)
    return value
  }

  clear() {
    this.map.clear()
  }
}

/**
 * The freshness part of a cache key for a run: its evaluation count once it is finished (nothing
 * changes any more), else a 3-second time slot (watchers of a live run share answers that long).
 */
/** how long an answer for a run version lives: a finished run's never changes (its key says so) */
export const keepFor = (version: string): number | undefined => (version.startsWith('final:') ? 600_000 : undefined)

export async function runVersion(
  db: {
    prisma: {
      run: {
        findUnique(a: {
          where: { id: string }
          select: { status: true; evaluations: true }
        }): Promise<{ status: string; evaluations: number } | null>
      }
    }
  },
  runId: string,
  now = Date.now(),
): Promise<string> {
  const r = await db.prisma.run.findUnique({ where: { id: runId }, select: { status: true, evaluations: true } })
  if (!r) return 'missing'
  return ['completed', 'stopped', 'failed'].includes(r.status)
    ? `final:${r.evaluations}`
    : `live:${Math.floor(now / 3000)}`
}

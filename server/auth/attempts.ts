/**
 * At most `max` events per key within a sliding window, in this process: a user's wrong current
 * passwords (sign-in has its own limit, this check had none: an unlimited password oracle for
 * whoever held a session) and the test messages a user has the server send.
 */
export class AttemptWindow {
  private readonly seen = new Map<string, number[]>()

  constructor(
    readonly max: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** seconds until `key` may try again, or null when it may now */
  waitS(key: string): number | null {
    const t = this.now()
    const recent = (this.seen.get(key) ?? []).filter((at) => t - at < this.windowMs)
    if (recent.length) this.seen.set(key, recent)
    else this.seen.delete(key)
    return recent.length < this.max ? null : Math.ceil((recent[0]! + this.windowMs - t) / 1000)
  }

  record(key: string) {
    const list = this.seen.get(key) ?? []
    list.push(this.now())
    this.seen.set(key, list)
    // a bound on what many keys hold: the oldest key goes first
    if (this.seen.size > 10_000) this.seen.delete(this.seen.keys().next().value!)
  }

  clear(key: string) {
    this.seen.delete(key)
  }
}

/** one window per server (app services): two apps in one process (tests) keep theirs apart */
export function windowFor(owner: object, windows: WeakMap<object, AttemptWindow>, make: () => AttemptWindow) {
  let w = windows.get(owner)
  if (!w) windows.set(owner, (w = make()))
  return w
}

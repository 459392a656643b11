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

interface LockEntry {
  /** when the failures still within the window happened */
  failures: number[]
  /** attempts let through that have not answered yet */
  pending: number
  lockedUntil: number
  /** locks in a row: each one lasts twice as long as the one before */
  strikes: number
}

/**
 * Failed attempts per key (a sign-in's email, from whatever address), in this process: `max`
 * failures within `windowMs` lock the key for `lockMs`; a failure after a lock ends, before the
 * key has been quiet for a window, locks it again for twice as long, up to `maxLockMs`, so a
 * guesser gets one try per lock while nobody waits longer than `maxLockMs` after the last try.
 * Attempts in flight count until they answer: parallel guesses cannot all pass before the first
 * one fails. A success forgets the key.
 */
export class FailureLock {
  private readonly keys = new Map<string, LockEntry>()

  constructor(
    readonly max: number,
    readonly windowMs: number,
    readonly lockMs: number,
    readonly maxLockMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 50_000,
  ) {}

  /** seconds `key` must wait, or null when it may try now (the try then counts until `settle`) */
  begin(key: string): number | null {
    const t = this.now()
    const e = this.current(key, t)
    this.keep(key, e)
    if (t < e.lockedUntil) return Math.ceil((e.lockedUntil - t) / 1000)
    // tries already in flight would lock the key if they failed: the next waits for their answers
    if (e.pending >= (e.strikes > 0 ? 1 : this.max - e.failures.length)) return 1
    e.pending++
    return null
  }

  /** how an attempt `begin` let through ended; `other`: not a password check (a malformed request, another limit) */
  settle(key: string, outcome: 'failure' | 'success' | 'other') {
    const e = this.keys.get(key)
    if (!e) return
    const t = this.now()
    e.pending = Math.max(0, e.pending - 1)
    if (outcome === 'success') Object.assign(e, { failures: [], strikes: 0, lockedUntil: 0 })
    if (outcome === 'failure') {
      this.forgive(e, t)
      e.failures.push(t)
      if (e.strikes > 0 || e.failures.length >= this.max) {
        e.lockedUntil = t + Math.min(this.lockMs * 2 ** Math.min(e.strikes, 30), this.maxLockMs)
        e.strikes++
        e.failures = []
      }
    }
    if (!e.pending && !e.failures.length && !e.strikes && e.lockedUntil <= t) this.keys.delete(key)
  }

  private current(key: string, t: number): LockEntry {
    const e = this.keys.get(key) ?? { failures: [], pending: 0, lockedUntil: 0, strikes: 0 }
    this.forgive(e, t)
    return e
  }

  private forgive(e: LockEntry, t: number) {
    e.failures = e.failures.filter((at) => t - at < this.windowMs)
    if (e.strikes && t - e.lockedUntil >= this.windowMs) e.strikes = 0
  }

  private keep(key: string, e: LockEntry) {
    // most recently tried last: past the bound, the key idle longest goes first
    this.keys.delete(key)
    this.keys.set(key, e)
    if (this.keys.size > this.maxKeys) this.keys.delete(this.keys.keys().next().value!)
  }
}

// Where the console may send a browser after sign-in: a path of this console, nothing else. Pure (the
// login page runs it in the browser; the HTTP server runs it before serving /login).

export const DEFAULT_NEXT = '/runs'
const BASE = 'http://console.invalid'

/**
 * `next` when it names a page of this console, else null. Browsers treat `\` as `/` and drop tabs and
 * newlines, so `/\evil.com`, `/\t/evil.com` and their percent-encoded forms (`/%5Cevil.com`,
 * `/%2F%2Fevil.com`, encoded twice…) are other origins; so is anything that resolves elsewhere.
 */
export function safeNextPath(next: string | null | undefined): string | null {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2000) return null
  // raw: browsers drop tabs and newlines (and trim spaces) before they parse
  if (/\s/.test(next)) return null
  let v = next
  for (let i = 0; i < 5; i++) {
    if (!v.startsWith('/') || v.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(v)) return null
    let decoded: string
    try {
      decoded = decodeURIComponent(v)
    } catch {
      return null
    }
    if (decoded === v) break
    v = decoded
    if (i === 4) return null // still encoded after five rounds: not a path anyone types
  }
  try {
    const url = new URL(next, BASE)
    if (url.origin !== BASE) return null
  } catch {
    return null
  }
  return next
}

export const safeNext = (next: string | null | undefined) => safeNextPath(next) ?? DEFAULT_NEXT

/**
 * Why the console sent the browser to the login page, as the page says it: a page left open after
 * its session ended would fail its next call with no word of why.
 */
export const LOGIN_NOTICES = {
  'signed-out': 'Your session ended (signed out, expired, or the account was disabled): sign in again.',
} as const
export type LoginNotice = keyof typeof LOGIN_NOTICES

/** The login page with a notice; `next` (where the user was) kept when it is a page of this console. */
export function loginUrl(notice: LoginNotice, next?: string | null): string {
  const q = new URLSearchParams({ notice })
  const back = safeNextPath(next)
  if (back && !/^\/login(\/|\?|$)/.test(back)) q.set('next', back)
  return `/login?${q}`
}

/** The notice's text for the login page's `notice` parameter; null for none or one it does not know. */
export function loginNoticeText(param: string | null | undefined): string | null {
  return param && Object.hasOwn(LOGIN_NOTICES, param) ? LOGIN_NOTICES[param as LoginNotice] : null
}

/**
 * Why a sign-in was refused, for the login form: a wrong password or a disabled account alike (no
 * telling which), and the sign-in limits with their wait (the server sends it as x-retry-after): per
 * address and per email alike, and the same for an email with no account, so the text names both.
 */
export function signInErrorText(status: number, message: string | undefined, retryAfterS: string | null): string {
  if (status === 401) return 'Wrong email or password, or the account is disabled.'
  if (status === 429) {
    const s = Number(retryAfterS)
    // an email's lock lasts up to 15 min: 900 s is harder to read than minutes
    const wait =
      !Number.isFinite(s) || s <= 0 ? 'in a minute' : s >= 120 ? `in ${Math.ceil(s / 60)} min` : `in ${Math.ceil(s)} s`
    return `Too many sign-in attempts from this address or for this email: try again ${wait}.`
  }
  return message || 'Sign-in failed.'
}

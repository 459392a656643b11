// Sign-in sessions as the Settings page shows them: a browser and system a person recognises in
// place of a user-agent string, the session asking first. Pure, so the page only draws.

export interface SessionLike {
  id: string
  createdAt: Date | string
  renewedAt: Date | string
  expiresAt: Date | string
  userAgent: string | null
  ipAddress: string | null
  current: boolean
}

export interface SessionRow {
  id: string
  /** e.g. "Firefox 128 on macOS" */
  device: string
  address: string
  createdAt: Date
  renewedAt: Date
  expiresAt: Date
  current: boolean
}

// order matters: Edge and Opera say Chrome too, Chrome says Safari too
const BROWSERS: Array<[RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
  [/\bOPR\/(\d+)/, 'Opera'],
  [/\bFirefox\/(\d+)/, 'Firefox'],
  [/\bFxiOS\/(\d+)/, 'Firefox'],
  [/\bCriOS\/(\d+)/, 'Chrome'],
  [/\bChrom(?:e|ium)\/(\d+)/, 'Chrome'],
  [/\bVersion\/(\d+)(?:[.\d]*) (?:Mobile\/\S+ )?Safari\//, 'Safari'],
  [/^curl\/(\d+)/, 'curl'],
  [/^node(?:-fetch)?\b/, 'Node.js'],
]

const SYSTEMS: Array<[RegExp, string]> = [
  [/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\b(?:Macintosh|Mac OS X)\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
]

/** A user agent as a person names it: "Chrome 126 on Windows"; the raw text, cut short, when unrecognised. */
export function browserOf(userAgent: string | null | undefined): string {
  const ua = (userAgent ?? '').trim()
  if (!ua) return 'unknown browser'
  let browser: string | null = null
  for (const [re, name] of BROWSERS) {
    const m = re.exec(ua)
    if (m) {
      browser = m[1] ? `${name} ${m[1]}` : name
      break
    }
  }
  const system = SYSTEMS.find(([re]) => re.test(ua))?.[1] ?? null
  if (browser && system) return `${browser} on ${system}`
  if (browser) return browser
  if (system) return `a browser on ${system}`
  return ua.length > 60 ? `${ua.slice(0, 59)}…` : ua
}

/** The rows of the sessions table: this session first, then the newest. */
export function sessionRows(sessions: SessionLike[]): SessionRow[] {
  return sessions
    .map((s) => ({
      id: s.id,
      device: browserOf(s.userAgent),
      address: s.ipAddress || 'unknown address',
      createdAt: new Date(s.createdAt),
      renewedAt: new Date(s.renewedAt),
      expiresAt: new Date(s.expiresAt),
      current: s.current,
    }))
    .sort((a, b) => Number(b.current) - Number(a.current) || b.createdAt.getTime() - a.createdAt.getTime())
}

/** What "Sign out everywhere else" did, in a line. */
export function endedText(sessionsEnded: number): string {
  if (sessionsEnded === 0) return 'No other session was signed in.'
  return `Signed out ${sessionsEnded} other session${sessionsEnded === 1 ? '' : 's'}.`
}

/** What a password change ended besides the old password, in a line. */
export function passwordChangedText(r: { sessionsEnded: number; tokensRevoked: number }): string {
  const ended = [
    r.sessionsEnded ? `${r.sessionsEnded} other session${r.sessionsEnded === 1 ? '' : 's'} signed out` : '',
    r.tokensRevoked ? `${r.tokensRevoked} CLI token${r.tokensRevoked === 1 ? '' : 's'} revoked` : '',
  ].filter(Boolean)
  return `Password changed${ended.length ? `: ${ended.join(', ')}` : ''}. This session stays signed in.`
}

// One-line, human-readable logs on stderr (stdout is kept for machine output such as --json).
export type Level = 'debug' | 'info' | 'warn' | 'error'
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug(msg: string): void
  info(msg: string): void
  warn(msg: string): void
  error(msg: string): void
}

export function createLogger(name = 'fm-agent', level: Level = (process.env.FM_LOG as Level) || 'info'): Logger {
  const min = ORDER[level] ?? 20
  const out = (l: Level, msg: string) => {
    if (ORDER[l] < min) return
    const tag = l === 'info' ? '' : ` ${l}`
    process.stderr.write(`${name}${tag}: ${msg}\n`)
  }
  return {
    debug: (m) => out('debug', m),
    info: (m) => out('info', m),
    warn: (m) => out('warn', m),
    error: (m) => out('error', m),
  }
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} }

/** SQLSTATE classes of the database's surroundings: connection (08), resources such as a full disk (53), operator intervention such as a shutdown (57), system I/O (58) */
const OUTSIDE_SQLSTATE = /^(08|53|57|58)[0-9A-Z]{3}$/
const OUTSIDE_ERRNO = new Set([
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EIO',
  'ENOMEM',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
])

/** Whether an error comes from the machine or the database's surroundings (a full disk, a lost connection), not from a bug. */
export function fromOutside(e: unknown): boolean {
  for (let x = e as { code?: unknown; originalCode?: unknown; cause?: unknown } | undefined, i = 0; x && i < 4; i++) {
    for (const code of [x.code, x.originalCode])
      if (typeof code === 'string' && (OUTSIDE_SQLSTATE.test(code) || OUTSIDE_ERRNO.has(code))) return true
    x = x.cause as typeof x
  }
  return false
}

/**
 * An error in the log after `prefix`: one from outside (fromOutside) by its message alone, which
 * says what is wrong, its stack at debug level; anything else with its stack, which a bug report needs.
 */
export function logError(log: Logger, prefix: string, e: unknown) {
  if (!(e instanceof Error)) return log.error(`${prefix}${String(e)}`)
  if (!fromOutside(e)) return log.error(`${prefix}${e.stack ?? e.message}`)
  log.error(`${prefix}${e.message}`)
  if (e.stack) log.debug(e.stack)
}

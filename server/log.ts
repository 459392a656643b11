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

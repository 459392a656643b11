// Argument parsing for fm-agent commands: strict (an unknown flag is an error, exit code 2).
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { PGDATA_DIR } from '../db/data-dir.ts'
import { PrerequisiteError } from '../errors.ts'

export class UsageError extends Error {}

/**
 * Bad input that is not about the command line's shape (a file that is not an export, an id already
 * taken, a folder that is not a problem): exit code 2 as a usage error, without the usage text.
 */
export class InputError extends UsageError {}

/**
 * An error of a request the CLI made for the user: bad input is a usage error (exit code 2); a machine
 * that lacks a problem's prerequisites is a failure (exit code 1), in-process or from a server.
 */
export function requestError(e: Error): Error {
  const code = (e as { data?: { code?: string } }).data?.code
  return e instanceof PrerequisiteError || code === 'PRECONDITION_FAILED' ? e : new InputError(e.message)
}

export type Options = NonNullable<ParseArgsConfig['options']>

export const GLOBAL_OPTIONS = {
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options

/** `--max-evals -5` as `--max-evals=-5`: a negative number is a value, which the option's own check refuses with its range */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const name = /^--([^=]+)$/.exec(argv[i]!)?.[1]
    if (name && options[name]?.type === 'string' && /^-\d+(\.\d+)?$/.test(argv[i + 1] ?? '')) {
      out.push(`${argv[i]}=${argv[++i]}`)
    } else out.push(argv[i]!)
  }
  return out
}

export function parse<O extends Options>(command: string, argv: string[], options: O, maxPositionals = 0) {
  try {
    const all: Options = { ...GLOBAL_OPTIONS, ...options }
    const r = parseArgs({
      args: joinNegativeValues(argv, options),
      options: all,
      allowPositionals: true,
      strict: true,
      tokens: true,
    })
    if (r.positionals.length > maxPositionals) {
      throw new UsageError(`unexpected argument "${r.positionals[maxPositionals]}" for "${command}"`)
    }
    // a value given twice is an edited command line whose first value would be dropped without a word
    const seen = new Set<string>()
    for (const t of r.tokens ?? []) {
      if (t.kind !== 'option' || all[t.name]?.multiple || all[t.name]?.type !== 'string') continue
      if (seen.has(t.name)) throw new UsageError(`${command}: --${t.name} is given twice; give it once`)
      seen.add(t.name)
    }
    return r as { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] }
  } catch (e) {
    if (e instanceof UsageError) throw e
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, '')
    throw new UsageError(`${command}: ${msg.charAt(0).toLowerCase()}${msg.slice(1)}`)
  }
}

export function intOption(name: string, v: unknown, min: number, max: number): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got "${v}")`)
  return n
}

/**
 * The data folder of a command that only reads what runs made there (runs, export, held-out,
 * resume): one that does not exist is a mistyped --data-dir or FM_DATA_DIR, named as such, not a
 * new empty database that silently has no runs.
 */
export function existingDataDir(dir: string, databaseUrl: string | undefined): string {
  if (databaseUrl || existsSync(join(dir, PGDATA_DIR))) return dir
  throw new InputError(
    `no data folder at ${dir}: nothing has run there (check --data-dir or FM_DATA_DIR; fm-agent start, run and import make one)`,
  )
}

// pglite-prisma-adapter 0.6 predates Prisma 6.19's argument encoding: Prisma now sends Bytes as
// base64 strings and DateTime as ISO strings, which adapter-pg converts and this adapter passed
// through (a bytea insert failed). Convert them the way adapter-pg does, once, on the shared
// query path (transactions included).
import { PrismaPGlite } from 'pglite-prisma-adapter'
import type { PGlite } from '@electric-sql/pglite'

interface ArgType {
  scalarType?: string
  dbType?: string
  arity?: string
}

function pad(n: number, z = 2) {
  return String(n).padStart(z, '0')
}

function mapArg(arg: unknown, t: ArgType | undefined): unknown {
  if (arg === null || !t) return arg
  if (Array.isArray(arg) && t.arity === 'list') return arg.map((v) => mapArg(v, t))
  if (typeof arg === 'string' && t.scalarType === 'datetime') arg = new Date(arg)
  if (arg instanceof Date) {
    const d = arg
    const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
    if (t.dbType === 'DATE') return date
    const ms = d.getUTCMilliseconds()
    const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${ms ? '.' + pad(ms, 3) : ''}`
    return t.dbType === 'TIME' || t.dbType === 'TIMETZ' ? time : `${date} ${time}`
  }
  if (typeof arg === 'string' && t.scalarType === 'bytes') return new Uint8Array(Buffer.from(arg, 'base64'))
  if (Array.isArray(arg) && t.scalarType === 'bytes') return new Uint8Array(arg as number[])
  return arg
}

/**
 * Prisma words a failed raw query from the driver's `originalCode` and `originalMessage`, which
 * adapter-pg sets and this adapter does not: every raw SQL error in embedded mode read
 * "Code: `N/A`. Message: `undefined`". They are added from PostgreSQL's own code and message.
 */
function withOriginal(e: unknown): never {
  const cause = (e as { cause?: { kind?: string; code?: string; message?: string } } | null)?.cause
  if (cause?.kind === 'postgres')
    Object.assign(cause, { originalCode: cause.code, originalMessage: cause.message, ...cause })
  throw e
}

let patched = false

export async function createPgliteAdapter(pglite: PGlite): Promise<PrismaPGlite> {
  const factory = new PrismaPGlite(pglite)
  if (!patched) {
    // connect() only wraps the client; its prototype's prototype is the shared queryable
    const adapter = await factory.connect()
    const proto = Object.getPrototypeOf(Object.getPrototypeOf(adapter)) as {
      performIO(query: { sql: string; args: unknown[]; argTypes?: ArgType[] }): Promise<unknown>
    }
    const performIO = proto.performIO
    if (typeof performIO !== 'function') throw new Error('pglite-prisma-adapter changed shape: performIO not found')
    proto.performIO = function (query) {
      const args = query.args.map((a, i) => mapArg(a, query.argTypes?.[i]))
      return performIO.call(this, { ...query, args }).catch(withOriginal)
    }
    patched = true
  }
  return factory
}

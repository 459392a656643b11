// What a PostgreSQL failure means for the person who started the process: where (host:port/db,
// never the password), what went wrong and what to change. Light on purpose: the worker imports
// it, and a worker must not load the embedded database or the Prisma client.

/** A failure to open the database, with a message that names the problem and the fix. */
export class DatabaseOpenError extends Error {
  constructor(
    message: string,
    /** the driver's error code (ECONNREFUSED, 57P03…), when there was one */
    readonly code?: string,
  ) {
    super(message)
  }
}

export function describeUrl(url: string): string {
  try {
    const u = new URL(url)
    return `PostgreSQL at ${u.hostname}:${u.port || 5432}/${u.pathname.slice(1)}`
  } catch {
    return 'PostgreSQL (unparseable DATABASE_URL)'
  }
}

/** error codes that say this role may not (or no longer) connect: a retry with the same URL cannot help */
export const AUTH_CODES: ReadonlySet<string> = new Set(['28P01', '28000'])

export function explainPgError(e: unknown, label: string): DatabaseOpenError {
  const err = e as NodeJS.ErrnoException & { code?: string }
  const hints: Record<string, string> = {
    ECONNREFUSED: 'connection refused: is PostgreSQL running there? check DATABASE_URL',
    ENOTFOUND: 'host not found: check the host name in DATABASE_URL',
    ETIMEDOUT: 'connection timed out: check the host, port and firewall',
    '28P01': 'password authentication failed: check the user and password in DATABASE_URL',
    '28000': 'the server refused this user: check DATABASE_URL and pg_hba.conf',
    '3D000': 'the database does not exist: create it (createdb) or fix DATABASE_URL',
  }
  const hint = (err.code && hints[err.code]) || err.message || String(e)
  return new DatabaseOpenError(`${label}: ${hint}`, err.code)
}

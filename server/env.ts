// Environment variables, validated once at start-up: a bad value stops the process with a
// one-line message naming the variable, instead of failing later somewhere else.
import { z } from 'zod'

const port = z.coerce.number().int().min(0).max(65535)

export const EnvSchema = z.object({
  DATABASE_URL: z.string().min(1).optional(),
  FM_DATA_DIR: z.string().min(1).optional(),
  FM_HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  FM_WORKERS: z.coerce.number().int().min(0).max(256).optional(),
  FM_ADMIN_EMAIL: z.email().optional(),
  FM_ADMIN_PASSWORD: z.string().min(10, 'FM_ADMIN_PASSWORD needs at least 10 characters').max(256).optional(),
  FM_AUTH_SECRET: z.string().min(32, 'FM_AUTH_SECRET needs at least 32 characters').optional(),
  /** the address users open, when it is not http://host:port (a proxy with https) */
  FM_PUBLIC_URL: z.url().optional(),
  /** a reverse proxy in front sets X-Forwarded-For: trust its last entry as the client's address */
  FM_TRUST_PROXY: z
    .enum(['0', '1', 'true', 'false'])
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
  /** password sign-in attempts allowed per client per minute */
  FM_SIGNIN_LIMIT: z.coerce.number().int().min(1).max(100_000).default(20),
  /** failed password sign-ins per email (from any address) within 15 min before the email is locked for a while */
  FM_SIGNIN_ACCOUNT_LIMIT: z.coerce.number().int().min(1).max(10_000).default(10),
  FM_LOG: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** seconds between a headless run's progress lines (default 1 on a terminal, 10 in a log file) */
  FM_PROGRESS_S: z.coerce.number().min(0.1).max(3600).optional(),
})
export type Env = z.infer<typeof EnvSchema>

export class EnvError extends Error {}

export function readEnv(source: Record<string, string | undefined> = process.env): Env {
  const blankToUndefined = Object.fromEntries(Object.entries(source).map(([k, v]) => [k, v === '' ? undefined : v]))
  const r = EnvSchema.safeParse(blankToUndefined)
  if (!r.success) {
    const i = r.error.issues[0]
    throw new EnvError(`environment variable ${i.path.join('.')}: ${i.message}`)
  }
  return r.data
}

import { randomBytes } from 'node:crypto'
import { createWorkerRole, dropWorkerRole } from '../../queue/roles.ts'
import { parse, UsageError } from '../args.ts'
import type { Command } from '../main.ts'

// A worker machine gets its own PostgreSQL role that can use the job queue and read problem bundles,
// nothing else: a compromised worker box cannot read runs, users or candidates.
export const workerRole: Command = {
  summary: 'server mode: the database role of a worker machine: worker-role create NAME | drop NAME',
  usage:
    'fm-agent worker-role create NAME [--password P | --new-password] [--json] | fm-agent worker-role drop NAME [--force]   (needs DATABASE_URL of an admin role)\n' +
    '  create on an existing role renews its grants and keeps its password (its workers stay connected);\n' +
    '  --new-password (or --password) gives it a new one, which cuts off the workers using the old one\n' +
    '  drop refuses while a worker is connected with the role (stop it first); --force drops it anyway, and the\n' +
    '  workers on it lose the database and stop by themselves (exit code 1) after a few refused heartbeats',
  async run({ argv, env, out }) {
    const { values, positionals } = parse(
      'worker-role',
      argv,
      {
        password: { type: 'string' },
        'new-password': { type: 'boolean' },
        json: { type: 'boolean' },
        force: { type: 'boolean' },
      },
      2,
    )
    const [sub, name] = positionals
    if (sub !== 'create' && sub !== 'drop')
      throw new UsageError(sub ? `unknown subcommand "worker-role ${sub}"` : 'missing subcommand (create or drop)')
    if (!name) throw new UsageError('missing the role name (lower-case letters, digits and _)')
    if (!env.DATABASE_URL)
      throw new UsageError(
        'worker roles live in the server-mode database: set DATABASE_URL (a role that may create roles)',
      )
    if (sub === 'drop') {
      await dropWorkerRole(env.DATABASE_URL, name, { force: !!values.force })
      out(values.json ? JSON.stringify({ dropped: name }) : `dropped the worker role ${name}`)
      return 0
    }
    if (values.password !== undefined && values['new-password'])
      throw new UsageError('--password and --new-password exclude each other')
    const password =
      (values.password as string | undefined) ?? (values['new-password'] ? randomBytes(18).toString('base64url') : null)
    const r = await createWorkerRole(env.DATABASE_URL, name, password).catch((e: Error) => {
      throw /role name/.test(e.message) ? new UsageError(e.message) : e
    })
    out(
      values.json
        ? JSON.stringify(r)
        : r.passwordKept
          ? `worker role ${r.role} exists: its grants are renewed and its password is kept (its workers stay connected; PostgreSQL keeps only a hash, so it cannot be shown).\nOn a worker machine: DATABASE_URL='${r.databaseUrl}' with the role's password; --new-password gives it a new one, cutting off the workers on the old one`
          : `worker role ${r.role} ready: on the worker machine run\n  DATABASE_URL='${r.databaseUrl}' fm-agent worker [--concurrency N] [--gpu]`,
    )
    return 0
  },
}

import { connectApi } from '../../api/client.ts'
import { Role } from '../../auth/roles.ts'
import { InputError, parse, UsageError } from '../args.ts'
import type { Command } from '../main.ts'

export const user: Command = {
  summary: 'manage console users: user create --email E --role viewer|expert|admin',
  usage: 'fm-agent user create --email E --role viewer|expert|admin [--name N] [--json]',
  async run({ argv, env, log, dataDir, out }) {
    const { values, positionals } = parse(
      'user',
      argv,
      { email: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } },
      1,
    )
    if (positionals[0] !== 'create')
      throw new UsageError(
        positionals[0] ? `unknown subcommand "user ${positionals[0]}"` : 'missing subcommand (create)',
      )
    if (!values.email) throw new UsageError('--email is required')
    const role = Role.safeParse(values.role)
    if (!role.success) throw new UsageError(`--role must be one of ${Role.options.join(', ')}`)
    const api = await connectApi({ dataDir: dataDir(values), databaseUrl: env.DATABASE_URL, log, syncProblems: false })
    try {
      const r = await api
        .mutate<{ user: { id: string; email: string; role: string }; oneTimePassword: string }>('users.create', {
          email: values.email,
          role: role.data,
          name: values.name,
        })
        .catch((e: Error) => {
          throw new InputError(e.message)
        })
      out(
        values.json
          ? JSON.stringify(r)
          : `created ${r.user.email} (${r.user.role})\none-time password: ${r.oneTimePassword}\n(it must be changed at first sign-in)`,
      )
      return 0
    } finally {
      await api.close()
    }
  },
}

import { connectApi } from '../../api/client.ts'
import { Role } from '../../auth/roles.ts'
import { InputError, parse, UsageError } from '../args.ts'
import type { Command } from '../main.ts'

interface UserRow {
  id: string
  email: string
  name: string | null
  role: string
  disabled: boolean
}

const USAGE = [
  'fm-agent user create --email E --role viewer|expert|admin [--name N] [--json]',
  'fm-agent user list [--json]',
  'fm-agent user set --email E [--role viewer|expert|admin] [--enable | --disable] [--json]',
].join('\n       ')

/** Console users from the command line: the way back in when no admin can sign in to the console. */
export const user: Command = {
  summary: 'manage console users: user create | list | set (role, enable, disable)',
  usage: USAGE,
  async run({ argv, env, log, dataDir, out }) {
    const { values, positionals } = parse(
      'user',
      argv,
      {
        email: { type: 'string' },
        role: { type: 'string' },
        name: { type: 'string' },
        enable: { type: 'boolean' },
        disable: { type: 'boolean' },
        json: { type: 'boolean' },
      },
      1,
    )
    const sub = positionals[0]
    if (sub !== 'create' && sub !== 'list' && sub !== 'set')
      throw new UsageError(sub ? `unknown subcommand "user ${sub}"` : 'missing subcommand (create, list or set)')
    if (sub !== 'list' && !values.email) throw new UsageError('--email is required')
    const role = sub === 'create' || values.role !== undefined ? Role.safeParse(values.role) : undefined
    if (role && !role.success) throw new UsageError(`--role must be one of ${Role.options.join(', ')}`)
    if (values.enable && values.disable) throw new UsageError('--enable and --disable exclude each other')
    if (sub === 'set' && !role && !values.enable && !values.disable)
      throw new UsageError('say what to change: --role, --enable or --disable')
    const api = await connectApi({ dataDir: dataDir(values), databaseUrl: env.DATABASE_URL, log, syncProblems: false })
    const call = <T>(p: Promise<T>) =>
      p.catch((e: Error) => {
        throw new InputError(e.message)
      })
    try {
      if (sub === 'create') {
        const r = await call(
          api.mutate<{ user: { id: string; email: string; role: string }; oneTimePassword: string }>('users.create', {
            email: values.email,
            role: role!.data,
            name: values.name,
          }),
        )
        out(
          values.json
            ? JSON.stringify(r)
            : `created ${r.user.email} (${r.user.role})\none-time password: ${r.oneTimePassword}\n(it must be changed at first sign-in)`,
        )
        return 0
      }
      const users = await call(api.query<UserRow[]>('users.list'))
      if (sub === 'list') {
        out(
          values.json
            ? JSON.stringify(users)
            : users.map((u) => `${u.email}  ${u.role}${u.disabled ? '  disabled' : ''}`).join('\n') || 'no users',
        )
        return 0
      }
      const email = String(values.email).trim().toLowerCase()
      const target = users.find((u) => u.email === email)
      if (!target) throw new InputError(`no user with the email ${email} (fm-agent user list shows them)`)
      const r = await call(
        api.mutate<UserRow>('users.update', {
          id: target.id,
          ...(role ? { role: role.data } : {}),
          ...(values.enable ? { disabled: false } : values.disable ? { disabled: true } : {}),
        }),
      )
      out(values.json ? JSON.stringify(r) : `${r.email}: ${r.role}${r.disabled ? ', disabled' : ', enabled'}`)
      return 0
    } finally {
      await api.close()
    }
  },
}

'use client'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { errorMessage, useTRPC } from './trpc.tsx'

const ROLES = ['viewer', 'expert', 'admin'] as const

export function UsersPanel() {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const users = useQuery(trpc.users.list.queryOptions())
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.users.list.queryKey() })
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<(typeof ROLES)[number]>('viewer')
  const [secret, setSecret] = useState<string | null>(null)
  const create = useMutation(
    trpc.users.create.mutationOptions({
      // a password shown for the user added before must not sit beside this attempt's outcome
      onMutate: () => setSecret(null),
      onSuccess: (r) => (setSecret(`${r.user.email}: ${r.oneTimePassword}`), setEmail(''), refresh()),
    }),
  )
  const update = useMutation(trpc.users.update.mutationOptions({ onSuccess: refresh }))
  const reset = useMutation(
    trpc.users.resetPassword.mutationOptions({
      onMutate: () => setSecret(null),
      onSuccess: (r, vars) =>
        setSecret(
          `${users.data?.find((u) => u.id === vars.id)?.email ?? 'the user'}: new one-time password ${r.oneTimePassword}${r.tokensRevoked ? ` (${r.tokensRevoked} CLI token(s) revoked)` : ''}`,
        ),
    }),
  )
  const [ended, setEnded] = useState<string | null>(null)
  const endSessions = useMutation(
    trpc.users.endSessions.mutationOptions({
      onMutate: () => (setSecret(null), setEnded(null)),
      onSuccess: (r, vars) =>
        setEnded(
          `${users.data?.find((u) => u.id === vars.userId)?.email ?? 'the user'}: ${r.sessionsEnded} session(s) ended`,
        ),
    }),
  )
  const error = create.error ?? update.error ?? reset.error ?? endSessions.error
  return (
    <div className="card form">
      <h2>Users</h2>
      <div className="row">
        <input
          placeholder="email"
          aria-label="New user's email"
          type="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <select
          aria-label="New user's role"
          value={role}
          onChange={(e) => setRole(e.target.value as (typeof ROLES)[number])}
        >
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
        <button disabled={!email || create.isPending} onClick={() => create.mutate({ email, role })}>
          Add user
        </button>
      </div>
      {error && <div className="alert error">{errorMessage(error)}</div>}
      {secret && <div className="alert info">One-time password (shown once) — {secret}</div>}
      {ended && (
        <div className="alert info" role="status">
          {ended}
        </div>
      )}
      <div className="scroll-x">
        <table className="table">
          <thead>
            <tr>
              <th>email</th>
              <th>role</th>
              <th>status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.data?.map((u) => (
              <tr key={u.id}>
                <td>{u.email}</td>
                <td>
                  <select
                    value={u.role}
                    aria-label={`Role of ${u.email}`}
                    onChange={(e) => {
                      const to = e.target.value as (typeof ROLES)[number]
                      if (confirmRoleChange(u.email, u.role, to)) update.mutate({ id: u.id, role: to })
                    }}
                  >
                    {ROLES.map((r) => (
                      <option key={r}>{r}</option>
                    ))}
                  </select>
                </td>
                <td>
                  {u.disabled ? (
                    <span className="badge bad">disabled</span>
                  ) : (
                    <span className="badge good">active</span>
                  )}
                </td>
                <td className="row">
                  <button
                    onClick={() => {
                      if (
                        u.disabled ||
                        window.confirm(
                          `Disable ${u.email}? They are signed out everywhere and their CLI tokens are revoked.`,
                        )
                      )
                        update.mutate({ id: u.id, disabled: !u.disabled })
                    }}
                  >
                    {u.disabled ? 'Enable' : 'Disable'}
                  </button>
                  <button
                    onClick={() => {
                      if (
                        window.confirm(
                          `Reset the password of ${u.email}? Their sessions end and their CLI tokens are revoked; you give them the new one-time password.`,
                        )
                      )
                        reset.mutate({ id: u.id })
                    }}
                  >
                    Reset password
                  </button>
                  <button
                    disabled={endSessions.isPending}
                    aria-label={`End the sessions of ${u.email}`}
                    onClick={() => {
                      if (
                        window.confirm(
                          `Sign ${u.email} out everywhere? Their browser sessions end; the account and its CLI tokens stay.`,
                        )
                      )
                        endSessions.mutate({ userId: u.id })
                    }}
                  >
                    End sessions
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  )
}

/** Granting or taking away the admin role is asked again; other role changes are not. */
function confirmRoleChange(email: string, from: string, to: string): boolean {
  if (to === 'admin')
    return window.confirm(`Make ${email} an admin? Admins manage users, models, secrets and every run.`)
  if (from === 'admin')
    return window.confirm(`Take the admin role from ${email}? They become ${to === 'expert' ? 'an' : 'a'} ${to}.`)
  return true
}

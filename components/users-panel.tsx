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
      onSuccess: (r) => (setSecret(`${r.user.email}: ${r.oneTimePassword}`), setEmail(''), refresh()),
    }),
  )
  const update = useMutation(trpc.users.update.mutationOptions({ onSuccess: refresh }))
  const reset = useMutation(
    trpc.users.resetPassword.mutationOptions({
      onSuccess: (r) =>
        setSecret(
          `new one-time password: ${r.oneTimePassword}${r.tokensRevoked ? ` (${r.tokensRevoked} CLI token(s) revoked)` : ''}`,
        ),
    }),
  )
  const error = create.error ?? update.error ?? reset.error
  return (
    <div className="card form">
      <h2>Users</h2>
      <div className="row">
        <input placeholder="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        <select value={role} onChange={(e) => setRole(e.target.value as (typeof ROLES)[number])}>
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
                    onChange={(e) => update.mutate({ id: u.id, role: e.target.value as (typeof ROLES)[number] })}
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
                  <button onClick={() => update.mutate({ id: u.id, disabled: !u.disabled })}>
                    {u.disabled ? 'Enable' : 'Disable'}
                  </button>
                  <button onClick={() => reset.mutate({ id: u.id })}>Reset password</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  )
}

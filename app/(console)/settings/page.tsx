'use client'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import Link from 'next/link'
import { useState, type FormEvent } from 'react'
import { errorMessage, useTRPC } from '../../../components/trpc.tsx'
import { UsersPanel } from '../../../components/users-panel.tsx'
import { TokensPanel } from '../../../components/tokens-panel.tsx'

function PasswordForm() {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const change = useMutation(
    trpc.account.changePassword.mutationOptions({
      onSuccess: () => {
        setCurrent('')
        setNext('')
        qc.invalidateQueries({ queryKey: trpc.account.me.queryKey() })
      },
    }),
  )
  const submit = (e: FormEvent) => {
    e.preventDefault()
    change.mutate({ current, next })
  }
  return (
    <form className="card form" onSubmit={submit} aria-label="change password">
      <h2>Password</h2>
      <label>
        Current password
        <input type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required />
      </label>
      <label>
        New password (10 characters or more)
        <input type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} required minLength={10} />
      </label>
      {change.error && <div className="alert error">{errorMessage(change.error)}</div>}
      {change.isSuccess && <div className="alert info">Password changed.</div>}
      <div>
        <button className="primary" disabled={change.isPending}>Change password</button>
      </div>
    </form>
  )
}

export default function SettingsPage() {
  const trpc = useTRPC()
  const me = useQuery(trpc.account.me.queryOptions())
  return (
    <div className="grid">
      <h1>Settings</h1>
      <div className="grid two">
        <PasswordForm />
        <TokensPanel isAdmin={me.data?.role === 'admin'} />
      </div>
      {me.data?.role === 'admin' && <UsersPanel />}
      {me.data?.role === 'admin' && (
        <div className="card row">
          <Link href="/settings/audit">Audit log</Link>
          <span className="muted small">who changed what, when, before and after</span>
        </div>
      )}
    </div>
  )
}

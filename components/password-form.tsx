'use client'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useState, type FormEvent } from 'react'
import { errorMessage, useTRPC } from './trpc.tsx'

/** Change one's own password; `onChanged` runs after a change (which ends every session of the user). */
export function PasswordForm({ onChanged }: { onChanged?: () => void } = {}) {
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
        onChanged?.()
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
        <input
          type="password"
          autoComplete="current-password"
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
          required
        />
      </label>
      <label>
        New password (10 characters or more)
        <input
          type="password"
          autoComplete="new-password"
          value={next}
          onChange={(e) => setNext(e.target.value)}
          required
          minLength={10}
        />
      </label>
      {change.error && <div className="alert error">{errorMessage(change.error)}</div>}
      {change.isSuccess && <div className="alert info">Password changed.</div>}
      <div>
        <button className="primary" disabled={change.isPending}>
          Change password
        </button>
      </div>
    </form>
  )
}

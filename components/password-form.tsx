'use client'
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useState, type FormEvent } from 'react'
import { passwordChangedText } from '../client-safe/session-view.ts'
import { errorMessage, useTRPC } from './trpc.tsx'

/**
 * Change one's own password. The change ends the user's other sessions and CLI tokens; this session
 * stays (it has just shown the new password), so the page stays too, and a forced change lifts
 * once account.me says so.
 */
export function PasswordForm() {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const change = useMutation(
    trpc.account.changePassword.mutationOptions({
      onSuccess: () => {
        setCurrent('')
        setNext('')
        return Promise.all([
          qc.invalidateQueries({ queryKey: trpc.account.me.queryKey() }),
          qc.invalidateQueries({ queryKey: trpc.account.sessions.queryKey() }),
        ])
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
      {change.data && (
        <div className="alert info" role="status" data-testid="password-changed">
          {passwordChangedText(change.data)}
        </div>
      )}
      <div>
        <button className="primary" disabled={change.isPending}>
          Change password
        </button>
      </div>
    </form>
  )
}

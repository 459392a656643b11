'use client'
import { useMutation } from '@tanstack/react-query'
import { useState, type FormEvent } from 'react'
import { loginUrl } from '../client-safe/safe-next.ts'
import { errorMessage, useTRPC } from './trpc.tsx'

/**
 * Change one's own password. A change ends every session of the user, this one too: the form then
 * goes to the login page, which says why, rather than leave a page whose next call is refused.
 */
export function PasswordForm() {
  const trpc = useTRPC()
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const change = useMutation(
    trpc.account.changePassword.mutationOptions({
      onSuccess: () => {
        setCurrent('')
        setNext('')
        window.location.assign(loginUrl('password-changed', window.location.pathname + window.location.search))
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
      {change.isSuccess && (
        <div className="alert info" role="status">
          Password changed: taking you to the login page…
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

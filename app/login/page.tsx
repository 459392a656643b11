'use client'
import { useSearchParams } from 'next/navigation'
import { Suspense, useState, type FormEvent } from 'react'
import { authClient } from '../../components/auth-client.ts'
import { loginNoticeText, safeNext, signInErrorText } from '../../client-safe/safe-next.ts'

function LoginForm() {
  const params = useSearchParams()
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const notice = loginNoticeText(params.get('notice'))

  async function submit(e: FormEvent) {
    e.preventDefault()
    setBusy(true)
    setError(null)
    let retryAfter: string | null = null
    const r = await authClient.signIn.email(
      { email, password },
      { onError: (c) => void (retryAfter = c.response.headers.get('x-retry-after')) },
    )
    setBusy(false)
    if (r.error) {
      setError(signInErrorText(r.error.status, r.error.message, retryAfter))
      return
    }
    window.location.assign(safeNext(params.get('next')))
  }

  return (
    <form className="card login form" onSubmit={submit} aria-label="sign in">
      <div>
        <h1>FM Agent</h1>
        <div className="muted small">Sign in to the console</div>
      </div>
      {notice && (
        <div className="alert info" role="status" data-testid="login-notice">
          {notice}
        </div>
      )}
      <label>
        Email
        <input
          name="email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      {error && (
        <div className="alert error" role="alert">
          {error}
        </div>
      )}
      <button className="primary" type="submit" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
      <div className="muted small">
        The first admin&apos;s password is printed once by <code>fm-agent start</code>.
      </div>
    </form>
  )
}

export default function LoginPage() {
  return (
    <main className="login-wrap">
      <title>Sign in · FM Agent</title>
      <Suspense>
        <LoginForm />
      </Suspense>
    </main>
  )
}

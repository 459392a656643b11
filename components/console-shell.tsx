'use client'
import { useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { usePathname } from 'next/navigation'
import { useEffect, useRef, useState, type ReactNode } from 'react'
import { authClient } from './auth-client.ts'
import { RunNotifier } from './notifications.tsx'
import { PasswordForm } from './password-form.tsx'
import { loginUrl } from '../client-safe/safe-next.ts'
import { pageTitle } from '../client-safe/page-title.ts'
import { useTRPC } from './trpc.tsx'

const NAV = [
  { href: '/runs', label: 'Runs' },
  { href: '/problems', label: 'Problems' },
  { href: '/knowledge', label: 'Knowledge' },
  { href: '/workers', label: 'Workers' },
  { href: '/settings', label: 'Settings' },
]

// On a narrow screen (globals.css: ≤ 900 px) the sidebar becomes a bar across the top whose links
// open from a Menu button; on a wide one the button is hidden and the links always show.
/** how often an open page asks who its user is again */
const ME_EVERY_MS = 20_000

export function ConsoleShell({ children }: { children: ReactNode }) {
  const trpc = useTRPC()
  const path = usePathname()
  // checked again now and then: a role lowered or an account disabled by an admin shows in open
  // pages (the server refuses at once; this is what the page offers)
  const me = useQuery(trpc.account.me.queryOptions(undefined, { refetchInterval: ME_EVERY_MS }))
  const signedOut = me.error?.data?.code === 'UNAUTHORIZED'
  useEffect(() => {
    if (signedOut)
      window.location.assign(loginUrl('signed-out', `${window.location.pathname}${window.location.search}`))
  }, [signedOut])
  const health = useQuery(trpc.health.check.queryOptions())
  const unsandboxed = useQuery({
    ...trpc.workers.unsandboxed.queryOptions(),
    enabled: !!me.data && !me.data.mustChangePassword,
    refetchInterval: 10_000,
  })
  const [menu, setMenu] = useState(false)
  const menuButton = useRef<HTMLButtonElement>(null)
  // biome-ignore lint/correctness/useExhaustiveDependencies: the menu closes whenever the page changes
  useEffect(() => setMenu(false), [path])
  useEffect(() => {
    if (!menu) return
    // closed by Escape, the focus goes back to the button that opened it (not to the page's start)
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && (setMenu(false), menuButton.current?.focus())
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [menu])
  return (
    <div className="shell">
      <title>{pageTitle(path)}</title>
      <a className="skip-link" href="#content">
        Skip to the page
      </a>
      <nav className={`sidebar${menu ? ' open' : ''}`} aria-label="main">
        <div className="brand-row">
          <div className="brand">
            FM Agent
            <small>{health.data ? `${health.data.mode} database` : '…'}</small>
          </div>
          <button
            ref={menuButton}
            className="menu-toggle"
            aria-label="Menu"
            aria-expanded={menu}
            aria-controls="main-menu"
            onClick={() => setMenu((m) => !m)}
          >
            {menu ? '✕' : '☰'} Menu
          </button>
        </div>
        <div className="nav-links" id="main-menu">
          {NAV.map((n) => (
            <Link
              key={n.href}
              href={n.href}
              className={`nav-link${path.startsWith(n.href) ? ' active' : ''}`}
              onClick={() => setMenu(false)}
            >
              {n.label}
            </Link>
          ))}
          <div className="spacer" />
          <div className="whoami" data-testid="whoami">
            {me.data ? (
              <>
                <div>{me.data.email}</div>
                <div className="row between">
                  <span className="badge info">{me.data.role}</span>
                  <button
                    className="small"
                    onClick={async () => {
                      await authClient.signOut()
                      window.location.assign('/login')
                    }}
                  >
                    Sign out
                  </button>
                </div>
              </>
            ) : (
              '…'
            )}
          </div>
        </div>
      </nav>
      <RunNotifier />
      <main className="main" id="content" tabIndex={-1}>
        {!!unsandboxed.data?.runs.length && (
          <div className="alert danger" role="alert" data-testid="unsandboxed-banner" style={{ marginBottom: 14 }}>
            <strong>Candidates run WITHOUT a sandbox</strong> (FM_ALLOW_UNSANDBOXED=1): {unsandboxed.data.runs.length}{' '}
            active run
            {unsandboxed.data.runs.length === 1 ? '' : 's'} on {unsandboxed.data.workers.join(', ')}. Their code can
            read this machine&apos;s files and reach the network.
          </div>
        )}
        {me.data?.mustChangePassword ? (
          // the server answers nothing else until the password is changed (server/api/trpc.ts)
          <div className="grid" data-testid="password-change-required">
            <div className="alert">
              You signed in with a one-time (or reset) password. Choose your own password to continue.
            </div>
            <PasswordForm />
          </div>
        ) : (
          children
        )}
      </main>
    </div>
  )
}

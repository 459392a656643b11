'use client'
import { useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { usePathname } from 'next/navigation'
import type { ReactNode } from 'react'
import { authClient } from './auth-client.ts'
import { useTRPC } from './trpc.tsx'

const NAV = [
  { href: '/runs', label: 'Runs' },
  { href: '/problems', label: 'Problems' },
  { href: '/knowledge', label: 'Knowledge' },
  { href: '/workers', label: 'Workers' },
  { href: '/settings', label: 'Settings' },
]

export function ConsoleShell({ children }: { children: ReactNode }) {
  const trpc = useTRPC()
  const path = usePathname()
  const me = useQuery(trpc.account.me.queryOptions())
  const health = useQuery(trpc.health.check.queryOptions())
  return (
    <div className="shell">
      <nav className="sidebar" aria-label="main">
        <div className="brand">
          FM Agent
          <small>{health.data ? `${health.data.mode} database` : '…'}</small>
        </div>
        {NAV.map((n) => (
          <Link key={n.href} href={n.href} className={`nav-link${path.startsWith(n.href) ? ' active' : ''}`}>
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
      </nav>
      <main className="main">
        {me.data?.mustChangePassword && !path.startsWith('/settings') && (
          <div className="alert" style={{ marginBottom: 14 }}>
            You signed in with a one-time password. <Link href="/settings">Choose your own password</Link>.
          </div>
        )}
        {children}
      </main>
    </div>
  )
}

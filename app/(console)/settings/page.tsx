'use client'
import { useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { PasswordForm } from '../../../components/password-form.tsx'
import { SessionsPanel } from '../../../components/sessions-panel.tsx'
import { useTRPC } from '../../../components/trpc.tsx'
import { UsersPanel } from '../../../components/users-panel.tsx'
import { TokensPanel } from '../../../components/tokens-panel.tsx'
import { NotificationSettings } from '../../../components/notifications.tsx'

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
      <SessionsPanel />
      <NotificationSettings />
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

'use client'
// The Knowledge section's own navigation.
import Link from 'next/link'
import { usePathname } from 'next/navigation'

const TABS = [
  { href: '/knowledge', label: 'Documents' },
  { href: '/knowledge/lessons', label: 'Lessons' },
  { href: '/knowledge/usefulness', label: 'Usefulness' },
  { href: '/knowledge/model', label: 'Embedding model' },
]

export function KnowledgeTabs() {
  const path = usePathname()
  return (
    <nav
      aria-label="knowledge"
      className="row"
      style={{ gap: 4, borderBottom: '1px solid var(--border)', paddingBottom: 8 }}
    >
      {TABS.map((t) => {
        const active =
          t.href === '/knowledge'
            ? path === '/knowledge' || path.startsWith('/knowledge/doc') || path === '/knowledge/new'
            : path.startsWith(t.href)
        return (
          <Link
            key={t.href}
            href={t.href}
            className={`nav-link${active ? ' active' : ''}`}
            aria-current={active ? 'page' : undefined}
          >
            {t.label}
          </Link>
        )
      })}
    </nav>
  )
}

export function EmbedBadge({ status, error }: { status: string; error?: string | null }) {
  const cls = status === 'ready' ? 'good' : status === 'failed' ? 'bad' : 'warn'
  const label = status === 'ready' ? 'embedded' : status === 'failed' ? 'embedding failed' : 'embedding pending'
  return (
    <span className={`badge ${cls}`} title={error ?? undefined}>
      {label}
    </span>
  )
}

export function fmtDelta(d: number | null | undefined): string {
  if (d == null) return '–'
  return `${d >= 0 ? '+' : ''}${d.toFixed(4)}`
}

'use client'
import { useParams } from 'next/navigation'
import type { ReactNode } from 'react'
import { RunShell } from '../../../../components/run-shell.tsx'

export default function RunLayout({ children }: { children: ReactNode }) {
  const { runId } = useParams<{ runId: string }>()
  return <RunShell runId={runId}>{children}</RunShell>
}

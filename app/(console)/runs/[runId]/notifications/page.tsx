'use client'
import { useParams } from 'next/navigation'
import { RunNotifications } from '../../../../../components/notifications.tsx'

export default function RunNotificationsPage() {
  const { runId } = useParams<{ runId: string }>()
  return <RunNotifications runId={runId} />
}

'use client'
import { RunDashboard } from '../../../../components/run-dashboard.tsx'

export default function RunDashboardPage() {
  return <RunDashboard />
}

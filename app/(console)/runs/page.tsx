'use client'
import { RunList } from '../../../components/run-list.tsx'

export default function RunsPage() {
  return <RunList />
}

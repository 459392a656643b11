import type { ReactNode } from 'react'
import './runs.css'

export default function RunsLayout({ children }: { children: ReactNode }) {
  return children
}

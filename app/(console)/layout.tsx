import type { ReactNode } from 'react'
import { ApiProvider } from '../../components/trpc.tsx'
import { ConsoleShell } from '../../components/console-shell.tsx'

export default function ConsoleLayout({ children }: { children: ReactNode }) {
  return (
    <ApiProvider>
      <ConsoleShell>{children}</ConsoleShell>
    </ApiProvider>
  )
}

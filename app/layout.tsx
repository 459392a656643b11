import type { Metadata } from 'next'
import type { ReactNode } from 'react'
import './globals.css'

// no title here: each page renders its own <title> (components/console-shell.tsx, the login page),
// which React puts in the head; a second one from the metadata would be the one the browser shows
export const metadata: Metadata = {
  description: 'Evolutionary program search with LLMs, steered by experts',
}

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  )
}

'use client'
// A search excerpt with its matched words marked: split on the search's marker characters and
// rendered as text (never as HTML).
import { highlightRuns } from '../client-safe/highlight.ts'

export function Highlight({ text }: { text: string }) {
  return (
    <span className="small" style={{ whiteSpace: 'pre-wrap' }}>
      {highlightRuns(text).map((r, i) =>
        r.mark ? (
          <mark key={i} style={{ background: '#3a3413', color: '#f1d46b', padding: '0 1px', borderRadius: 2 }}>
            {r.text}
          </mark>
        ) : (
          <span key={i}>{r.text}</span>
        ),
      )}
    </span>
  )
}

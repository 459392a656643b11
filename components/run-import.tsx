'use client'
// Import a run's export (the Export button's file, or `fm-agent export`'s) into this console: the
// file is posted to /api/runs/import (server/api/run-import.ts), with the upload's progress shown,
// since an export of a long run is tens of megabytes.
import { useQueryClient } from '@tanstack/react-query'
import Link from 'next/link'
import { useRef, useState } from 'react'
import { shortId } from './run-ui.tsx'
import { useTRPC } from './trpc.tsx'

type Imported = {
  runId: string
  candidates: number
  problem: { id: string; status: 'created' | 'same' | 'differs' }
  notResumable?: string
}
type State =
  | { at: 'idle' }
  | { at: 'uploading'; name: string; percent: number }
  | { at: 'importing'; name: string }
  | { at: 'done'; name: string; result: Imported }
  | { at: 'failed'; name: string; error: string }

const PROBLEM_NOTE: Record<Imported['problem']['status'], (id: string) => string> = {
  created: (id) => `Problem "${id}" was created from the export.`,
  same: (id) => `It uses problem "${id}" already here.`,
  differs: (id) =>
    `Problem "${id}" here has other files than the export's and was left as it is; the imported run keeps the files it ran with.`,
}

function upload(file: File, onProgress: (percent: number) => void, onSent: () => void): Promise<Imported> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', '/api/runs/import')
    xhr.setRequestHeader('content-type', 'application/json')
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(Math.floor((100 * e.loaded) / e.total))
    xhr.upload.onload = onSent
    xhr.onload = () => {
      let body: { error?: string } & Partial<Imported> = {}
      try {
        body = JSON.parse(xhr.responseText)
      } catch {
        body = { error: xhr.responseText.slice(0, 300) || `HTTP ${xhr.status}` }
      }
      if (xhr.status === 200) resolve(body as Imported)
      else reject(new Error(body.error ?? `HTTP ${xhr.status}`))
    }
    xhr.onerror = () => reject(new Error('the upload was cut off: is the console still running?'))
    xhr.send(file)
  })
}

/** The Import button, and the outcome of the last import: drawn apart (the outcome under the page's header). */
export function useRunImport() {
  const trpc = useTRPC()
  const qc = useQueryClient()
  const input = useRef<HTMLInputElement>(null)
  const [state, setState] = useState<State>({ at: 'idle' })
  const busy = state.at === 'uploading' || state.at === 'importing'
  const start = async (file: File) => {
    setState({ at: 'uploading', name: file.name, percent: 0 })
    try {
      const result = await upload(
        file,
        (percent) => setState({ at: 'uploading', name: file.name, percent }),
        () => setState({ at: 'importing', name: file.name }),
      )
      setState({ at: 'done', name: file.name, result })
      void qc.invalidateQueries({ queryKey: trpc.runs.list.queryKey() })
    } catch (e) {
      setState({ at: 'failed', name: file.name, error: (e as Error).message })
    }
  }
  const button = (
    <>
      <input
        ref={input}
        type="file"
        accept=".json,application/json"
        aria-label="run export file"
        hidden
        onChange={(e) => {
          const file = e.target.files?.[0]
          e.target.value = ''
          if (file) void start(file)
        }}
      />
      <button type="button" disabled={busy} onClick={() => input.current?.click()}>
        {state.at === 'uploading'
          ? `Uploading ${state.percent} %…`
          : state.at === 'importing'
            ? 'Importing…'
            : 'Import a run…'}
      </button>
    </>
  )
  const outcome =
    state.at === 'done' || state.at === 'failed' ? (
      <div
        className={`alert small ${state.at === 'done' ? 'info' : 'error'}`}
        role={state.at === 'failed' ? 'alert' : 'status'}
        data-testid="run-import-outcome"
      >
        {state.at === 'done' ? (
          <>
            Imported <Link href={`/runs/${state.result.runId}`}>run {shortId(state.result.runId)}</Link> with{' '}
            {state.result.candidates.toLocaleString('en')} candidates from {state.name}.{' '}
            {PROBLEM_NOTE[state.result.problem.status](state.result.problem.id)}
            {state.result.notResumable && (
              <span data-testid="run-import-not-resumable"> It cannot be resumed: {state.result.notResumable}.</span>
            )}
          </>
        ) : (
          <>
            {state.name} was not imported: {state.error}
          </>
        )}{' '}
        <button type="button" className="small" onClick={() => setState({ at: 'idle' })}>
          Dismiss
        </button>
      </div>
    ) : null
  return { button, outcome }
}

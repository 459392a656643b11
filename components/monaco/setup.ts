'use client'
// Monaco, fully offline. @monaco-editor/react fetches monaco from a CDN unless told otherwise,
// which fails here and behind any firewall: hand it the bundled `monaco-editor` module, and give
// Monaco a getWorker that starts the bundled workers (module workers, one file per language
// service; see RECIPES.md "Monaco, fully offline"). Runs once, in the browser only.
import { loader } from '@monaco-editor/react'
import * as monaco from 'monaco-editor'

type WorkerFactory = { getWorker(workerId: string, label: string): Worker }

let configured = false

export function setupMonaco(): typeof monaco {
  if (configured || typeof window === 'undefined') return monaco
  const env: WorkerFactory = {
    getWorker(_workerId, label) {
      switch (label) {
        case 'json':
          return new Worker(new URL('./json.worker.ts', import.meta.url), { type: 'module' })
        case 'css':
        case 'scss':
        case 'less':
          return new Worker(new URL('./css.worker.ts', import.meta.url), { type: 'module' })
        case 'html':
        case 'handlebars':
        case 'razor':
          return new Worker(new URL('./html.worker.ts', import.meta.url), { type: 'module' })
        case 'typescript':
        case 'javascript':
          return new Worker(new URL('./ts.worker.ts', import.meta.url), { type: 'module' })
        default:
          return new Worker(new URL('./editor.worker.ts', import.meta.url), { type: 'module' })
      }
    },
  }
  ;(self as unknown as { MonacoEnvironment: WorkerFactory }).MonacoEnvironment = env
  loader.config({ monaco })
  configured = true
  return monaco
}

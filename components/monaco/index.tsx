'use client'
// The console's code editors: Monaco, bundled and loaded offline, only in the browser.
//   import { CodeEditor, DiffEditor, monacoLanguage } from '../components/monaco/index.tsx'
//   <CodeEditor key={doc.id} defaultValue={doc.content} language="markdown" onChange={setText} />
//   <DiffEditor original={parent.code} modified={child.code} language={monacoLanguage('python')} />
import dynamic from 'next/dynamic'
import type { CodeEditorProps, DiffEditorProps } from './editors.tsx'

export type { CodeEditorProps, DiffEditorProps }
export { monacoLanguage } from './language.ts'

const loading = () => (
  <div className="muted small" style={{ padding: 12 }}>
    Loading the editor…
  </div>
)

export const CodeEditor = dynamic<CodeEditorProps>(() => import('./editors.tsx').then((m) => m.CodeEditorImpl), {
  ssr: false,
  loading,
})
export const DiffEditor = dynamic<DiffEditorProps>(() => import('./editors.tsx').then((m) => m.DiffEditorImpl), {
  ssr: false,
  loading,
})

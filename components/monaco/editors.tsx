'use client'
// The editors themselves; import them through ./index.tsx (loaded with next/dynamic, ssr: false).
// Uncontrolled: `defaultValue` + `onChange` (a controlled `value` dropped characters under fast
// typing). Remount with a new `key` to load different text.
import { DiffEditor as MonacoDiffEditor, Editor } from '@monaco-editor/react'
import { setupMonaco } from './setup.ts'

setupMonaco()

const BASE_OPTIONS = {
  minimap: { enabled: false },
  fontSize: 13,
  scrollBeyondLastLine: false,
  automaticLayout: true,
  tabSize: 4,
  renderWhitespace: 'selection',
} as const

export interface CodeEditorProps {
  defaultValue: string
  /** Monaco language id (see monacoLanguage) */
  language?: string
  onChange?: (value: string) => void
  height?: number | string
  readOnly?: boolean
  wordWrap?: boolean
  /** accessible name of the editor's text area */
  ariaLabel?: string
  testId?: string
}

export function CodeEditorImpl(props: CodeEditorProps) {
  return (
    <div data-testid={props.testId} style={{ border: '1px solid var(--border)', borderRadius: 6, overflow: 'hidden' }}>
      <Editor
        height={props.height ?? 420}
        theme="vs-dark"
        defaultLanguage={props.language ?? 'plaintext'}
        defaultValue={props.defaultValue}
        onChange={(v) => props.onChange?.(v ?? '')}
        options={{
          ...BASE_OPTIONS,
          readOnly: !!props.readOnly,
          wordWrap: props.wordWrap ? 'on' : 'off',
          ariaLabel: props.ariaLabel ?? 'code editor',
        }}
      />
    </div>
  )
}

export interface DiffEditorProps {
  original: string
  modified: string
  language?: string
  height?: number | string
  /** editable right-hand side; reports its text */
  onChange?: (value: string) => void
  sideBySide?: boolean
  testId?: string
}

export function DiffEditorImpl(props: DiffEditorProps) {
  return (
    <div data-testid={props.testId} style={{ border: '1px solid var(--border)', borderRadius: 6, overflow: 'hidden' }}>
      <MonacoDiffEditor
        height={props.height ?? 420}
        theme="vs-dark"
        language={props.language ?? 'plaintext'}
        original={props.original}
        modified={props.modified}
        options={{
          ...BASE_OPTIONS,
          readOnly: !props.onChange,
          originalEditable: false,
          renderSideBySide: props.sideBySide ?? true,
        }}
        onMount={(editor) => {
          const model = editor.getModifiedEditor()
          model.onDidChangeModelContent(() => props.onChange?.(model.getValue()))
        }}
      />
    </div>
  )
}

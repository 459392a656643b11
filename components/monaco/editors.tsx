'use client'
// The editors themselves; import them through ./index.tsx (loaded with next/dynamic, ssr: false).
// Uncontrolled: `defaultValue` + `onChange` (a controlled `value` dropped characters under fast
// typing). Remount with a new `key` to load different text.
import { DiffEditor as MonacoDiffEditor, Editor } from '@monaco-editor/react'
import type { editor } from 'monaco-editor'
import { useEffect, useRef } from 'react'
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
  const diff = useRef<editor.IStandaloneDiffEditor | null>(null)
  // the wrapper disposes the models before the widget on unmount, which Monaco throws on ("TextModel
  // got disposed before DiffEditorWidget model got reset", uncaught, on every page left with a diff
  // open): it keeps the models, and they are detached here first, then disposed
  useEffect(
    () => () => {
      const ed = diff.current
      diff.current = null
      const models = ed?.getModel()
      try {
        ed?.setModel(null)
      } catch {
        // the widget went first: nothing holds the models any more
      }
      models?.original.dispose()
      models?.modified.dispose()
    },
    [],
  )
  return (
    <div data-testid={props.testId} style={{ border: '1px solid var(--border)', borderRadius: 6, overflow: 'hidden' }}>
      <MonacoDiffEditor
        height={props.height ?? 420}
        theme="vs-dark"
        language={props.language ?? 'plaintext'}
        original={props.original}
        modified={props.modified}
        keepCurrentOriginalModel
        keepCurrentModifiedModel
        options={{
          ...BASE_OPTIONS,
          readOnly: !props.onChange,
          originalEditable: false,
          renderSideBySide: props.sideBySide ?? true,
        }}
        onMount={(editor) => {
          diff.current = editor
          const model = editor.getModifiedEditor()
          model.onDidChangeModelContent(() => props.onChange?.(model.getValue()))
        }}
      />
    </div>
  )
}

// Which files the knowledge base takes, and how each is read: markdown (sections), plain text
// (paragraphs) or code (top-level definitions); Jupyter notebooks become markdown. Everything else
// is refused with a reason.
import { basename, extname } from 'node:path'

export const DOC_FORMATS = ['markdown', 'text', 'code'] as const
export type DocFormat = (typeof DOC_FORMATS)[number]

const MARKDOWN = new Set(['.md', '.markdown', '.mdx', '.mkd'])
const TEXT = new Set(['.txt', '.text', '.rst', '.adoc', '.org', '.tex'])

/** Code extensions and the language name used for fences and chunk headings. */
export const CODE_LANGUAGES: Record<string, string> = {
  '.py': 'python',
  '.pyi': 'python',
  '.js': 'javascript',
  '.mjs': 'javascript',
  '.cjs': 'javascript',
  '.jsx': 'javascript',
  '.ts': 'typescript',
  '.mts': 'typescript',
  '.cts': 'typescript',
  '.tsx': 'typescript',
  '.c': 'c',
  '.h': 'c',
  '.cc': 'cpp',
  '.cpp': 'cpp',
  '.cxx': 'cpp',
  '.hpp': 'cpp',
  '.hh': 'cpp',
  '.cu': 'cuda',
  '.cuh': 'cuda',
  '.go': 'go',
  '.rs': 'rust',
  '.java': 'java',
  '.kt': 'kotlin',
  '.scala': 'scala',
  '.cs': 'csharp',
  '.swift': 'swift',
  '.rb': 'ruby',
  '.jl': 'julia',
  '.r': 'r',
  '.lua': 'lua',
  '.php': 'php',
  '.sh': 'shell',
  '.bash': 'shell',
  '.sql': 'sql',
  '.zig': 'zig',
  '.hs': 'haskell',
  '.ml': 'ocaml',
  '.f90': 'fortran',
}

/** Languages whose comments start with `#` and whose blocks are set by indentation. */
export const HASH_COMMENT_LANGUAGES = new Set(['python', 'shell', 'ruby', 'julia', 'r'])

export interface FileKind {
  format: DocFormat
  language?: string
  /** a Jupyter notebook: its JSON is turned into markdown on import (notebook.ts) */
  notebook?: true
}

/** The format of a file by its name, or a sentence saying why it is not taken. */
export function classifyPath(path: string): FileKind | { unsupported: string } {
  const ext = extname(path).toLowerCase()
  const name = basename(path).toLowerCase()
  if (MARKDOWN.has(ext)) return { format: 'markdown' }
  if (TEXT.has(ext)) return { format: 'text' }
  if (ext in CODE_LANGUAGES) return { format: 'code', language: CODE_LANGUAGES[ext] }
  if (ext === '.ipynb') return { format: 'markdown', notebook: true }
  if (!ext && /^(readme|notes|license|changelog|authors)$/.test(name)) return { format: 'text' }
  if (ext === '.pdf')
    return { unsupported: 'PDF is not imported; convert it to text or markdown first (for example with pdftotext)' }
  return {
    unsupported: `unsupported file type${ext ? ` (${ext})` : ' (no extension)'}; markdown, text, code and notebook files are taken`,
  }
}

export function languageOfPath(path: string | null | undefined): string | undefined {
  if (!path) return undefined
  return CODE_LANGUAGES[extname(path).toLowerCase()]
}

// Language names (as the knowledge base and problems use them) to Monaco language ids. No
// Monaco import here: safe to use during server rendering.

/** Monaco's language id for a file's language name (python, cpp, cuda…), or plaintext. */
export function monacoLanguage(language: string | null | undefined): string {
  const l = (language ?? '').toLowerCase()
  const map: Record<string, string> = {
    python: 'python',
    javascript: 'javascript',
    typescript: 'typescript',
    c: 'cpp',
    cpp: 'cpp',
    cuda: 'cpp',
    go: 'go',
    rust: 'rust',
    java: 'java',
    kotlin: 'kotlin',
    scala: 'scala',
    csharp: 'csharp',
    swift: 'swift',
    ruby: 'ruby',
    julia: 'julia',
    r: 'r',
    lua: 'lua',
    php: 'php',
    shell: 'shell',
    sql: 'sql',
    markdown: 'markdown',
    json: 'json',
    yaml: 'yaml',
  }
  return map[l] ?? 'plaintext'
}

'use client'
// A small, safe markdown renderer for knowledge documents: it builds React elements (so every
// piece of text is escaped by React) and never injects HTML. Raw HTML in a document shows as
// text. Links are kept only for http(s), mailto and same-site addresses.
// Covered: ATX/setext headings, paragraphs, fenced and indented code, block quotes, lists,
// rules, inline code, bold, italic, links. Tables show as preformatted text.
import { Fragment, type ReactNode } from 'react'
import { splitFrontMatter } from '../client-safe/front-matter.ts'

type Block =
  | { kind: 'heading'; level: number; text: string }
  | { kind: 'para'; text: string }
  | { kind: 'code'; lang: string; text: string }
  | { kind: 'quote'; text: string }
  | { kind: 'list'; ordered: boolean; items: string[] }
  | { kind: 'rule' }
  | { kind: 'table'; text: string }

export function parseMarkdownBlocks(src: string): Block[] {
  // front matter is the document's title and tags: shown as the YAML it is, not as body text
  const { frontMatter, body } = splitFrontMatter(src)
  const lines = body.replace(/\r\n?/g, '\n').split('\n')
  const blocks: Block[] = frontMatter === null ? [] : [{ kind: 'code', lang: 'yaml', text: frontMatter }]
  let i = 0
  while (i < lines.length) {
    const line = lines[i]
    const fence = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/.exec(line)
    if (fence) {
      const body: string[] = []
      i++
      while (i < lines.length && !new RegExp(`^ {0,3}${fence[1][0]}{${fence[1].length},}\\s*$`).test(lines[i]))
        body.push(lines[i++])
      i++
      blocks.push({ kind: 'code', lang: fence[2], text: body.join('\n') })
      continue
    }
    if (!line.trim()) {
      i++
      continue
    }
    const atx = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line)
    if (atx) {
      blocks.push({ kind: 'heading', level: atx[1].length, text: atx[2] })
      i++
      continue
    }
    if (/^ {0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) {
      blocks.push({ kind: 'rule' })
      i++
      continue
    }
    if (/^ {0,3}>/.test(line)) {
      const body: string[] = []
      while (i < lines.length && /^ {0,3}>/.test(lines[i])) body.push(lines[i++].replace(/^ {0,3}> ?/, ''))
      blocks.push({ kind: 'quote', text: body.join('\n') })
      continue
    }
    const item = /^ {0,3}([-*+]|\d+[.)])\s+(.*)$/.exec(line)
    if (item) {
      const ordered = /\d/.test(item[1])
      const items: string[] = []
      while (i < lines.length) {
        const m = /^ {0,3}([-*+]|\d+[.)])\s+(.*)$/.exec(lines[i])
        if (m && /\d/.test(m[1]) === ordered) items.push(m[2])
        else if (lines[i].trim() && /^\s{2,}/.test(lines[i]) && items.length)
          items[items.length - 1] += ' ' + lines[i].trim()
        else break
        i++
      }
      blocks.push({ kind: 'list', ordered, items })
      continue
    }
    if (/^ {4}/.test(line)) {
      const body: string[] = []
      while (i < lines.length && (/^ {4}/.test(lines[i]) || !lines[i].trim())) body.push(lines[i++].slice(4))
      blocks.push({ kind: 'code', lang: '', text: body.join('\n').replace(/\n+$/, '') })
      continue
    }
    if (/^\s*\|.*\|\s*$/.test(line)) {
      const body: string[] = []
      while (i < lines.length && /^\s*\|.*\|\s*$/.test(lines[i])) body.push(lines[i++])
      blocks.push({ kind: 'table', text: body.join('\n') })
      continue
    }
    const para: string[] = []
    while (i < lines.length && lines[i].trim() && !/^ {0,3}(#{1,6}\s|>|`{3,}|~{3,}|[-*+]\s|\d+[.)]\s)/.test(lines[i])) {
      const next = lines[i + 1]
      if (next !== undefined && /^ {0,3}(=+|-+)\s*$/.test(next) && para.length === 0) {
        blocks.push({ kind: 'heading', level: next.trim()[0] === '=' ? 1 : 2, text: lines[i].trim() })
        i += 2
        break
      }
      para.push(lines[i++])
    }
    if (para.length) blocks.push({ kind: 'para', text: para.join('\n') })
  }
  return blocks
}

export function safeHref(url: string): string | null {
  const u = url.trim()
  if (/^(https?:|mailto:)/i.test(u)) return u
  if (/^(\/(?!\/)|#|\.\.?\/)/.test(u)) return u
  return null
}

/** Inline markup to React nodes: `code`, **bold**, *italic* / _italic_, [text](url). */
export function renderInline(text: string, keyPrefix = 'i'): ReactNode[] {
  const out: ReactNode[] = []
  const re =
    /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*)\*|(?<![\w])_([^_\s][^_]*)_(?![\w])|\[([^\]]+)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g
  let last = 0
  let k = 0
  for (const m of text.matchAll(re)) {
    if (m.index! > last) out.push(text.slice(last, m.index))
    const key = `${keyPrefix}-${k++}`
    if (m[1]) out.push(<code key={key}>{m[2]}</code>)
    else if (m[3] ?? m[4]) out.push(<strong key={key}>{renderInline(m[3] ?? m[4], key)}</strong>)
    else if (m[5] ?? m[6]) out.push(<em key={key}>{renderInline(m[5] ?? m[6], key)}</em>)
    else if (m[7]) {
      const href = safeHref(m[8])
      out.push(
        href ? (
          <a
            key={key}
            href={href}
            rel="noopener noreferrer nofollow"
            target={href.startsWith('#') ? undefined : '_blank'}
          >
            {renderInline(m[7], key)}
          </a>
        ) : (
          <Fragment key={key}>{m[0]}</Fragment>
        ),
      )
    }
    last = m.index! + m[0].length
  }
  if (last < text.length) out.push(text.slice(last))
  return out
}

function withBreaks(text: string, key: string): ReactNode[] {
  return text
    .split('\n')
    .flatMap((l, i) =>
      i ? [<br key={`${key}-br${i}`} />, ...renderInline(l, `${key}-${i}`)] : renderInline(l, `${key}-${i}`),
    )
}

export function Markdown({ source, testId }: { source: string; testId?: string }) {
  const blocks = parseMarkdownBlocks(source)
  return (
    <div className="markdown" data-testid={testId} style={{ lineHeight: 1.55, overflowWrap: 'anywhere' }}>
      {blocks.map((b, i) => {
        const key = `b${i}`
        switch (b.kind) {
          case 'heading': {
            const size = [20, 17, 15, 14, 13, 13][b.level - 1]
            return (
              <div
                key={key}
                role="heading"
                aria-level={b.level}
                style={{ fontSize: size, fontWeight: 600, margin: '14px 0 6px' }}
              >
                {renderInline(b.text, key)}
              </div>
            )
          }
          case 'para':
            return (
              <p key={key} style={{ margin: '0 0 10px' }}>
                {withBreaks(b.text, key)}
              </p>
            )
          case 'code':
            return (
              <pre key={key} data-lang={b.lang || undefined}>
                <code>{b.text}</code>
              </pre>
            )
          case 'table':
            return <pre key={key}>{b.text}</pre>
          case 'quote':
            return (
              <blockquote
                key={key}
                style={{
                  borderLeft: '3px solid var(--border)',
                  margin: '0 0 10px',
                  padding: '2px 12px',
                  color: 'var(--muted)',
                }}
              >
                {withBreaks(b.text, key)}
              </blockquote>
            )
          case 'list': {
            const items = b.items.map((it, j) => <li key={`${key}-${j}`}>{renderInline(it, `${key}-${j}`)}</li>)
            return b.ordered ? <ol key={key}>{items}</ol> : <ul key={key}>{items}</ul>
          }
          case 'rule':
            return <hr key={key} style={{ border: 0, borderTop: '1px solid var(--border)' }} />
          default:
            return null
        }
      })}
    </div>
  )
}

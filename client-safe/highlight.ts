// Highlight markers for search excerpts: two private-use characters that stored text never holds
// (they are stripped on the way in). Pure, with no imports, so the console can use it as is:
// excerpts are rendered by splitting on the markers, never as HTML.

export const HIGHLIGHT_START = '\uE000'
export const HIGHLIGHT_END = '\uE001'

/**
 * Splits a highlight into plain and marked runs. Markdown's emphasis markers go: an excerpt starts
 * and ends wherever the search cut it, often between a pair of them ("Remez exchange** finds…").
 */
export function highlightRuns(highlight: string): Array<{ text: string; mark: boolean }> {
  const out: Array<{ text: string; mark: boolean }> = []
  let mark = false
  let buf = ''
  const push = () => {
    const text = buf.replace(/\*\*|__/g, '')
    if (text) out.push({ text, mark })
    buf = ''
  }
  for (const ch of highlight) {
    if (ch === HIGHLIGHT_START || ch === HIGHLIGHT_END) {
      push()
      mark = ch === HIGHLIGHT_START
    } else buf += ch
  }
  push()
  return out
}

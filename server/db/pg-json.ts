// JSON for PostgreSQL's jsonb (and the text it unpacks into columns). Neither can hold U+0000, which
// candidates and models do write (a stray NUL on stderr, a bytes artifact, a model's answer): one
// such character failed the statement, the batch of results in it and so the whole run.

// JSON.stringify escapes a surrogate only when it is lone (half of a pair, which PostgreSQL refuses
// too: a Python evaluator's surrogateescape'd bytes), so every such escape is one to replace; an
// escaped backslash followed by the letters is not an escape
const BAD_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})/g

/**
 * JSON.stringify, with every U+0000 and lone surrogate in a string or a key replaced by U+FFFD (the
 * replacement character).
 */
export function pgJson(value: unknown): string {
  const json = JSON.stringify(value)
  return json.includes('\\u') ? json.replace(BAD_ESCAPE, '$1\\ufffd') : json
}

/** The same for one string bound as text. */
export const pgText = (s: string) => (s.includes('\u0000') ? s.replaceAll('\u0000', '\ufffd') : s)

// JSON for PostgreSQL's jsonb (and the text it unpacks into columns). Neither can hold U+0000, which
// candidates and models do write (a stray NUL on stderr, a bytes artifact, a model's answer): one
// such character failed the statement, the batch of results in it and so the whole run.

// a \u0000 escape, not an escaped backslash followed by the letters u0000
const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g

/** JSON.stringify, with every U+0000 in a string or a key replaced by U+FFFD (the replacement character). */
export function pgJson(value: unknown): string {
  const json = JSON.stringify(value)
  return json.includes('\\u0000') ? json.replace(NUL_ESCAPE, '$1\\ufffd') : json
}

/** The same for one string bound as text. */
export const pgText = (s: string) => (s.includes('\u0000') ? s.replaceAll('\u0000', '\ufffd') : s)

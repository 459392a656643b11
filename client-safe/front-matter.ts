// YAML front matter at the very start of a markdown document (`---`, `key: value` lines, `---`), as
// static-site generators and note-taking tools write it. The knowledge base reads its title and
// tags, leaves it out of the passages a model reads, and the console shows it apart. Pure.

/** The block's text (null when there is none) and the document after it. */
export function splitFrontMatter(text: string): { frontMatter: string | null; body: string } {
  // the first line of the block must look like a key: a document opening on a rule ("---") stays as it is
  const m = /^\uFEFF?---[ \t]*\r?\n([A-Za-z_][\w-]*[ \t]*:[\s\S]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/.exec(text)
  return m ? { frontMatter: m[1]!, body: text.slice(m[0].length) } : { frontMatter: null, body: text }
}

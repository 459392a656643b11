// What a search result says about itself, for the console and the CLI alike.

/** Whether any hit shares a word with the query (the full-text half found it). */
export const wordMatch = (r: { hits: ReadonlyArray<{ textRank: number | null }> }) =>
  r.hits.some((h) => h.textRank !== null)

/** Said when no hit shares a word: the vector half returns its nearest rows however far they are. */
export const NO_WORD_MATCH =
  'No document shares a word with the query: these are only its nearest neighbours by the embedding model (their similarity says how near).'

// Bounds on what the knowledge base accepts. They are stated in errors and in the console so a
// user knows why a file was refused, and they keep one request under the API's 2 MiB body limit.

// the two bounds a reader checks before sending live where the browser may import them
export { MAX_DOC_CHARS, MAX_FILE_BYTES } from '../../client-safe/knowledge-import.ts'
/** Longest line: longer ones are minified or generated files, useless as knowledge. */
export const MAX_LINE_CHARS = 20_000
/** Chunk size cap, in characters (about 500 tokens: well inside every embedding model's window). */
export const MAX_CHUNK_CHARS = 2000
/** Small neighbouring code blocks are grouped up to this size. */
export const MIN_CHUNK_CHARS = 300
/** A document yields at most this many chunks. */
export const MAX_CHUNKS_PER_DOC = 2000
/** One import request takes at most this many files (the CLI sends a folder in batches of fewer). */
export const MAX_IMPORT_FILES = 500
/** A folder the CLI imports holds at most this many importable files (a bound on a mistaken path, not on the API). */
export const MAX_FOLDER_FILES = 5000
/** and at most this many characters in all. */
export const MAX_IMPORT_TOTAL_CHARS = 32 * 1024 * 1024
/** Folders deeper than this under the import root are not walked. */
export const MAX_IMPORT_DEPTH = 12
export const MAX_TITLE_CHARS = 200
export const MAX_TAGS = 20
export const MAX_TAG_CHARS = 40
export const MAX_SOURCE_PATH_CHARS = 1000
/** Search query length. */
export const MAX_QUERY_CHARS = 8000
/** Results one search may return. */
export const MAX_SEARCH_K = 100
/** Lesson title and text. */
export const MAX_LESSON_TITLE_CHARS = 200
export const MAX_LESSON_TEXT_CHARS = 4000

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

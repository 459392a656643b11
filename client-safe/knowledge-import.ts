// What both readers of an import (the CLI on the user's disk, the console in the browser) do
// before and while sending files to the knowledge base: the per-document checks the API would
// otherwise apply to a whole request at once, batching under the body limit, and sending so
// that one refused request never hides the outcome of the other files. Pure: the transport is
// passed in.

/** Largest document, in characters of text (about 512 KiB of ASCII); server/knowledge/limits.ts re-exports it. */
export const MAX_DOC_CHARS = 512 * 1024
/** Largest file read before decoding (UTF-8 may take 4 bytes a character). */
export const MAX_FILE_BYTES = 2 * 1024 * 1024

export interface ImportFileText {
  path: string
  content: string
}

/** One file's outcome as the API reports it (server/knowledge/documents.ts `ImportResult`). */
export interface ImportOutcome {
  path: string
  status: 'created' | 'updated' | 'unchanged' | 'skipped' | 'failed' | 'conflict'
  docId?: string
  title?: string
  embedStatus?: 'pending' | 'ready' | 'failed'
  chunks?: number
  reason?: string
  /** the source path it was stored under when it is not `path` (kept beside a different document) */
  storedAs?: string
}

/**
 * A file's text as it is sent, or why it is not sent. Counted as the server stores it (line
 * endings as \n, no byte-order mark), and sent that way, so the API's bound on the raw request
 * cannot refuse a file this check let through.
 */
export function importText(content: string): { content: string } | { reason: string } {
  const text = content.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n')
  if (text.length > MAX_DOC_CHARS)
    return {
      reason: `${text.length.toLocaleString('en-US')} characters, over the ${MAX_DOC_CHARS.toLocaleString('en-US')}-character document limit; split it`,
    }
  return { content: text }
}

const encoder = new TextEncoder()

/** Files in batches under a size budget (their JSON-encoded bytes), so each request stays under the API's 2 MiB body limit. */
export function batchImportFiles<F extends ImportFileText>(files: F[], maxBytes = 1_400_000, maxFiles = 100): F[][] {
  const out: F[][] = []
  let cur: F[] = []
  let size = 0
  for (const f of files) {
    const bytes = encoder.encode(JSON.stringify(f.content)).length + encoder.encode(f.path).length + 64
    if (cur.length && (size + bytes > maxBytes || cur.length >= maxFiles)) {
      out.push(cur)
      cur = []
      size = 0
    }
    cur.push(f)
    size += bytes
  }
  if (cur.length) out.push(cur)
  return out
}

export interface SendOptions {
  /** a refused request's message, for the files it carried */
  describe: (e: unknown) => string
  /** true when the request itself was refused as bad input: its files are then sent one by one */
  isBadRequest: (e: unknown) => boolean
  onProgress?: (p: { batch: number; batches: number; files: number }) => void
}

/**
 * Sends the batches in order and returns an outcome for every file. A batch the API refuses as bad
 * input is sent again one file at a time, so only the file at fault fails and the others are
 * imported; any other failure marks the batch's files failed with the reason, and the next
 * batches are still tried. Never throws for a refused request.
 */
export async function sendImportBatches<F extends ImportFileText>(
  batches: F[][],
  send: (files: F[]) => Promise<ImportOutcome[]>,
  opts: SendOptions,
): Promise<ImportOutcome[]> {
  const out: ImportOutcome[] = []
  const attempt = async (files: F[]) => {
    try {
      out.push(...(await send(files)))
      return null
    } catch (e) {
      return e
    }
  }
  for (const [i, batch] of batches.entries()) {
    opts.onProgress?.({ batch: i + 1, batches: batches.length, files: batch.length })
    const e = await attempt(batch)
    if (e === null) continue
    if (batch.length > 1 && opts.isBadRequest(e)) {
      for (const f of batch) {
        const one = await attempt([f])
        if (one !== null) out.push({ path: f.path, status: 'failed', reason: opts.describe(one) })
      }
    } else {
      const reason = opts.describe(e)
      for (const f of batch) out.push({ path: f.path, status: 'failed', reason })
    }
  }
  return out
}

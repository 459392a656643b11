'use client'
// "Download all": every document as the file `fm-agent kb export` writes, in one tar archive that
// `tar -xf` unpacks into a folder `kb import` reads back. The list is read page by page and each
// page's files are folded into a Blob as they come, so a base of thousands of documents is never
// held as one string (the browser may keep a large Blob on disk).
import { useState } from 'react'
import {
  archiveName,
  documentIdPages,
  documentToMarkdown,
  exportFileName,
  LIST_PAGE,
  tarEnd,
  tarEntry,
} from '../client-safe/knowledge-export.ts'
import { errorMessage, useTRPCClient } from './trpc.tsx'

/** documents read at once: one batched request, not hundreds */
const AT_ONCE = 20

export function KnowledgeDownload() {
  const client = useTRPCClient()
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null)
  const [error, setError] = useState<string | null>(null)

  const download = async () => {
    setError(null)
    setProgress({ done: 0, total: 0 })
    try {
      const names = new Set<string>()
      let archive = new Blob([])
      let done = 0
      for await (const { ids, total } of documentIdPages((offset) =>
        client.knowledge.list.query({ limit: LIST_PAGE, offset }),
      )) {
        const parts: BlobPart[] = []
        const mtime = Date.now() / 1000
        for (let i = 0; i < ids.length; i += AT_ONCE) {
          const read = await Promise.all(ids.slice(i, i + AT_ONCE).map((id) => client.knowledge.get.query({ id })))
          for (const doc of read)
            parts.push(...(tarEntry(exportFileName(doc, names), documentToMarkdown(doc), mtime) as BlobPart[]))
          done += read.length
          setProgress({ done, total })
        }
        archive = new Blob([archive, ...parts])
      }
      archive = new Blob([archive, tarEnd() as BlobPart], { type: 'application/x-tar' })
      const url = URL.createObjectURL(archive)
      const a = document.createElement('a')
      a.href = url
      a.download = archiveName(new Date())
      a.click()
      // the click has handed the Blob to the download; the URL is not needed after this turn
      setTimeout(() => URL.revokeObjectURL(url), 0)
      setProgress(null)
    } catch (e) {
      setProgress(null)
      setError(`The download stopped: ${errorMessage(e)}. Try again, or use fm-agent kb export.`)
    }
  }

  return (
    <>
      <button
        onClick={() => void download()}
        disabled={progress !== null}
        data-testid="knowledge-download"
        title="every document as the markdown file fm-agent kb export writes, in one .tar that kb import reads back once unpacked"
      >
        {progress ? `Downloading… ${progress.done} of ${progress.total}` : 'Download all'}
      </button>
      {error && (
        <span className="alert error small" role="alert">
          {error}
        </span>
      )}
    </>
  )
}

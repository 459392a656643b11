import { once } from 'node:events'
import { createWriteStream, renameSync, rmSync } from 'node:fs'
import type { Writable } from 'node:stream'
import { getFromSocket } from '../../api/local-socket.ts'
import { exportChunks } from '../../runs/service.ts'
import { InputError, parse, UsageError } from '../args.ts'
import type { Command } from '../main.ts'
import { connectToRuns, resolveRunId } from '../run-id.ts'

export const exportCommand: Command = {
  summary: 'write a run as JSON: every candidate with its code, metrics and artifacts',
  usage: 'fm-agent export <runId> [--out FILE] [--data-dir DIR]',
  async run({ argv, env, log, dataDir }) {
    const { values, positionals } = parse('export', argv, { out: { type: 'string' } }, 1)
    if (!positionals[0]) throw new UsageError('which run? (fm-agent runs lists them)')
    const api = await connectToRuns({ env, log }, dataDir(values))
    try {
      const runId = await resolveRunId(api, positionals[0])
      // written as it is read, a page of candidates at a time: a run of any size in bounded memory
      const pieces: AsyncIterable<string | Buffer> = api.remote
        ? await getFromSocket(api.socketPath!, `/api/runs/${runId}/export`)
        : exportChunks(api.app!.db, runId)
      const file = values.out as string | undefined
      if (!file) {
        await writeAll(process.stdout, pieces, '\n')
        return 0
      }
      // beside its place, renamed in once whole: a failure halfway leaves no truncated export
      const part = `${file}.part-${process.pid}`
      const stream = createWriteStream(part)
      try {
        const bytes = await writeAll(stream, pieces, '')
        stream.end()
        await once(stream, 'close')
        renameSync(part, file)
        log.info(`wrote ${file} (${(bytes / 1024).toFixed(0)} KiB)`)
      } catch (e) {
        stream.destroy()
        rmSync(part, { force: true })
        throw e
      }
      return 0
    } catch (e) {
      if ((e as Error).message.startsWith('no run')) throw new InputError((e as Error).message)
      throw e
    } finally {
      await api.close()
    }
  },
}

/**
 * Writes the pieces, waiting whenever the stream is full; returns the bytes written. A reader that
 * goes away (stdout closed by `| head`) ends the writing quietly; any other write error is thrown.
 */
async function writeAll(stream: Writable, pieces: AsyncIterable<string | Buffer>, last: string): Promise<number> {
  let bytes = 0
  let failed: NodeJS.ErrnoException | null = null
  const onError = (e: NodeJS.ErrnoException) => {
    failed = e
  }
  stream.on('error', onError)
  const roomOrEnd = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        for (const event of ['drain', 'close', 'error']) stream.off(event, done)
        resolve()
      }
      for (const event of ['drain', 'close', 'error']) stream.on(event, done)
    })
  const write = async (piece: string | Buffer) => {
    bytes += typeof piece === 'string' ? Buffer.byteLength(piece) : piece.length
    if (!stream.write(piece)) await roomOrEnd()
  }
  try {
    for await (const piece of pieces) {
      await write(piece)
      if (failed) break
    }
    if (last && !failed) await write(last)
  } finally {
    stream.off('error', onError)
  }
  const error = failed as NodeJS.ErrnoException | null
  if (error && error.code !== 'EPIPE') throw error
  return bytes
}

// The console server as its own process (API only, no Next pages), for tests that must kill it,
// read its log, or measure its memory from outside:
//   node [--expose-gc] --import tsx test-support/serve-api.ts --data-dir DIR [--engine] [--workers N]
// prints {"url", "statsUrl", "pid"} as one stdout line once it serves; logs go to stderr. The stats
// listener (a second loopback port, test-only) reports memory and live-subscription listener counts.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { readEnv } from '../server/env.ts'
import { createLogger } from '../server/log.ts'
import { startServer } from '../server/server-process.ts'

const { values } = parseArgs({
  options: { 'data-dir': { type: 'string' }, engine: { type: 'boolean' }, workers: { type: 'string' } },
})
if (!values['data-dir']) throw new Error('--data-dir is required')
const env = readEnv({ ...process.env, ...(values.workers ? { FM_WORKERS: values.workers } : {}) })
const log = createLogger('fm-agent', env.FM_LOG)
const server = await startServer({
  env,
  dataDir: values['data-dir'],
  port: 0,
  host: '127.0.0.1',
  pages: false,
  engine: !!values.engine,
  log,
  announce: (t) => process.stderr.write(t + '\n'),
})

const stats = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1')
  if (url.pathname === '/gc' && typeof globalThis.gc === 'function') globalThis.gc()
  const runId = url.searchParams.get('runId')
  const m = process.memoryUsage()
  res.writeHead(200, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      rss: m.rss,
      heapUsed: m.heapUsed,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      listeners: {
        run: runId ? server.app.events.listenerCount(runId) : null,
        any: server.app.events.listenerCount('any'),
      },
      gc: typeof globalThis.gc === 'function',
    }),
  )
})
await new Promise<void>((r) => stats.listen(0, '127.0.0.1', () => r()))
process.stdout.write(
  JSON.stringify({
    url: server.http.url,
    statsUrl: `http://127.0.0.1:${(stats.address() as AddressInfo).port}`,
    pid: process.pid,
  }) + '\n',
)

const stop = () => {
  stats.close()
  server.stop().finally(() => process.exit(0))
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)

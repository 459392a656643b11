// A provider API key given in the environment reaches the provider and nothing else. A run with a
// known fake key (OPENAI_API_KEY=sk-test-LEAKCHECK-…) against the scripted OpenAI-protocol server,
// whose error answers even echo the key back, then a grep of: every API answer the console would
// load for the run (tRPC over HTTP, the live subscription included), the server's log, the
// `fm-agent export` output, the prompts the model received, every table of the database and every
// byte of its files, and what sandboxed candidates could see (each one dumps its environment, reads
// /proc/*/environ and tries the data folder, and reports it all as artifacts).
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli } from '../../test-support/cli.ts'
import { startOpenAiTestServer, type OpenAiTestServer } from '../../test-support/openai-server.ts'
import { openDatabase } from '../db.ts'
import { appRouter } from '../api/root.ts'
import { startApiProcess, type ApiProcess } from '../../test-support/api-process.ts'
import { recordFigures } from '../../test-support/figures.ts'
import { callProcedure, type CallResult } from '../../test-support/http-client.ts'
import { listProcedures, validSample } from '../../test-support/zod-schema.ts'

const MARK = `LEAKCHECK${randomBytes(6).toString('hex')}`
const KEY = `sk-test-${MARK}-${randomBytes(8).toString('hex')}`
const AUTH_SECRET = `auth-${MARK}-${randomBytes(12).toString('hex')}`
const SECRETS = { 'the API key': KEY, 'the key’s unique part': MARK, 'the auth secret': AUTH_SECRET }
const BUDGET = 14

const root = mkdtempSync(join(tmpdir(), 'fm-secrets-'))
const dataDir = join(root, 'data')
const problemDir = join(root, 'problem')
let model: OpenAiTestServer
let server: ApiProcess | null = null
let token = ''
let runId = ''
let candidateIds: string[] = []
const figures: Record<string, number> = {}

/** Names of the places that contain any of the secrets. */
function leaks(where: string, text: string): string[] {
  return Object.entries(SECRETS)
    .filter(([, s]) => text.includes(s))
    .map(([what]) => `${what} in ${where}`)
}

// The seed program: its EVOLVE-BLOCK is what the model edits; the rest, kept in every candidate,
// looks for secrets from inside the sandbox and reports what it found.
const SEED = (data: string) => `# EVOLVE-BLOCK-START
a = 1.0
b = 2.0
# EVOLVE-BLOCK-END
import glob, json, os

DATA_DIR = ${JSON.stringify(data)}

def probe():
    found = {"env": dict(os.environ), "proc": {}, "data": {}, "environ_with_mark": []}
    for p in ["/proc/1/environ", "/proc/self/environ", "/proc/%d/environ" % os.getppid()]:
        try:
            found["proc"][p] = open(p, "rb").read().decode("utf8", "replace")[:3000]
        except Exception as e:
            found["proc"][p] = "ERR " + type(e).__name__
    for e in glob.glob("/proc/[0-9]*/environ"):
        try:
            if b"LEAKCHECK" in open(e, "rb").read():
                found["environ_with_mark"].append(e)
        except Exception:
            pass
    try:
        found["data"]["listing"] = os.listdir(DATA_DIR)
    except Exception as e:
        found["data"]["listing"] = "ERR " + type(e).__name__
    for f in ["local-admin-token", "fm-agent.lock", "pgdata/PG_VERSION"]:
        try:
            found["data"][f] = open(os.path.join(DATA_DIR, f)).read()[:200]
        except Exception as e:
            found["data"][f] = "ERR " + type(e).__name__
    try:
        import socket
        s = socket.socket(socket.AF_UNIX)
        s.connect(os.path.join(DATA_DIR, "api.sock"))
        found["data"]["api.sock"] = "CONNECTED"
    except Exception as e:
        found["data"]["api.sock"] = "ERR " + type(e).__name__
    return found
`

const EVALUATOR = `import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("candidate", sys.argv[-1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
print(json.dumps({"valid": True, "metrics": {"score": float(mod.a + mod.b)}, "features": {}, "artifacts": {"probe": json.dumps(mod.probe())}}))
`

beforeAll(async () => {
  mkdirSync(problemDir)
  writeFileSync(
    join(problemDir, 'problem.json'),
    JSON.stringify({
      id: 'leak-probe',
      name: 'Leak probe',
      description: 'Finds secrets from inside the sandbox.',
      language: 'python',
      entry: 'initial.py',
      evaluator: 'evaluator.py',
      direction: 'max',
      primaryMetric: 'score',
      limits: { timeoutS: 20, memoryMb: 512 },
    }),
  )
  writeFileSync(join(problemDir, 'initial.py'), SEED(dataDir))
  writeFileSync(join(problemDir, 'evaluator.py'), EVALUATOR)
  model = await startOpenAiTestServer({ apiKey: KEY })
  // providers echo a wrong key in their error messages; these go through the engine's error path
  model.enqueue(
    {
      type: 'error',
      status: 401,
      message: `Incorrect API key provided: ${KEY}. You can find your API key at the dashboard.`,
    },
    { type: 'error', status: 500, message: `upstream failure for key ${KEY}` },
  )
  server = await startApiProcess({
    dataDir,
    engine: true,
    workers: 1,
    env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: model.url, FM_AUTH_SECRET: AUTH_SECRET, FM_LOG: 'debug' },
  })
  token = server.adminToken()
  const imported = await callProcedure(server.url, 'problems.import', 'mutation', { path: problemDir }, { token })
  expect(imported.status, imported.body).toBe(200)
  const created = await callProcedure(
    server.url,
    'runs.create',
    'mutation',
    {
      problemId: 'leak-probe',
      config: {
        mutator: 'llm',
        models: [{ provider: 'openai', model: 'scripted-model' }],
        budget: { maxEvals: BUDGET },
        islands: 1,
        seed: 3,
      },
    },
    { token },
  )
  expect(created.status, created.body).toBe(200)
  runId = (created.data as { id: string }).id
  const end = Date.now() + 300_000
  for (;;) {
    const s = await callProcedure(server.url, 'runs.summary', 'query', { runId }, { token })
    const status = (s.data as { status: string }).status
    if (['completed', 'failed', 'stopped'].includes(status)) {
      expect(status, s.body).toBe('completed')
      break
    }
    if (Date.now() > end) throw new Error(`the run did not finish: ${s.body}`)
    await new Promise((r) => setTimeout(r, 500))
  }
  const list = await callProcedure(server.url, 'candidates.list', 'query', { runId, limit: 500 }, { token })
  candidateIds = (list.data as { rows: Array<{ id: string }> }).rows.map((r) => r.id)
}, 420_000)

afterAll(async () => {
  await server?.kill9()
  await model?.close()
  rmSync(root, { recursive: true, force: true })
})

describe('a provider key from the environment', () => {
  it('reached the provider as a credential (so its absence elsewhere means something)', () => {
    const chats = model.chatRequests()
    expect(chats.length).toBeGreaterThanOrEqual(3)
    expect(chats.every((q) => q.auth.present && q.auth.ok)).toBe(true)
    // and it never travelled inside a prompt
    expect(chats.flatMap((q) => leaks(`prompt #${q.id}`, JSON.stringify(q.body)))).toEqual([])
  })

  it('is in no API answer the console loads for the run', async () => {
    const viewer = listProcedures(appRouter).filter((p) => p.type !== 'mutation' && p.meta?.access !== 'public')
    const known = {
      runId: [runId],
      id: candidateIds,
      parentId: candidateIds,
      problemId: ['leak-probe'],
      focus: candidateIds,
    }
    const answers: Array<[string, CallResult]> = []
    for (const p of viewer) {
      const input = p.path === 'runs.live' ? { runId, lastEventId: 'c-1.m0.e0' } : validSample(p, { known })
      answers.push([p.path, await callProcedure(server!.url, p.path, p.type, input, { token, readMs: 1500 })])
    }
    for (const id of candidateIds)
      answers.push([
        `candidates.get ${id}`,
        await callProcedure(server!.url, 'candidates.get', 'query', { runId, id }, { token }),
      ])
    answers.push([
      'candidates.export withCode',
      await callProcedure(server!.url, 'candidates.export', 'query', { runId, withCode: true }, { token }),
    ])
    const ok = answers.filter(([, r]) => r.status === 200)
    // the answers hold the run: its candidates' prompts, responses and sandbox reports
    expect(ok.length).toBeGreaterThan(candidateIds.length)
    const all = ok.map(([, r]) => r.body).join('\n')
    expect(all).toContain('scripted-model')
    expect(all).toContain('environ_with_mark')
    expect(answers.flatMap(([path, r]) => leaks(`the answer of ${path}`, r.body))).toEqual([])
    figures.apiAnswers = answers.length
    figures.apiBytes = all.length
  })

  it('is in no export', async () => {
    const r = await cli(['export', runId, '--data-dir', dataDir])
    expect(r.code, r.stderr).toBe(0)
    const exported = JSON.parse(r.stdout)
    expect(JSON.stringify(exported)).toContain('environ_with_mark')
    expect(leaks('fm-agent export', r.stdout + r.stderr)).toEqual([])
    figures.exportBytes = r.stdout.length
  })

  it('was invisible to sandboxed candidates: no environment, no /proc/*/environ, no data folder', async () => {
    const probes: any[] = []
    for (const id of candidateIds) {
      const c = await callProcedure(server!.url, 'candidates.get', 'query', { runId, id }, { token })
      const probe = (c.data as { artifacts?: Record<string, unknown> | null }).artifacts?.probe
      if (typeof probe === 'string') probes.push(JSON.parse(probe))
    }
    expect(probes.length).toBeGreaterThanOrEqual(BUDGET - 2)
    for (const p of probes) {
      expect(Object.keys(p.env)).toContain('PATH') // the probe ran and saw an environment
      for (const name of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'FM_AUTH_SECRET', 'DATABASE_URL', 'FM_ADMIN_PASSWORD'])
        expect(p.env).not.toHaveProperty(name)
      expect(p.environ_with_mark).toEqual([])
      expect(p.data.listing).toMatch(/^ERR /)
      expect(p.data['local-admin-token']).toMatch(/^ERR /)
      expect(p.data['api.sock']).toMatch(/^ERR /) // the server's local socket: out of reach
      for (const v of Object.values(p.proc as Record<string, string>)) expect(v).not.toContain('LEAKCHECK')
    }
    figures.sandboxProbes = probes.length
  })

  it('is in no log line, no database row and no database file', async () => {
    const log = server!.output()
    expect(log).toMatch(/run|database/) // the log was captured
    const code = await server!.stop()
    server = null
    expect(code).toBe(0)
    expect(leaks('the server log', log)).toEqual([])
    figures.logBytes = log.length
    // every row of every table
    const db = await openDatabase({ dataDir, databaseUrl: '' })
    let rows = 0
    const found: string[] = []
    try {
      const tables = await db.sql<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
      for (const { tablename } of tables) {
        const all = await db.sql(`SELECT * FROM "${tablename}"`)
        rows += all.length
        found.push(
          ...leaks(
            `table ${tablename}`,
            JSON.stringify(all, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
          ),
        )
      }
      const stored = await db.prisma.candidate.findMany({
        where: { runId },
        select: { prompt: true, response: true, rejectReason: true, status: true },
      })
      expect(stored.filter((c) => c.prompt && c.response).length).toBeGreaterThan(3)
      // the provider's errors (which quoted the key) were recorded, redacted
      const refused = stored.filter((c) => /401|Incorrect API key|upstream failure/.test(c.rejectReason ?? ''))
      expect(refused.length, JSON.stringify(stored.map((c) => [c.status, c.rejectReason]))).toBeGreaterThanOrEqual(1)
      for (const c of refused) expect(c.rejectReason).toContain('[REDACTED]')
      figures.redactedErrors = refused.length
      await db.sql('CHECKPOINT')
    } finally {
      await db.close()
    }
    expect(found).toEqual([])
    // every byte of the data folder: the check can find things (the run id is in there)
    const files = filesUnder(dataDir)
    const withRunId = files.filter((f) => readFileSync(f).includes(Buffer.from(runId)))
    expect(withRunId.length).toBeGreaterThan(0)
    const fileLeaks = files.filter((f) => Object.values(SECRETS).some((s) => readFileSync(f).includes(Buffer.from(s))))
    expect(fileLeaks).toEqual([])
    recordFigures('secrets', {
      ...figures,
      tableRows: rows,
      dataFiles: files.length,
      modelRequests: model.chatRequests().length,
      leaks: 0,
    })
  })
})

describe('configs cannot turn the server’s own credentials into an API key', () => {
  it('refuses DATABASE_URL, FM_AUTH_SECRET… as apiKeyEnv of a model or an embedder', async () => {
    const { ModelConfig } = await import('../../client-safe/model-config.ts')
    const { EmbedderConfig } = await import('./embedder.ts')
    for (const name of ['FM_AUTH_SECRET', 'DATABASE_URL', 'FM_ADMIN_PASSWORD', 'PGPASSWORD']) {
      expect(
        ModelConfig.safeParse({ provider: 'openai', model: 'm', baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: name })
          .success,
        name,
      ).toBe(false)
      expect(
        EmbedderConfig.safeParse({ provider: 'openai', model: 'm', baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: name })
          .success,
        name,
      ).toBe(false)
    }
    expect(ModelConfig.safeParse({ provider: 'openai', model: 'm', apiKeyEnv: 'MY_PROVIDER_KEY' }).success).toBe(true)
  })
})

function filesUnder(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    const st = statSync(p)
    if (st.isDirectory()) out.push(...filesUnder(p))
    else if (st.isFile()) out.push(p)
  }
  return out
}

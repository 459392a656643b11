// Every intervention leaves an audit event with its author, time, and the state before and after:
// each mutation of the router (hints, code edits, run config and status, knowledge, users, tokens)
// is performed through the HTTP API by the role that may do it, against a run a real engine is
// driving, and the log is read back. A mutation added to the router without a scenario here fails
// the coverage check, so a new intervention cannot skip the audit unnoticed.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { FIXTURES } from '../../test-support/cli.ts'
import { appRouter } from './root.ts'
import type { Role } from '../auth/roles.ts'
import { proposeLesson } from '../knowledge/lessons.ts'
import { startApiHarness, USER_PASSWORD, type ApiHarness } from '../../test-support/api-server.ts'
import { recordFigures } from '../../test-support/figures.ts'
import { callProcedure } from '../../test-support/http-client.ts'
import { listProcedures } from '../../test-support/zod-schema.ts'

/** what an event must hold besides author and time: create → after, delete → before, update → both, action → after */
type Kind = 'create' | 'update' | 'delete' | 'action'
interface Step {
  path: string
  as: Role
  input: () => unknown | Promise<unknown>
  action: string | RegExp
  kind: Kind
  /** the event's target (when the step knows it) */
  target?: () => string | undefined
}

let h: ApiHarness
let runId = ''
let candidates: Array<{ id: string; code: string; island: number }> = []
const ids: Record<string, string> = {}
const root = mkdtempSync(join(tmpdir(), 'fm-audit-'))

const call = async (path: string, as: Role, input: unknown) => {
  const p = listProcedures(appRouter).find((x) => x.path === path)!
  // tokens are minted from a session only
  const auth = path === 'tokens.create' ? { cookie: await h.sessionCookie(as) } : { token: h.users[as].token }
  return callProcedure(h.url, path, p.type, input, { ...auth, timeoutMs: 120_000 })
}

beforeAll(async () => {
  // the webhooks below point at 127.0.0.1: allowed as an operator allows internal receivers
  vi.stubEnv('FM_WEBHOOK_ALLOW_PRIVATE', '1')
  h = await startApiHarness({ engine: true })
  // the test fixture with a slower evaluator: the run stays in its evolving phase during the test
  const problemDir = join(root, 'problem')
  // the held-out variant: its held-out stage is one more intervention to audit
  cpSync(join(FIXTURES, 'curve-fit-heldout'), problemDir, { recursive: true })
  const ev = join(problemDir, 'evaluator.py')
  writeFileSync(
    ev,
    readFileSync(ev, 'utf8').replace('def main(path):\n', 'def main(path):\n    import time\n    time.sleep(0.3)\n'),
  )
  writeFileSync(
    join(problemDir, 'problem.json'),
    JSON.stringify({ ...JSON.parse(readFileSync(join(problemDir, 'problem.json'), 'utf8')), id: 'audit-curve-fit' }),
  )
  ids.problemDir = problemDir
}, 180_000)

afterAll(async () => {
  await h?.stop()
  rmSync(root, { recursive: true, force: true })
  vi.unstubAllEnvs()
})

async function waitForStatus(status: string, timeoutMs = 180_000) {
  const end = Date.now() + timeoutMs
  for (;;) {
    const s = await call('runs.summary', 'viewer', { runId })
    if ((s.data as { status: string }).status === status) return
    if (Date.now() > end) throw new Error(`run not ${status}: ${s.body.slice(0, 300)}`)
    await new Promise((r) => setTimeout(r, 300))
  }
}

const steps: Step[] = [
  {
    path: 'problems.import',
    as: 'admin',
    input: () => ({ path: ids.problemDir }),
    action: 'problem.import',
    kind: 'create',
    target: () => 'audit-curve-fit',
  },
  {
    path: 'runs.create',
    as: 'admin',
    input: () => ({ problemId: 'audit-curve-fit', config: { islands: 2, budget: { maxEvals: 5000 }, seed: 1 } }),
    action: 'run.create',
    kind: 'create',
  },
  // ---- on the evolving run (an engine in this process drives it)
  {
    path: 'guidance.create',
    as: 'expert',
    input: () => ({ runId, text: 'Try moving the quadratic coefficient toward 1.3.', island: null }),
    action: 'guidance.create',
    kind: 'create',
  },
  {
    path: 'guidance.withdraw',
    as: 'expert',
    input: () => ({ runId, id: ids.guidance }),
    action: 'guidance.withdraw',
    kind: 'update',
    target: () => ids.guidance,
  },
  {
    path: 'runs.setExploration',
    as: 'expert',
    input: () => ({ runId, value: 0.7, island: 0 }),
    action: 'run.exploration',
    kind: 'update',
    target: () => runId,
  },
  {
    path: 'runs.setWeights',
    as: 'admin',
    input: () => ({ runId, localOperators: { swap: 0.5 } }),
    action: 'run.weights',
    kind: 'update',
    target: () => runId,
  },
  {
    path: 'candidates.setPinned',
    as: 'expert',
    input: () => ({ runId, id: candidates[0]!.id, pinned: true }),
    action: 'candidate.pin',
    kind: 'update',
    target: () => candidates[0]!.id,
  },
  {
    path: 'candidates.ban',
    as: 'expert',
    input: () => ({ runId, id: candidates[1]!.id, reason: 'looks like a fluke' }),
    action: 'candidate.ban',
    kind: 'update',
    target: () => candidates[1]!.id,
  },
  {
    path: 'candidates.submitEdit',
    as: 'expert',
    input: () => ({
      runId,
      parentId: candidates[2]!.id,
      island: 0,
      code: candidates[2]!.code.replace(/EVOLVE-BLOCK-START/, 'EVOLVE-BLOCK-START\nEXPERT_WAS_HERE = 1'),
      note: 'manual tweak',
    }),
    action: 'candidate.expert-edit',
    kind: 'update',
  },
  {
    path: 'candidates.rate',
    as: 'expert',
    input: () => ({ runId, id: candidates[0]!.id, value: 1, note: 'clean idea' }),
    action: 'candidate.rate',
    kind: 'update',
    target: () => candidates[0]!.id,
  },
  {
    path: 'notifications.watch',
    as: 'viewer',
    input: () => ({ runId, watching: true }),
    action: 'run.watch',
    kind: 'action',
    target: () => runId,
  },
  {
    path: 'notifications.setMyWebhook',
    as: 'viewer',
    input: () => ({ url: 'http://127.0.0.1:9/me' }),
    action: 'webhook.set',
    kind: 'create',
  },
  { path: 'notifications.testMine', as: 'viewer', input: () => undefined, action: 'webhook.test', kind: 'action' },
  {
    path: 'notifications.setRunWebhook',
    as: 'expert',
    input: () => ({ runId, url: 'http://127.0.0.1:9/team' }),
    action: 'webhook.set',
    kind: 'create',
  },
  { path: 'notifications.testRun', as: 'expert', input: () => ({ runId }), action: 'webhook.test', kind: 'action' },
  {
    path: 'notifications.rotateMySecret',
    as: 'viewer',
    input: () => undefined,
    action: 'webhook.rotate-secret',
    kind: 'update',
  },
  {
    path: 'notifications.rotateRunSecret',
    as: 'expert',
    input: () => ({ runId }),
    action: 'webhook.rotate-secret',
    kind: 'update',
    target: () => `run:${runId}`,
  },
  {
    path: 'runs.fork',
    as: 'admin',
    input: () => ({
      runId,
      candidateId: candidates[2]!.id,
      name: 'audit fork',
      config: { islands: 1, budget: { maxEvals: 10 } },
    }),
    action: 'run.fork',
    kind: 'create',
  },
  {
    path: 'runs.escalate',
    as: 'expert',
    input: () => ({ runId, island: 1, action: 'migrate-in' }),
    action: 'island.migrate-in',
    kind: 'action',
  },
  {
    path: 'runs.checkHeldOut',
    as: 'expert',
    input: () => ({ runId, topK: 1 }),
    action: 'run.held-out',
    kind: 'action',
    target: () => runId,
  },
  {
    path: 'runs.retrieve',
    as: 'expert',
    input: () => ({ runId, island: 1 }),
    action: 'run.retrieve',
    kind: 'action',
    target: () => runId,
  },
  {
    path: 'knowledge.retrieve',
    as: 'expert',
    input: () => ({ runId, island: 0, queryText: 'quadratic coefficient' }),
    action: 'knowledge.retrieve',
    kind: 'action',
  },
  {
    path: 'runs.pause',
    as: 'admin',
    input: () => ({ runId }),
    action: 'run.pause',
    kind: 'update',
    target: () => runId,
  },
  {
    path: 'runs.resume',
    as: 'admin',
    input: () => ({ runId, maxEvals: 6000 }),
    action: /^run\.(resume|config)$/,
    kind: 'update',
    target: () => runId,
  },
  { path: 'runs.stop', as: 'admin', input: () => ({ runId }), action: 'run.stop', kind: 'update', target: () => runId },
  // ---- knowledge
  {
    path: 'knowledge.create',
    as: 'expert',
    input: () => ({
      title: 'Curve fitting notes',
      content: '# Curve fitting\n\nThe quadratic coefficient matters most.\n',
      tags: ['audit'],
    }),
    action: 'knowledge.doc.create',
    kind: 'create',
  },
  {
    path: 'knowledge.update',
    as: 'expert',
    input: () => ({
      id: ids.doc,
      content: '# Curve fitting\n\nThe quadratic coefficient matters most; then the offset.\n',
    }),
    action: 'knowledge.doc.update',
    kind: 'update',
    target: () => ids.doc,
  },
  {
    path: 'knowledge.import',
    as: 'expert',
    input: () => ({
      files: [{ path: 'notes/offsets.md', content: '# Offsets\n\nMove C toward 0.25.\n' }],
      tags: ['audit'],
    }),
    action: 'knowledge.import',
    kind: 'create',
  },
  { path: 'knowledge.importStarter', as: 'expert', input: () => undefined, action: 'knowledge.import', kind: 'action' },
  {
    path: 'knowledge.delete',
    as: 'expert',
    input: () => ({ id: ids.doc }),
    action: 'knowledge.doc.delete',
    kind: 'delete',
    target: () => ids.doc,
  },
  {
    path: 'knowledge.lessonEdit',
    as: 'expert',
    input: () => ({ lessonId: ids.lesson1, title: 'A sharper title' }),
    action: 'knowledge.lesson.edit',
    kind: 'update',
    target: () => ids.lesson1,
  },
  {
    path: 'knowledge.lessonApprove',
    as: 'expert',
    input: () => ({ lessonId: ids.lesson1, tags: ['lesson'] }),
    action: 'knowledge.lesson.approve',
    kind: 'update',
    target: () => ids.lesson1,
  },
  {
    path: 'knowledge.lessonDiscard',
    as: 'expert',
    input: () => ({ lessonId: ids.lesson2 }),
    action: 'knowledge.lesson.discard',
    kind: 'update',
    target: () => ids.lesson2,
  },
  {
    path: 'knowledge.setEmbedder',
    as: 'admin',
    input: () => ({ config: { provider: 'lexical-hash' }, reembed: false }),
    action: 'knowledge.embedder.set',
    kind: 'update',
  },
  {
    path: 'knowledge.reembed',
    as: 'admin',
    input: () => ({ retryFailed: true }),
    action: 'knowledge.reembed',
    kind: 'action',
  },
  // ---- users and tokens
  {
    path: 'account.endSession',
    as: 'viewer',
    input: async () => {
      await h.sessionCookie('viewer', { fresh: true })
      const s = await h.server.app.db.prisma.session.findFirstOrThrow({
        where: { userId: h.users.viewer.userId },
        orderBy: { createdAt: 'desc' },
      })
      return { sessionId: s.id }
    },
    action: 'user.session.end',
    kind: 'delete',
    target: () => h.users.viewer.userId,
  },
  {
    path: 'account.endOtherSessions',
    as: 'viewer',
    input: async () => void (await h.sessionCookie('viewer', { fresh: true })),
    action: 'user.sessions.end',
    kind: 'update',
    target: () => h.users.viewer.userId,
  },
  {
    path: 'users.endSessions',
    as: 'admin',
    input: async () => {
      await h.sessionCookie('viewer', { fresh: true })
      return { userId: h.users.viewer.userId }
    },
    action: 'user.sessions.end',
    kind: 'update',
    target: () => h.users.viewer.userId,
  },
  {
    path: 'users.create',
    as: 'admin',
    input: () => ({ email: 'new.expert@hardening.test', role: 'expert' }),
    action: 'user.create',
    kind: 'create',
  },
  {
    path: 'users.update',
    as: 'admin',
    input: () => ({ id: ids.newUser, role: 'viewer', name: 'Demoted' }),
    action: 'user.update',
    kind: 'update',
    target: () => ids.newUser,
  },
  {
    path: 'users.resetPassword',
    as: 'admin',
    input: () => ({ id: ids.newUser }),
    action: 'user.password',
    kind: 'update',
    target: () => ids.newUser,
  },
  {
    path: 'account.changePassword',
    as: 'viewer',
    input: () => ({ current: USER_PASSWORD, next: 'a-brand-new-password' }),
    action: 'user.password',
    kind: 'update',
    target: () => h.users.viewer.userId,
  },
  {
    path: 'tokens.create',
    as: 'expert',
    input: () => ({ name: 'audit token', scope: 'cli' }),
    action: 'token.create',
    kind: 'create',
  },
  {
    path: 'tokens.revoke',
    as: 'expert',
    input: () => ({ id: ids.token }),
    action: 'token.revoke',
    kind: 'update',
    target: () => ids.token,
  },
  // ---- deletions, last: the run's rows are gone after it
  {
    path: 'runs.delete',
    as: 'admin',
    input: () => ({ runId }),
    action: 'run.delete',
    kind: 'delete',
    target: () => runId,
  },
  {
    path: 'problems.delete',
    as: 'admin',
    input: async () => {
      // a problem of its own: the audited one still has the fork's run
      const dir = join(root, 'to-delete')
      cpSync(ids.problemDir!, dir, { recursive: true })
      const spec = JSON.parse(readFileSync(join(dir, 'problem.json'), 'utf8'))
      writeFileSync(join(dir, 'problem.json'), JSON.stringify({ ...spec, id: 'audit-delete-me' }))
      await call('problems.import', 'admin', { path: dir })
      return { id: 'audit-delete-me' }
    },
    action: 'problem.delete',
    kind: 'delete',
    target: () => 'audit-delete-me',
  },
]

describe('the audit log', () => {
  it('records every intervention with author, time, before and after', async () => {
    const problems: string[] = []
    let events = 0
    for (const step of steps) {
      if (step.path === 'guidance.create') {
        // the run must be evolving for edits; candidates to act on
        await waitForStatus('evolving')
        const list = await call('candidates.list', 'viewer', { runId, limit: 50, filter: { statuses: ['evaluated'] } })
        const rows = (list.data as { rows: Array<{ id: string; island: number }> }).rows
        expect(rows.length).toBeGreaterThanOrEqual(3)
        candidates = []
        for (const r of rows.slice(0, 3)) {
          const c = await call('candidates.get', 'viewer', { runId, id: r.id })
          candidates.push({ id: r.id, code: (c.data as { code: string }).code, island: r.island })
        }
        const cand = candidates[0]!
        // lessons are proposed by the engine on island bests; two made here so the inbox has something to act on
        const lesson = (c: { id: string; code: string }, childScore: number) =>
          proposeLesson(h.server.app.db, {
            runId,
            candidateId: c.id,
            problemId: 'audit-curve-fit',
            parentCode: cand.code,
            childCode: c.code,
            parentScore: 1,
            childScore,
            direction: 'min',
          })
        ids.lesson1 = (await lesson(candidates[1]!, 0.5)).id
        ids.lesson2 = (await lesson(candidates[2]!, 0.4)).id
      }
      if (step.path === 'runs.resume') await waitForStatus('paused')
      if (step.path === 'runs.delete') {
        // the stopped run's engine lets go of it once it has written its last rows
        await h.server.app.runs!.released(runId)
        expect((await h.server.app.db.prisma.run.findUniqueOrThrow({ where: { id: runId } })).leaseOwner).toBeNull()
      }
      const before = await h.server.app.db.prisma.auditEvent.findFirst({
        orderBy: { id: 'desc' },
        select: { id: true },
      })
      const t0 = Date.now()
      const r = await call(step.path, step.as, await step.input())
      const t1 = Date.now()
      if (r.status !== 200) {
        problems.push(`${step.path}: ${r.status} ${r.code} ${r.message}`)
        continue
      }
      const data = r.data as Record<string, any>
      if (step.path === 'runs.create') runId = data.id
      if (step.path === 'guidance.create') ids.guidance = data.id
      if (step.path === 'knowledge.create') ids.doc = data.id
      if (step.path === 'users.create') ids.newUser = data.user.id
      if (step.path === 'tokens.create') ids.token = data.id
      const fresh = await h.server.app.db.prisma.auditEvent.findMany({
        where: { id: { gt: before?.id ?? 0n } },
        orderBy: { id: 'asc' },
      })
      events += fresh.length
      const e = fresh.find((x) =>
        typeof step.action === 'string' ? x.action === step.action : step.action.test(x.action),
      )
      if (!e) {
        problems.push(
          `${step.path}: no "${step.action}" event (got ${fresh.map((x) => x.action).join(', ') || 'none'})`,
        )
        continue
      }
      const who = h.users[step.as]
      if (e.actorId !== who.userId) problems.push(`${step.path}: actor id ${e.actorId}, expected ${who.userId}`)
      if (!e.actorLabel.includes(who.email)) problems.push(`${step.path}: actor label "${e.actorLabel}"`)
      if (e.createdAt.getTime() < t0 - 2000 || e.createdAt.getTime() > t1 + 2000)
        problems.push(`${step.path}: time ${e.createdAt.toISOString()} outside the call`)
      const target = step.target?.()
      if (target && e.targetId !== target) problems.push(`${step.path}: target ${e.targetId}, expected ${target}`)
      const needBefore = step.kind === 'update' || step.kind === 'delete'
      const needAfter = step.kind !== 'delete'
      if (needBefore && (e.before === null || e.before === undefined))
        problems.push(`${step.path}: no "before" in ${e.action}`)
      if (needAfter && (e.after === null || e.after === undefined))
        problems.push(`${step.path}: no "after" in ${e.action}`)
      if (step.kind === 'update' && JSON.stringify(e.before) === JSON.stringify(e.after))
        problems.push(`${step.path}: before and after are the same`)
      // a password change records that it happened, never the password
      if (
        e.action === 'user.password' &&
        /a-brand-new-password|\$2|scrypt|[0-9a-f]{64}:/.test(JSON.stringify({ before: e.before, after: e.after }))
      )
        problems.push(`${step.path}: the audit event holds password material`)
    }
    expect(problems).toEqual([])
    // coverage: each mutation in the router (as it is now) has its scenario above
    const mutations = listProcedures(appRouter)
      .filter((p) => p.type === 'mutation')
      .map((p) => p.path)
    const covered = new Set(steps.map((s) => s.path))
    expect(
      mutations.filter((m) => !covered.has(m)),
      'mutations without an audit scenario in server/api/audit.test.ts',
    ).toEqual([])
    recordFigures('audit', { mutations: mutations.length, scenarios: steps.length, events })
  }, 600_000)

  it('is for admins, filterable by action, actor and run, and paged', async () => {
    expect((await call('audit.list', 'expert', {})).code).toBe('FORBIDDEN')
    const byAction = await call('audit.list', 'admin', { action: 'knowledge.doc' })
    const rows = (
      byAction.data as { rows: Array<{ action: string; actorLabel: string; runId: string | null; id: bigint }> }
    ).rows
    expect(rows.length).toBeGreaterThanOrEqual(3)
    expect(rows.every((r) => r.action.startsWith('knowledge.doc'))).toBe(true)
    const byActor = (await call('audit.list', 'admin', { actor: 'EXPERT@hardening' })).data as {
      rows: Array<{ actorLabel: string }>
    }
    expect(byActor.rows.length).toBeGreaterThan(5)
    expect(byActor.rows.every((r) => /expert@hardening\.test/.test(r.actorLabel))).toBe(true)
    const byRun = (await call('audit.list', 'admin', { runId })).data as { rows: Array<{ runId: string }> }
    expect(byRun.rows.length).toBeGreaterThanOrEqual(8)
    expect(byRun.rows.every((r) => r.runId === runId)).toBe(true)
    // pages: newest first, each page strictly older than the last
    const p1 = (await call('audit.list', 'admin', { limit: 5 })).data as {
      rows: Array<{ id: bigint }>
      next: bigint | null
    }
    expect(p1.rows).toHaveLength(5)
    const p2 = (await call('audit.list', 'admin', { limit: 5, before: p1.next! })).data as {
      rows: Array<{ id: bigint }>
    }
    expect(p2.rows[0]!.id < p1.rows[4]!.id).toBe(true)
  })
})

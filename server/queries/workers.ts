// Connected evaluation workers and their load, for the dashboard and the Workers page. The
// process that drives runs asks its backend; a web-only process in server mode reads the queue's
// worker registry (fm_queue.workers, written by the workers' heartbeats) directly.
import type { AppServices } from '../app.ts'
import { QUEUE_TASKS, type WorkerStatus } from '../contracts/evaluation.ts'
import { ACTIVE_STATUSES } from '../../client-safe/run-config.ts'

export interface WorkerView {
  id: string
  name: string
  host: string
  mode: 'embedded' | 'server'
  status: string
  /** why it is in that status: a back-off's last infra error and when it takes jobs again */
  statusDetail: string | null
  cpu: number
  gpu: boolean
  gpuName: string | null
  languages: string[]
  /** a server worker of another job protocol: it takes none of this version's jobs */
  outdated: boolean
  /** a server worker connected with a role that can read the application's tables */
  appRole: boolean
  isolation: { level: string; mode: string; warnings: string[] } | null
  concurrency: number
  /** evaluations running on it now: 0 unless it is online (a dead worker's last heartbeat is no load) */
  running: number
  completed: number
  /** running / concurrency */
  load: number
  lastHeartbeat: number
  pid: number | null
}

/** The workers' totals every view shows: load counts on online workers only. */
export interface WorkersSummary {
  online: number
  running: number
}

export function workerView(w: WorkerStatus): WorkerView {
  // the last heartbeat of a worker that died (or stopped) may still say it was busy: its
  // evaluations are gone, retried elsewhere, so it carries none
  const running = w.status === 'online' || w.status === 'backing-off' ? w.running : 0
  return {
    id: w.id,
    name: w.name,
    host: w.host,
    mode: w.mode,
    status: w.status,
    statusDetail: w.statusDetail ?? null,
    cpu: w.capabilities?.cpu ?? 0,
    gpu: !!w.capabilities?.gpu,
    gpuName: w.capabilities?.gpuName ?? null,
    languages: w.capabilities?.languages ?? [],
    outdated: w.mode === 'server' && !w.capabilities?.tasks?.includes(QUEUE_TASKS.evaluateCpu),
    appRole: !!w.capabilities?.appRole,
    isolation: w.isolation
      ? { level: w.isolation.level, mode: String(w.isolation.mode), warnings: w.isolation.warnings ?? [] }
      : null,
    concurrency: w.concurrency,
    running,
    completed: w.completed,
    load: w.concurrency > 0 ? Math.min(1, running / w.concurrency) : 0,
    lastHeartbeat: new Date(w.lastHeartbeat).getTime(),
    pid: w.pid ?? null,
  }
}

export function summarize(workers: WorkerView[]): WorkersSummary {
  const online = workers.filter((w) => w.status === 'online')
  return { online: online.length, running: online.reduce((n, w) => n + w.running, 0) }
}

export async function listWorkers(app: AppServices): Promise<{
  source: 'backend' | 'queue' | 'none'
  workers: WorkerView[]
  capacity: number | null
  summary: WorkersSummary
}> {
  if (app.backend) {
    const ws = (await app.backend.workers()).map(workerView)
    return { source: 'backend', workers: ws, capacity: app.backend.capacity(), summary: summarize(ws) }
  }
  if (app.db.mode === 'server') {
    try {
      // status_detail read through the row's JSON: a queue an older engine installed lacks the column
      const rows = await app.db.prisma.$queryRawUnsafe<Array<Record<string, unknown>>>(
        `SELECT id, name, host, capabilities, isolation, concurrency, running, completed, status, pid, last_heartbeat,
                to_jsonb(w) ->> 'status_detail' AS status_detail,
                last_heartbeat > now() - interval '60 seconds' AS fresh
           FROM fm_queue.workers w
          WHERE status IN ('online', 'backing-off') OR coalesce(stopped_at, last_heartbeat) > now() - interval '1 hour'
          ORDER BY started_at`,
      )
      const ws = rows.map((r) => {
        const status = (r.status === 'online' || r.status === 'backing-off') && !r.fresh ? 'dead' : r.status
        return workerView({
          id: String(r.id),
          name: String(r.name),
          host: String(r.host),
          mode: 'server',
          capabilities: r.capabilities as WorkerStatus['capabilities'],
          isolation: r.isolation as WorkerStatus['isolation'],
          concurrency: Number(r.concurrency),
          running: Number(r.running),
          completed: Number(r.completed),
          lastHeartbeat: r.last_heartbeat as Date,
          status: status as WorkerStatus['status'],
          ...(status === 'backing-off' && r.status_detail ? { statusDetail: String(r.status_detail) } : {}),
          pid: r.pid ? Number(r.pid) : undefined,
        })
      })
      return {
        source: 'queue',
        workers: ws,
        capacity: ws.filter((w) => w.status === 'online').reduce((s, w) => s + w.concurrency, 0),
        summary: summarize(ws),
      }
    } catch {
      // no queue installed yet (no engine has started against this database)
    }
  }
  return { source: 'none', workers: [], capacity: null, summary: { online: 0, running: 0 } }
}

/**
 * Workers at isolation "none" (allowed only with FM_ALLOW_UNSANDBOXED=1) and the active runs they may be
 * evaluating: while both lists are non-empty, candidate code runs unsandboxed.
 */
export async function unsandboxedRuns(
  app: AppServices,
): Promise<{ workers: string[]; runs: Array<{ id: string; name: string | null }> }> {
  const { workers } = await listWorkers(app)
  const bare = workers
    .filter(
      (w) =>
        w.isolation?.level === 'none' &&
        (w.status === 'online' || w.status === 'starting' || w.status === 'backing-off'),
    )
    .map((w) => `${w.name} (${w.host})`)
  if (!bare.length) return { workers: [], runs: [] }
  const runs = await app.db.prisma.run.findMany({
    where: { status: { in: [...ACTIVE_STATUSES] } },
    select: { id: true, name: true },
    orderBy: { createdAt: 'desc' },
    take: 50,
  })
  return { workers: bare, runs }
}

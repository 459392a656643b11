import { describe, expect, it } from 'vitest'
import type { AppServices } from '../app.ts'
import { QUEUE_TASKS, type WorkerStatus } from '../contracts/evaluation.ts'
import { listWorkers, workerView } from './workers.ts'

const worker = (name: string, status: WorkerStatus['status'], running: number, concurrency = 2): WorkerStatus => ({
  id: name,
  name,
  host: 'h',
  mode: 'server',
  capabilities: { cpu: 4, gpu: false, languages: ['python'], tasks: [QUEUE_TASKS.evaluateCpu] },
  isolation: null,
  concurrency,
  running,
  completed: 3,
  lastHeartbeat: new Date(0),
  status,
})

describe('the workers every view shows', () => {
  it('counts load on online workers only: a dead or stopped worker’s last heartbeat is no evaluation running', async () => {
    const ws = [
      worker('alive', 'online', 1),
      worker('killed', 'dead', 2),
      worker('stopped', 'offline', 1),
      worker('booting', 'starting', 0),
    ]
    const app = { backend: { workers: async () => ws, capacity: () => 2 } } as unknown as AppServices
    const r = await listWorkers(app)
    expect(r.summary).toEqual({ online: 1, running: 1 })
    expect(r.workers.map((w) => [w.name, w.running, w.load])).toEqual([
      ['alive', 1, 0.5],
      ['killed', 0, 0],
      ['stopped', 0, 0],
      ['booting', 0, 0],
    ])
    // what was done stays: only the load is the present
    expect(r.workers.every((w) => w.completed === 3)).toBe(true)
  })
})

describe('a worker backing off after infra errors of its own', () => {
  it('shows why and until when; its evaluations still running count, and it is not counted online', async () => {
    const why =
      '3 evaluations in a row failed for infrastructure reasons on this machine (last: no bwrap); takes jobs again at 2030-01-01T00:00:00.000Z'
    const ws = [{ ...worker('broken', 'backing-off', 1), statusDetail: why }, worker('alive', 'online', 1)]
    const app = { backend: { workers: async () => ws, capacity: () => 2 } } as unknown as AppServices
    const r = await listWorkers(app)
    expect(r.workers[0]).toMatchObject({ status: 'backing-off', statusDetail: why, running: 1 })
    expect(r.workers[1]).toMatchObject({ status: 'online', statusDetail: null })
    expect(r.summary).toEqual({ online: 1, running: 1 })
  })
})

describe('workerView', () => {
  const caps = (extra: Partial<WorkerStatus['capabilities']>) => ({
    ...worker('w', 'online', 0),
    capabilities: { cpu: 2, gpu: false, languages: [], ...extra },
  })
  it('marks a server worker of another job protocol as outdated, and one on the application role', () => {
    expect(workerView(worker('w', 'online', 1))).toMatchObject({ outdated: false, appRole: false })
    // a worker from before the protocol lists no tasks; a newer one lists tasks of its own version
    expect(workerView(caps({})).outdated).toBe(true)
    expect(workerView(caps({ tasks: ['fm_evaluate_cpu_v999'] })).outdated).toBe(true)
    expect(workerView(caps({ tasks: [QUEUE_TASKS.evaluateCpu], appRole: true })).appRole).toBe(true)
    // the embedded pool's children take no queue tasks and are never outdated
    expect(workerView({ ...caps({}), mode: 'embedded' }).outdated).toBe(false)
  })
})

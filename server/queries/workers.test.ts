import { describe, expect, it } from 'vitest'
import { QUEUE_TASKS, type WorkerStatus } from '../contracts/evaluation.ts'
import { workerView } from './workers.ts'

const worker = (over: Partial<WorkerStatus>): WorkerStatus => ({
  id: 'w',
  name: 'w',
  host: 'h',
  mode: 'server',
  capabilities: { cpu: 2, gpu: false, languages: ['python'], tasks: [QUEUE_TASKS.evaluateCpu] },
  isolation: null,
  concurrency: 2,
  running: 1,
  completed: 3,
  lastHeartbeat: new Date(),
  status: 'online',
  ...over,
})

describe('workerView', () => {
  it('marks a server worker of another job protocol as outdated, and one on the application role', () => {
    expect(workerView(worker({}))).toMatchObject({ outdated: false, appRole: false })
    // a worker from before the protocol lists no tasks; a newer one lists tasks of its own version
    expect(workerView(worker({ capabilities: { cpu: 2, gpu: false, languages: ['python'] } })).outdated).toBe(true)
    expect(
      workerView(worker({ capabilities: { cpu: 2, gpu: false, languages: [], tasks: ['fm_evaluate_cpu_v999'] } }))
        .outdated,
    ).toBe(true)
    expect(
      workerView(
        worker({
          capabilities: { cpu: 2, gpu: false, languages: [], tasks: [QUEUE_TASKS.evaluateCpu], appRole: true },
        }),
      ).appRole,
    ).toBe(true)
    // the embedded pool's children take no queue tasks and are never outdated
    expect(workerView(worker({ mode: 'embedded', capabilities: { cpu: 2, gpu: false, languages: [] } })).outdated).toBe(
      false,
    )
  })
})

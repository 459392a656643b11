// The candidates export of a run whose model has no price: its candidates' cost is unknown (null,
// an empty CSV cell), as the dashboard says of the run's spend, not $0; a priced model's and an
// offline operator's candidates keep their cost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCaller } from '../api/root.ts'
import { createAppServices, type AppServices } from '../app.ts'
import type { Actor } from '../auth/roles.ts'
import type { Db } from '../db.ts'
import { silentLogger } from '../log.ts'
import { CSV_COLUMNS, toCsv } from '../../client-safe/candidate-query.ts'
import { seedSyntheticRun, syntheticId, setRunModels, UNPRICED_AND_PRICED } from '../../test-support/synthetic-run.ts'
import { dbModes } from '../../test-support/db-modes.ts'

const viewer: Actor = { id: 'user-viewer', label: 'viewer@example.test', role: 'viewer', via: 'session' }

describe.each(dbModes())('candidate cost in exports, %s', (_mode, open) => {
  let db: Db
  let cleanup: () => Promise<void>
  let app: AppServices
  let runId: string
  const as = () => createCaller({ app, actor: viewer, tokenScope: null, headers: new Headers() })

  beforeAll(async () => {
    ;({ db, cleanup } = await open())
    app = createAppServices(db, null, silentLogger)
    runId = (await seedSyntheticRun(db, { candidates: 30, islands: 1 })).runId
    await setRunModels(db, runId, UNPRICED_AND_PRICED)
    // #1 by the unpriced model (its calls counted $0), #2 by the priced one, #3 by an offline operator
    const set = (g: number, model: string | null, cost: number) =>
      db.prisma.candidate.update({ where: { id: syntheticId(runId, g) }, data: { model, costUsd: cost } })
    await set(1, 'openai:instant', 0)
    await set(2, 'openai:priced', 0.0012)
    await set(3, null, 0)
  })
  afterAll(() => cleanup?.())

  it('exports the cost of a candidate made by a model without a price as null, not 0', async () => {
    const exp = await as().candidates.export({ runId, sort: { field: 'seq', dir: 'asc' }, limit: 10, withCode: false })
    const bySeq = new Map(exp.rows.map((r) => [r.seq, r]))
    expect(bySeq.get(1)).toMatchObject({ model: 'openai:instant', costUsd: null })
    expect(bySeq.get(2)).toMatchObject({ model: 'openai:priced', costUsd: 0.0012 })
    expect(bySeq.get(3)).toMatchObject({ model: null, costUsd: 0 })
    // metrics and features are JSON with commas of their own: left out to split the line simply
    const lines = toCsv(exp.rows.map((r) => ({ ...r, metrics: null, features: null })))
      .trimEnd()
      .split('\r\n')
    const col = CSV_COLUMNS.indexOf('costUsd')
    const cost = (seq: number) => lines[1 + exp.rows.findIndex((r) => r.seq === seq)]!.split(',')[col]
    expect([cost(1), cost(2), cost(3)]).toEqual(['', '0.0012', '0'])
  })
})

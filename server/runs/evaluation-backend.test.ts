// problemSources: the per-job masks of embedded mode follow problems imported after the pool started.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Db } from '../db.ts'
import type { EvalJob } from '../contracts/evaluation.ts'
import { problemSources } from './evaluation-backend.ts'

const dir = mkdtempSync(join(tmpdir(), 'fm-sources-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const job = (id: string) => ({ problem: { id, bundleHash: 'a'.repeat(64) } }) as EvalJob

describe('problemSources', () => {
  it('reads the problems again when a job names one it has not seen, and keeps only folders that exist', async () => {
    const rows = [
      { id: 'a', sourcePath: join(dir) },
      { id: 'b', sourcePath: '/nonexistent/fm-problem' },
      { id: 'c', sourcePath: null },
    ]
    let reads = 0
    const db = {
      prisma: { problem: { findMany: async () => (reads++, rows.map((r) => ({ ...r }))) } },
    } as unknown as Db
    const masks = problemSources(db, 60_000)
    expect(await masks(job('a'))).toEqual([dir])
    expect(await masks(job('a'))).toEqual([dir])
    expect(reads).toBe(1)
    rows.push({ id: 'd', sourcePath: join(dir, '..') })
    expect(await masks(job('d'))).toEqual([dir, join(dir, '..')])
    expect(reads).toBe(2)
  })
})

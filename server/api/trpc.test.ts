// How the API answers a schema refusal over HTTP: a readable message naming the first issues, the
// issues themselves in data.zodIssues (what the console's forms read).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApiHarness, type ApiHarness } from '../../test-support/api-server.ts'
import { callProcedure } from '../../test-support/http-client.ts'

let h: ApiHarness
beforeAll(async () => {
  h = await startApiHarness()
}, 120_000)
afterAll(() => h?.stop())

describe('a schema refusal', () => {
  it('says which field and why in its message, and keeps the issues in data', async () => {
    const r = await callProcedure(h.url, 'runs.list', 'query', { limit: -1 }, { token: h.users.viewer.token })
    expect(r.status).toBe(400)
    expect(r.code).toBe('BAD_REQUEST')
    expect(r.message).toBe('limit: Too small: expected number to be >=1')
    const issues = JSON.parse(r.body).error.json.data.zodIssues
    expect(issues).toEqual([{ path: 'limit', message: 'Too small: expected number to be >=1' }])
  })

  it('names the first three issues and counts the rest', async () => {
    const r = await callProcedure(
      h.url,
      'runs.list',
      'query',
      { limit: 0, status: 'nope', idPrefix: 'x', extra: 1 },
      { token: h.users.viewer.token },
    )
    expect(r.status).toBe(400)
    const issues = JSON.parse(r.body).error.json.data.zodIssues as Array<{ path: string; message: string }>
    expect(issues.length).toBeGreaterThan(3)
    const named = issues.slice(0, 3).map((i) => `${i.path}: ${i.message}`)
    expect(r.message).toBe(`${named.join('; ')}; and ${issues.length - 3} more`)
    expect(r.message).not.toMatch(/^\[|"origin"/)
  })
})

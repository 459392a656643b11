import { describe, expect, it } from 'vitest'
import { listMigrations } from './migrate'

describe('migrations', () => {
  // The Prisma CLI's driver-adapter engine splits a script at every `;`, comments included, so a
  // `;` in a comment applies here but fails `prisma migrate deploy` on a server.
  it('have no `;` inside a comment', () => {
    const bad = listMigrations().flatMap((m) =>
      m.sql
        .split('\n')
        .map((line, i) => ({ line, at: `${m.name}:${i + 1}` }))
        .filter(({ line }) => /--.*;/.test(line))
        .map(({ at }) => at),
    )
    expect(bad).toEqual([])
  })
})

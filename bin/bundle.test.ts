import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { bundle } from './bundle.mjs'

const dir = mkdtempSync(join(tmpdir(), 'fm-bundle-'))
const name = `test-${process.pid}`
const cache = join(import.meta.dirname, '..', 'node_modules', '.cache', 'fm-agent')

describe('bundle', () => {
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
    for (const f of readdirSync(cache)) if (f.startsWith(`${name}-`) || f === `${name}.json`) rmSync(join(cache, f))
  })

  it('runs TypeScript as one module whose import.meta.url is the source file, rebuilt when a source changes', async () => {
    const entry = join(dir, 'entry.ts')
    const part = join(dir, 'part.ts')
    writeFileSync(part, 'export const word: string = "first"\nexport const where = import.meta.url\n')
    writeFileSync(entry, 'export { word, where } from "./part.ts"\nexport const here = import.meta.url\n')
    const first = await bundle(entry, name)
    const m1 = await import(pathToFileURL(first).href)
    expect([m1.word, m1.where, m1.here]).toEqual(['first', pathToFileURL(part).href, pathToFileURL(entry).href])

    // unchanged sources: the same bundle, not written again
    const built = statSync(first).mtimeMs
    expect(await bundle(entry, name)).toBe(first)
    expect(statSync(first).mtimeMs).toBe(built)

    writeFileSync(part, 'export const word: string = "second"\nexport const where = import.meta.url\n')
    const second = await bundle(entry, name)
    expect(second).not.toBe(first)
    expect((await import(pathToFileURL(second).href)).word).toBe('second')
  })

  it('builds at once what is asked at once, and leaves no esbuild process behind', async () => {
    const entries = ['a', 'b', 'c'].map((w) => {
      const entry = join(dir, `concurrent-${w}.ts`)
      writeFileSync(entry, `export const word: string = "${w}"\n`)
      return entry
    })
    const built = await Promise.all(entries.map((e, i) => bundle(e, `${name}-c${i}`)))
    expect(await Promise.all(built.map(async (p) => (await import(pathToFileURL(p).href)).word))).toEqual([
      'a',
      'b',
      'c',
    ])
    const children = readdirSync(`/proc/${process.pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${process.pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean),
    )
    const commands = children.map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      } catch {
        return '' // exited meanwhile
      }
    })
    expect(commands.filter((c) => c.includes('esbuild'))).toEqual([])
  })

  it('fails on a source that does not compile (the CLI then runs from the sources)', async () => {
    const entry = join(dir, 'broken.ts')
    writeFileSync(entry, 'export const = 1\n')
    await expect(bundle(entry, `${name}-broken`)).rejects.toThrow(/Expected identifier/)
  })

  it("the CLI's start loads no package that only the server, server mode or a model call needs", async () => {
    const cli = readFileSync(await bundle(join(import.meta.dirname, '..', 'server/cli/main.ts'), 'cli'), 'utf8')
    // packages stay external: what a start loads are the bundle's static imports
    const loaded = new Set([...cli.matchAll(/^import [^;]*?from "([^"./][^"]*)";?$/gm)].map((m) => m[1]))
    expect(loaded.has('@prisma/client/runtime/client') && loaded.has('@electric-sql/pglite')).toBe(true)
    const lazy = [
      'better-auth',
      'better-auth/adapters/prisma',
      'better-auth/crypto',
      'better-auth/node',
      'graphile-worker',
      '@prisma/adapter-pg',
      '@langchain/core/messages',
      '@langchain/openai',
      '@langchain/anthropic',
      '@langchain/google-genai',
      '@langchain/ollama',
    ]
    expect(lazy.filter((p) => loaded.has(p))).toEqual([])
  })
})

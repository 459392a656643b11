import { describe, expect, it } from 'vitest'
import { preloadProvider, unsetKeyWarning } from './chat-model.ts'

describe('preloadProvider', () => {
  it("loads a provider's package once", async () => {
    const first = preloadProvider('openai')
    expect(preloadProvider('openai')).toBe(first)
    await expect(first).resolves.toBe(true)
  })

  it('answers false for a provider it has no package for, and never rejects', async () => {
    await expect(preloadProvider('no-such-provider' as 'openai')).resolves.toBe(false)
  })
})

describe('unsetKeyWarning', () => {
  const m = { provider: 'openai' as const, model: 'coder', baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'MY_LOCAL_KEY' }
  it('names a key variable that is named but not set, for a server that may do without one', () => {
    expect(unsetKeyWarning(m, {})).toBe(
      'model openai:coder: MY_LOCAL_KEY is not set, so its requests to http://127.0.0.1:9/v1 go without a key (set it if that server wants one)',
    )
    expect(unsetKeyWarning(m, { MY_LOCAL_KEY: 'k' })).toBeNull()
    // no variable named: nothing was asked for
    expect(unsetKeyWarning({ ...m, apiKeyEnv: undefined }, {})).toBeNull()
    // the public API without its key is refused before the run starts, not warned about
    expect(unsetKeyWarning({ provider: 'openai', model: 'gpt-4.1', apiKeyEnv: 'MY_OPENAI_KEY' }, {})).toBeNull()
  })
})

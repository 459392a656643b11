import { describe, expect, it } from 'vitest'
import { preloadProvider } from './chat-model.ts'

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

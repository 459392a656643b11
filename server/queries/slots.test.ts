import { describe, expect, it } from 'vitest'
import { Slots } from './slots.ts'

describe('Slots', () => {
  it('runs at most its size at once, the rest in the order they came, through failures', async () => {
    const slots = new Slots(2)
    let now = 0
    let most = 0
    const order: number[] = []
    const gates = Array.from({ length: 5 }, () => {
      let resolve!: () => void
      const promise = new Promise<void>((r) => (resolve = r))
      return { promise, resolve }
    })
    // each outcome taken as it comes: a rejection waiting for allSettled would be unhandled meanwhile
    const runs = gates.map((g, i) =>
      slots
        .run(async () => {
          most = Math.max(most, ++now)
          order.push(i)
          await g.promise
          now--
          if (i === 1) throw new Error('task 1 failed')
          return i
        })
        .then(
          () => 'fulfilled',
          () => 'rejected',
        ),
    )
    for (const g of gates) {
      await new Promise((r) => setImmediate(r))
      g.resolve()
    }
    const settled = await Promise.all(runs)
    expect(most).toBe(2)
    expect(order).toEqual([0, 1, 2, 3, 4])
    expect(settled).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'])
    // every place came back
    expect(await slots.run(async () => 'again')).toBe('again')
  })
})

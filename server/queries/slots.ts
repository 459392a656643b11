/** At most `size` tasks at once in this process; the others wait their turn, first come first served. */
export class Slots {
  private running = 0
  private readonly waiting: Array<() => void> = []

  constructor(readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) await new Promise<void>((r) => this.waiting.push(r))
    else this.running++
    try {
      return await task()
    } finally {
      // the place passes to the next in line, or is given back
      const next = this.waiting.shift()
      if (next) next()
      else this.running--
    }
  }
}

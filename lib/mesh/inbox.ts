/**
 * A bounded queue between the node's delivery and one `for await` reader.
 * When it is full, delivery waits, which in turn stops the reading of the
 * sockets: a slow reader slows its peers down instead of losing messages.
 */
export class Inbox<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = []
  private ended = false
  private wakeReader: (() => void) | undefined
  private readonly waitingWriters: Array<() => void> = []

  constructor (private readonly capacity: number, private readonly onReturn: () => void) {}

  /** Adds an item; returns a promise only when the reader must catch up first. */
  push (item: T): Promise<void> | undefined {
    if (this.ended) return undefined
    this.items.push(item)
    this.wakeReader?.()
    if (this.items.length < this.capacity) return undefined
    return new Promise(resolve => { this.waitingWriters.push(resolve) })
  }

  /** Adds items that were waiting for a reader, beyond the capacity if need be: they are bounded where they were kept. */
  prefill (items: T[]): void {
    this.items.push(...items)
  }

  /** Lets the reader finish what is buffered, then end. */
  end (): void {
    this.ended = true
    this.wakeReader?.()
    for (const wake of this.waitingWriters.splice(0)) wake()
  }

  async next (): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.items.length > 0) {
        const value = this.items.shift() as T
        if (this.items.length < this.capacity) for (const wake of this.waitingWriters.splice(0)) wake()
        return { value, done: false }
      }
      if (this.ended) return { value: undefined, done: true }
      await new Promise<void>(resolve => { this.wakeReader = resolve })
      this.wakeReader = undefined
    }
  }

  async return (): Promise<IteratorResult<T>> {
    this.items.length = 0
    this.end()
    this.onReturn()
    return { value: undefined, done: true }
  }

  [Symbol.asyncIterator] (): this {
    return this
  }
}

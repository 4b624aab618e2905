/**
 * A bounded queue between the node's delivery and one `for await` reader,
 * of items one by one or (`batches()`) of everything buffered at a time.
 * When it is full, delivery waits, which in turn stops the reading of the
 * sockets: a slow reader slows its peers down instead of losing messages.
 */
import { WakeUp } from '../../transforms/core/wake-up.js'

export class Inbox<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = []
  private ended = false
  private readonly reader = new WakeUp()
  private readonly waitingWriters: Array<() => void> = []

  constructor (private readonly capacity: number, private readonly onReturn: () => void) {}

  /** Adds an item; returns a promise only when the reader must catch up first. */
  push (item: T): Promise<void> | undefined {
    if (this.ended) return undefined
    this.items.push(item)
    this.reader.notify()
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
    this.reader.notify()
    this.wakeWriters()
  }

  async next (): Promise<IteratorResult<T>> {
    if (!await this.readable()) return { value: undefined, done: true }
    const value = this.items.shift() as T
    if (this.items.length < this.capacity) this.wakeWriters()
    return { value, done: false }
  }

  /** The same items, as arrays of everything buffered when the reader asks: one step per burst, not per item. */
  batches (): AsyncIterableIterator<T[]> {
    return {
      next: async () => {
        if (!await this.readable()) return { value: undefined, done: true }
        const value = this.items.splice(0)
        this.wakeWriters()
        return { value, done: false }
      },
      return: async () => {
        await this.return()
        return { value: undefined, done: true }
      },
      [Symbol.asyncIterator] () { return this }
    }
  }

  /** Waits for an item; false once the inbox has ended and is empty. */
  private async readable (): Promise<boolean> {
    while (this.items.length === 0) {
      if (this.ended) return false
      await this.reader.wait()
    }
    return true
  }

  private wakeWriters (): void {
    for (const wake of this.waitingWriters.splice(0)) wake()
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

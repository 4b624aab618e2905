/**
 * Driving a transform by hand: sources to feed it (from, Batches), reading
 * it out (collect, finish), and a fake link that records what it sends and
 * why it closes.
 */
import type { Link } from '../../transforms/core/link.js'
import { messageLine, type Message } from '../../transforms/core/line-protocol.js'
import { pushable } from '../../harness/streams.js'

/** A source that yields `items`, then, if given `holdOpen`, ends only once it settles. */
export async function * from<T> (items: T[], holdOpen?: Promise<void>): AsyncGenerator<T> {
  yield * items
  if (holdOpen !== undefined) await holdOpen
}

/** Everything `source` yields, once it ends. */
export async function collect<T> (source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of source) out.push(item)
  return out
}

/** A source of batches the test pushes into, as the classifier would yield them. */
export class Batches implements AsyncIterable<Message[]> {
  private readonly batches = pushable<Message[]>()

  push (batch: Message[]): void {
    this.batches.push(batch)
  }

  end (): void {
    this.batches.end()
  }

  [Symbol.asyncIterator] (): AsyncIterator<Message[]> {
    return this.batches[Symbol.asyncIterator]()
  }
}

/** Records what the transform sends and why it closes. */
export class FakeLink implements Link {
  readonly sent: Message[] = []
  readonly closes: Error[] = []
  async send (msg: Message): Promise<void> { this.sent.push(msg) }
  close (reason: Error): void { this.closes.push(reason) }
  /** How many messages of `type` were sent. */
  count (type: Message['type']): number { return this.sent.filter(m => m.type === type).length }
  /** What was sent, as wire lines. */
  get lines (): string[] { return this.sent.map(m => messageLine(m) ?? m.type) }
}

/** Ends `source` and reads `out`, the transform's output, to its end. */
export async function finish (source: Batches, out: AsyncGenerator<Message[]>): Promise<void> {
  source.end()
  for (let result = await out.next(); result.done !== true; result = await out.next());
}

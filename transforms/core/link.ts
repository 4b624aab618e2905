/**
 * What a protocol transform may do to the connection it runs in. Inbound
 * transforms read messages in order; when the protocol requires an answer
 * (`PONG`, `PEERS:`) they queue it on the same connection's outbound side
 * through this interface, which is the only path from inbound to outbound.
 */
import type { Message } from './line-protocol.js'
import { checkArgument } from './option-table.js'

export interface Link {
  /** Queues a message for the peer; resolves once queued, waiting while the queue is full. */
  send: (msg: Message) => Promise<void>
  /** Closes the connection, reporting `reason`. */
  close: (reason: Error) => void
}

/** Whether `value` can serve as a `Link`. */
export function isLink (value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Link).send === 'function' && typeof (value as Link).close === 'function'
}

/** A stage of a connection's inbound or outbound pipeline: batches of messages in, batches out. */
export type MessageTransform = (source: AsyncIterable<Message[]>) => AsyncIterable<Message[]>

/**
 * Builds a transform from a per-message function. Return the message (or a
 * replacement) to pass it on, an array to emit several, or `undefined` to
 * consume it.
 *
 * @example
 * ```ts
 * const shout = mapMessages(m => m.type === 'chat' ? { ...m, text: m.text.toUpperCase() } : m)
 * ```
 */
export function mapMessages (fn: (msg: Message) => Message | Message[] | undefined): MessageTransform {
  checkArgument('fn', 'a function from a message to messages', fn, value => typeof value === 'function')
  return async function * map (source) {
    for await (const batch of source) {
      const out: Message[] = []
      for (const msg of batch) {
        const result = fn(msg)
        if (result === undefined) continue
        if (Array.isArray(result)) out.push(...result)
        else out.push(result)
      }
      yield out
    }
  }
}

/** Runs transforms one after the other, as one transform. */
export function composeTransforms (transforms: readonly MessageTransform[]): MessageTransform {
  checkArgument('transforms', 'an array of transforms', transforms, value => Array.isArray(value) && value.every(t => typeof t === 'function'))
  return source => transforms.reduce<AsyncIterable<Message[]>>((stream, transform) => transform(stream), source)
}

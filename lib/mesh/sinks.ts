/**
 * Sinks for producers at high rates: it-pipe sinks that send every item of
 * a source (chat text for a string, a `BYTES` payload otherwise), waiting
 * only while a queue is full. A source may yield arrays, one step for many
 * messages, so a producer pays no promise per message, and backpressure
 * still holds: the sink stops pulling while a peer's queue is full.
 */
import type { Uint8ArrayList } from 'uint8arraylist'
import type { Message } from '../../transforms/core/line-protocol.js'

/** One message for a sink: chat text, or a `BYTES` payload. */
export type Outgoing = string | Uint8Array | Uint8ArrayList

/** What a sink reads: messages, or arrays of them. */
export type OutgoingSource = AsyncIterable<Outgoing | readonly Outgoing[]> | Iterable<Outgoing | readonly Outgoing[]>

/** An it-pipe sink of messages: resolves once the source has ended and everything it held is queued. */
export type MessageSink = (source: OutgoingSource) => Promise<void>

/** A message as the queues take it. */
export type ChatOrBytes = Extract<Message, { type: 'chat' | 'bytes' }>

/**
 * A sink that turns each item into a message (`toMessage`, which checks it)
 * and hands it to `queue`, awaiting only what `queue` returns: a promise
 * while a queue is full, `undefined` when the message was queued at once.
 */
export function messageSink (queue: (msg: ChatOrBytes) => Promise<unknown> | undefined, toMessage: (item: Outgoing) => ChatOrBytes): MessageSink {
  return async source => {
    for await (const item of source) {
      // No helper call per message: an async call would cost the very promise this avoids.
      const items: readonly Outgoing[] = Array.isArray(item) ? item : [item as Outgoing]
      for (const one of items) {
        const wait = queue(toMessage(one))
        if (wait !== undefined) await wait
      }
    }
  }
}

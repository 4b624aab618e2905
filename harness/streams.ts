/** Small stream helpers for tests: a pushable source, a collecting reader, and a raw connection end. */
import type { ByteChunk, ProtocolStream, Transport } from '../lib/index.js'

export interface Pushable<T> extends AsyncIterable<T> {
  push: (item: T) => void
  end: () => void
}

/** An async iterable fed by `push()`, ended by `end()`. Unbounded: tests only. */
export function pushable<T> (): Pushable<T> {
  const items: T[] = []
  let ended = false
  let wake: (() => void) | undefined
  return {
    push (item) { items.push(item); wake?.() },
    end () { ended = true; wake?.() },
    async * [Symbol.asyncIterator] () {
      for (;;) {
        const item = items.shift()
        if (item !== undefined) yield item
        else if (ended) return
        else await new Promise<void>(resolve => { wake = resolve })
      }
    }
  }
}

/** Every byte of a byte source, concatenated, once it ends. */
export async function collect (source: AsyncIterable<ByteChunk>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const chunk of source) parts.push(Buffer.from(chunk instanceof Uint8Array ? chunk : chunk.subarray()))
  return Buffer.concat(parts)
}

/** A raw end of a connection driven by hand: what it writes, and everything it reads. */
export interface RawEnd {
  write: (bytes: Uint8Array | string) => void
  end: () => void
  received: Promise<Buffer>
}

export function rawEnd (transport: Transport): RawEnd {
  const out = pushable<Uint8Array>()
  void transport.sink(out).catch(() => {})
  return {
    write: bytes => { out.push(typeof bytes === 'string' ? Buffer.from(bytes) : bytes) },
    end: () => { out.end() },
    received: collect(transport.source).catch(() => Buffer.alloc(0))
  }
}

/** Splits bytes into chunks of random sizes from 1 to `max`. */
export function rechunk (bytes: Uint8Array, max: number): Uint8Array[] {
  const chunks: Uint8Array[] = []
  for (let at = 0; at < bytes.length;) {
    const size = 1 + Math.floor(Math.random() * max)
    chunks.push(bytes.subarray(at, at + size))
    at += size
  }
  return chunks
}

/**
 * What a fairness test of protocol streams looks at: a handler that counts
 * the bytes each stream receives (and half-closes it at its end), and each
 * stream's count at the moment the first one had received `size`.
 */
export interface ProgressRecorder {
  handle: (stream: ProtocolStream) => void
  received: Map<number, number>
  /** Streams that had a quarter of `size` across when the first one had all of it. */
  startedWhenFirstDone: () => number
}

export function progressRecorder (size: number): ProgressRecorder {
  const received = new Map<number, number>()
  let whenFirstDone: number[] | undefined
  return {
    received,
    handle: stream => {
      void (async () => {
        for await (const chunk of stream.source) {
          const total = (received.get(stream.id) ?? 0) + chunk.byteLength
          received.set(stream.id, total)
          if (total === size) whenFirstDone ??= [...received.values()]
        }
        await stream.closeWrite()
      })()
    },
    startedWhenFirstDone: () => (whenFirstDone ?? []).filter(n => n >= size / 4).length
  }
}

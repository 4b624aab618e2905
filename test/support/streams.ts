/** Small stream helpers for tests: a pushable source and a collecting reader. */
import type { ByteChunk } from '../../lib/index.js'

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

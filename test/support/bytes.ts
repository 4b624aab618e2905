/** Bytes in tests: text as UTF-8, data cut into chunks, digests. */
import { createHash } from 'node:crypto'

/** `text` as UTF-8 bytes. */
export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

/** Cuts `data` into chunks of `size` bytes (the last one shorter). */
export function chunked (data: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = []
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size))
  return chunks
}

/** The SHA-256 of `data`, in hex. */
export const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex')

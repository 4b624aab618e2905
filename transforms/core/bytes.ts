/** Byte chunks as streams carry them, and comparisons on contiguous and chunked buffers alike, without joining the chunks. */
import type { Uint8ArrayList } from 'uint8arraylist'

/** Whether `data` starts with `prefix`. */
export function startsWithBytes (data: Uint8Array | Uint8ArrayList, prefix: Uint8Array): boolean {
  if (data.byteLength < prefix.length) return false
  const head = data.subarray(0, prefix.length)
  for (let i = 0; i < prefix.length; i++) if (head[i] !== prefix[i]) return false
  return true
}

/** Normalises the byte-stream items a source may yield. */
export type ByteChunk = Uint8Array | Uint8ArrayList

/** Calls `fn` for every contiguous piece of a chunk. */
export function forEachPiece (chunk: ByteChunk, fn: (piece: Uint8Array) => void): void {
  if (chunk instanceof Uint8Array) fn(chunk)
  else for (const piece of chunk) fn(piece)
}

/**
 * Memory measurements for tests, benchmarks and the soak: a real collection first, so
 * that what is measured is what is still referenced.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { seeded } from './random.js'

setFlagsFromString('--expose-gc')
/** The collector, reachable without starting node with --expose-gc. */
const collect = runInNewContext('gc') as () => void

export const MiB = 1024 * 1024

/** Memory still referenced after a full collection, in bytes: the V8 heap, and the memory behind Buffers (ArrayBuffers). */
export function liveMemory (): { heap: number, arrayBuffers: number } {
  // The second pass frees the backing stores of Buffers the first one found dead.
  collect()
  collect()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return { heap: heapUsed, arrayBuffers }
}

/** Bytes still referenced after a full collection: JS heap plus the memory behind Buffers. */
export function liveBytes (): number {
  const { heap, arrayBuffers } = liveMemory()
  return heap + arrayBuffers
}

export function formatMiB (bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`
}

/** `length` seeded random bytes. */
export function seededBytes (length: number, seed: number): Buffer {
  const random = seeded(seed)
  const bytes = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i += 4) bytes.writeUInt32LE(Math.floor(random() * 4294967296), Math.min(i, length - 4))
  return bytes
}

/**
 * Memory measurements for tests and the soak: a real collection first, so
 * that what is measured is what is still referenced.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

setFlagsFromString('--expose-gc')
/** The collector, reachable without starting node with --expose-gc. */
const collect = runInNewContext('gc') as () => void

export const MiB = 1024 * 1024

/** Bytes still referenced after a full collection: JS heap plus the memory behind Buffers. */
export function liveBytes (): number {
  collect()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return heapUsed + arrayBuffers
}

export function formatMiB (bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`
}

/** A small seeded generator (mulberry32), so that "random" test input is the same on every run. */
export function seededRandom (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `length` seeded random bytes. */
export function seededBytes (length: number, seed: number): Buffer {
  const random = seededRandom(seed)
  const bytes = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i += 4) bytes.writeUInt32LE(Math.floor(random() * 4294967296), Math.min(i, length - 4))
  return bytes
}

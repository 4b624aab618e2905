/**
 * What the network benchmarks share: a timed round (from the parent's
 * command to send until the receivers report having everything) and
 * alternating meshline / baseline rounds.
 */
import type { PeerProcess } from './fork.js'
import type { StreamArgs } from './peer.js'

/** Rates in the tables are in MB: 10^6 bytes. */
export const MB = 1e6
export const KiB = 1024
export const MiB = 1024 * KiB

/** A row of a network benchmark, as printed and saved. */
export interface NetRow {
  name: string
  /** Payload bytes per message. */
  payloadBytes: number
  /** meshline's delivered messages per second (all receivers together). */
  messagesPerSec: number
  /** meshline's delivered payload throughput, in MB/s. */
  mbPerSec: number
  baselineMessagesPerSec: number
  baselineMbPerSec: number
  /** meshline / baseline, in messages per second: above 1 is faster. */
  ratio: number
  [extra: string]: string | number
}

/**
 * One round: resets the receivers' counters, tells the sender to stream, and
 * resolves once every receiver of `group` counted `units`, with the time
 * that took in ms.
 */
export async function timedRound (sender: PeerProcess, receivers: PeerProcess, group: 'mesh' | 'raw', units: number, stream: StreamArgs): Promise<number> {
  await receivers.call('resetCounts', { group })
  const start = performance.now()
  await Promise.all([
    sender.call(group === 'mesh' ? 'meshStream' : 'rawStream', stream),
    receivers.call('waitForCounts', { group, units })
  ])
  return performance.now() - start
}

/**
 * Runs meshline and baseline rounds alternately, so that drift (JIT, GC, CPU
 * frequency, other work on the machine) affects both alike, after one
 * warm-up round each; resolves with each side's fastest round, in ms.
 */
export async function fastestRounds (rounds: number, meshline: () => Promise<number>, baseline: () => Promise<number>): Promise<[number, number]> {
  await meshline()
  await baseline()
  let best: [number, number] = [Infinity, Infinity]
  for (let i = 0; i < rounds; i++) {
    best = [Math.min(best[0], await meshline()), Math.min(best[1], await baseline())]
  }
  return best
}

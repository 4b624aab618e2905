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

/** Round times of both sides, in ms, in the order they ran. */
export interface Rounds {
  meshline: number[]
  baseline: number[]
}

/**
 * Runs meshline and baseline rounds alternately, so that drift (JIT, GC, CPU
 * frequency, other work on the machine) affects both alike, after one
 * warm-up round each.
 */
export async function alternateRounds (rounds: number, meshline: () => Promise<number>, baseline: () => Promise<number>): Promise<Rounds> {
  await meshline()
  await baseline()
  const times: Rounds = { meshline: [], baseline: [] }
  for (let i = 0; i < rounds; i++) {
    times.meshline.push(await meshline())
    times.baseline.push(await baseline())
  }
  return times
}

export function fastest (times: number[]): number {
  return Math.min(...times)
}

export function median (times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b)
  const middle = sorted.length / 2
  return sorted.length % 2 === 1 ? sorted[Math.floor(middle)] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/**
 * The columns every throughput row shares, from `messages` delivered per
 * round of each side: rates of the fastest rounds, their ratio, and the
 * ratio of the median rounds, which shows how much the fastest ones owe to
 * luck on a busy machine.
 */
export function throughputColumns (times: Rounds, messages: number, payloadBytes: number): Pick<NetRow, 'messagesPerSec' | 'mbPerSec' | 'baselineMessagesPerSec' | 'baselineMbPerSec' | 'ratio'> & { medianRatio: number } {
  const messagesPerSec = messages / (fastest(times.meshline) / 1000)
  const baselineMessagesPerSec = messages / (fastest(times.baseline) / 1000)
  return {
    messagesPerSec,
    mbPerSec: messagesPerSec * payloadBytes / MB,
    baselineMessagesPerSec,
    baselineMbPerSec: baselineMessagesPerSec * payloadBytes / MB,
    ratio: messagesPerSec / baselineMessagesPerSec,
    medianRatio: median(times.baseline) / median(times.meshline)
  }
}

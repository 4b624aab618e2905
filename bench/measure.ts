/**
 * What the network benchmarks share: a timed round (from the parent's
 * command to send until the receivers report having everything) and
 * alternating meshline / baseline rounds.
 */
import type { PeerProcess } from './fork.js'
import type { Group, StreamArgs } from './peer.js'

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

/** One round of one side. */
export interface Round {
  /** From the command to send until every receiver had every message, in ms. */
  ms: number
  /** CPU time (user + system) the sender's and the receivers' processes used meanwhile, in ms. */
  cpuMs: number
}

/**
 * One round: resets the receivers' counters, tells the sender of `group` to
 * stream, and resolves once every receiver of `group` counted `units`.
 */
export async function timedRound (sender: PeerProcess, receivers: PeerProcess, group: Group, units: number, stream: StreamArgs): Promise<Round> {
  await receivers.call('resetCounts', { group })
  const cpuTime = async (): Promise<number> => (await sender.call('cpuTime', undefined)) + (await receivers.call('cpuTime', undefined))
  const cpuBefore = await cpuTime()
  const start = performance.now()
  await Promise.all([
    group === 'raw' ? sender.call('rawStream', stream) : sender.call('meshStream', { ...stream, group }),
    receivers.call('waitForCounts', { group, units })
  ])
  const ms = performance.now() - start
  return { ms, cpuMs: await cpuTime() - cpuBefore }
}

/** The rounds of both sides, in the order they ran. */
export interface Rounds {
  meshline: Round[]
  baseline: Round[]
}

/**
 * Runs meshline and baseline rounds alternately, so that drift (JIT, GC, CPU
 * frequency, other work on the machine) affects both alike, after one
 * warm-up round each.
 */
export async function alternateRounds (rounds: number, meshline: () => Promise<Round>, baseline: () => Promise<Round>): Promise<Rounds> {
  await meshline()
  await baseline()
  const times: Rounds = { meshline: [], baseline: [] }
  for (let i = 0; i < rounds; i++) {
    times.meshline.push(await meshline())
    times.baseline.push(await baseline())
  }
  return times
}

/** The fastest round's time, in ms. */
export function fastest (rounds: Round[]): number {
  return Math.min(...rounds.map(round => round.ms))
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length / 2
  return sorted.length % 2 === 1 ? sorted[Math.floor(middle)] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/**
 * The columns every throughput row shares, from `messages` delivered per
 * round of each side: rates of the fastest rounds and their ratio; the ratio
 * of the median rounds, which shows how much the fastest ones owe to luck
 * on a busy machine; and the CPU time both processes spent per GB of
 * payload (median rounds), which other work on the machine skews less than
 * wall-clock rates.
 */
export function throughputColumns (times: Rounds, messages: number, payloadBytes: number): Pick<NetRow, 'messagesPerSec' | 'mbPerSec' | 'baselineMessagesPerSec' | 'baselineMbPerSec' | 'ratio'> & Record<'medianRatio' | 'cpuMsPerGb' | 'baselineCpuMsPerGb', number> {
  const messagesPerSec = messages / (fastest(times.meshline) / 1000)
  const baselineMessagesPerSec = messages / (fastest(times.baseline) / 1000)
  const gigabytes = messages * payloadBytes / 1e9
  return {
    messagesPerSec,
    mbPerSec: messagesPerSec * payloadBytes / MB,
    baselineMessagesPerSec,
    baselineMbPerSec: baselineMessagesPerSec * payloadBytes / MB,
    ratio: messagesPerSec / baselineMessagesPerSec,
    medianRatio: median(times.baseline.map(round => round.ms)) / median(times.meshline.map(round => round.ms)),
    cpuMsPerGb: median(times.meshline.map(round => round.cpuMs)) / gigabytes,
    baselineCpuMsPerGb: median(times.baseline.map(round => round.cpuMs)) / gigabytes
  }
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number
}

/**
 * A row of round-trip times (µs), meshline's beside its baseline's:
 * `messagesPerSec` is round trips per second at the median RTT, so that, as
 * in every row, a ratio above 1 means meshline is faster.
 */
export function roundTripRow (name: string, payloadBytes: number, meshlineUs: number[], baselineUs: number[]): NetRow {
  const meshline = [...meshlineUs].sort((a, b) => a - b)
  const baseline = [...baselineUs].sort((a, b) => a - b)
  const messagesPerSec = 1e6 / percentile(meshline, 0.5)
  const baselineMessagesPerSec = 1e6 / percentile(baseline, 0.5)
  return {
    name,
    payloadBytes,
    messagesPerSec,
    mbPerSec: messagesPerSec * payloadBytes / MB,
    p50Us: percentile(meshline, 0.5),
    p99Us: percentile(meshline, 0.99),
    baselineMessagesPerSec,
    baselineMbPerSec: baselineMessagesPerSec * payloadBytes / MB,
    baselineP50Us: percentile(baseline, 0.5),
    baselineP99Us: percentile(baseline, 0.99),
    ratio: messagesPerSec / baselineMessagesPerSec
  }
}

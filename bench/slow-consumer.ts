/**
 * Slow consumer: a meshline node broadcasts 64 KiB `BYTES` payloads to three
 * fast peers while a fourth peer completes its handshake and then never
 * reads again (its socket is paused, so TCP flow control stops the sender's
 * writes to it). The same broadcast runs without the slow peer, and the rows
 * compare:
 *
 * - the fast peers' delivered throughput, with and without the slow peer;
 * - the sender's memory, beside the bound the queues promise
 *   (`boundMiB`: `maxQueuedBytes` for the queue plus as much again for the
 *   batch being written, per peer): how far it rose above its level before
 *   sending, as live Buffer memory (`buffersMiB`, the retained payloads) and
 *   live V8 heap (`heapMiB`), both after a full collection every 250 ms, and
 *   as RSS (`rssMiB`, garbage included, every 5 ms);
 * - when the slow peer was disconnected (`ERR_SLOW_PEER`), from the first
 *   broadcast. Until then every broadcast waits on the slow peer's full
 *   queue, so the fast peers lose about `slowPeerTimeout` of sending.
 *
 * Every payload is a new buffer, so what the sender retains shows up in its
 * memory. Each run gets a new sender process, so that one run's memory does
 * not hide the next one's.
 */
import { randomBytes } from 'node:crypto'
import { withPeers } from './fork.js'
import { KiB, MB, MiB, type NetRow } from './measure.js'
import type { MemoryPeaks, Payload, StreamResult } from './peer.js'

export interface SlowConsumerOptions {
  /** Fewer and shorter rounds, for a smoke test; numbers are noisier. */
  quick: boolean
}

const FAST_PEERS = 3
const PAYLOAD: Payload = { kind: 'bytes', payloadBytes: 64 * KiB }
/** Per-peer queue bound of the sender, in bytes: meshline's default. */
const MAX_QUEUED_BYTES = 4 * MiB
/** How long the slow peer may hold up broadcasts before it is dropped, in ms (the default is 10 s). */
const SLOW_PEER_TIMEOUT = 500
/**
 * Payload bytes each fast peer receives per run. The slow peer costs the fast
 * ones one stall of about `SLOW_PEER_TIMEOUT`, so their ratio depends on how
 * long the run is: a few seconds of streaming here, in quick runs too, or
 * they would measure the stall rather than the throughput.
 */
const BYTES_PER_PEER = 2048 * MiB
/** Runs of each kind, full and quick. */
const ROUNDS: [number, number] = [3, 1]

interface Run {
  ms: number
  result: StreamResult
}

async function run (withSlowPeer: boolean, count: number): Promise<Run> {
  return await withPeers(['slow-consumer sender', 'slow-consumer receivers'], async (sender, receivers) => {
    const address = await sender.call('meshSender', {
      addresses: await receivers.call('meshReceivers', { count: FAST_PEERS }),
      options: { maxQueuedBytes: MAX_QUEUED_BYTES, slowPeerTimeout: SLOW_PEER_TIMEOUT, maxPeers: FAST_PEERS + 1 }
    })
    if (withSlowPeer) await receivers.call('slowPeer', { address, id: randomBytes(16).toString('hex') })
    await receivers.call('resetCounts', { group: 'mesh' })
    const start = performance.now()
    const [result] = await Promise.all([
      sender.call('meshStream', { payload: PAYLOAD, count, mode: 'broadcast', fresh: true, watchMemory: true }),
      receivers.call('waitForCounts', { group: 'mesh', units: count })
    ])
    return { ms: performance.now() - start, result }
  })
}

export async function runSlowConsumer (opts: SlowConsumerOptions): Promise<NetRow[]> {
  const count = BYTES_PER_PEER / PAYLOAD.payloadBytes
  const runs: { fast: Run[], slow: Run[] } = { fast: [], slow: [] }
  for (let i = 0; i < ROUNDS[opts.quick ? 1 : 0]; i++) {
    runs.fast.push(await run(false, count))
    runs.slow.push(await run(true, count))
  }
  const fastestMs = (of: Run[]): number => Math.min(...of.map(r => r.ms))
  // Memory and the drop time are the worst of the runs; throughput the best, as elsewhere.
  const worstGrowth = (of: Run[], kind: keyof MemoryPeaks): number =>
    Math.max(...of.map(r => r.result.memory === undefined ? 0 : r.result.memory[kind].peak - r.result.memory[kind].before)) / MiB
  const row = (name: string, of: Run[], peers: number): NetRow => {
    const messagesPerSec = FAST_PEERS * count / (fastestMs(of) / 1000)
    const baselineMessagesPerSec = FAST_PEERS * count / (fastestMs(runs.fast) / 1000)
    const dropped = of.flatMap(r => r.result.disconnects.filter(d => d.code === 'ERR_SLOW_PEER').map(d => d.atMs))
    return {
      name,
      payloadBytes: PAYLOAD.payloadBytes,
      messagesPerSec,
      mbPerSec: messagesPerSec * PAYLOAD.payloadBytes / MB,
      baselineMessagesPerSec,
      baselineMbPerSec: baselineMessagesPerSec * PAYLOAD.payloadBytes / MB,
      ratio: messagesPerSec / baselineMessagesPerSec,
      boundMiB: peers * 2 * MAX_QUEUED_BYTES / MiB,
      buffersMiB: worstGrowth(of, 'buffers'),
      heapMiB: worstGrowth(of, 'heap'),
      rssMiB: worstGrowth(of, 'rss'),
      slowDroppedAtMs: dropped.length > 0 ? Math.max(...dropped) : ''
    }
  }
  // Both rows compare with the runs without the slow peer: the first row is those runs themselves.
  return [
    row(`${FAST_PEERS} fast peers, no slow peer`, runs.fast, FAST_PEERS),
    row(`${FAST_PEERS} fast peers + 1 that stops reading`, runs.slow, FAST_PEERS + 1)
  ]
}

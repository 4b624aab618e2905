/**
 * Point to point over TCP on 127.0.0.1: one meshline node sends to another as
 * fast as the API allows (awaiting every `send()` / `sendBytes()`; the node
 * queues and coalesces), and the other counts delivered messages. Beside it,
 * in the same run and the same process layout, the baseline: a raw
 * `net.Socket` pipe writing the same payloads one `write()` per message,
 * awaiting `drain` whenever `write()` returns false, to a receiver that
 * counts bytes.
 *
 * Sender and receiver are separate processes (one core each on a two-core
 * machine), as two peers of a mesh are. Rates count payload bytes only; the
 * chat baseline writes each line with its `\n`, as meshline does. Rates and
 * `ratio` come from each side's fastest round, `medianRatio` from the
 * median ones; `cpuMsPerGb` is the CPU time both processes spent per GB of
 * payload.
 *
 * `compareStreams` runs the same cases between any two groups of the peer
 * processes: the secure benchmark compares Noise links with plaintext ones
 * through it.
 */
import { withPeers, type PeerProcess } from './fork.js'
import { KiB, MiB, alternateRounds, throughputColumns, timedRound, type NetRow } from './measure.js'
import type { Group, Payload } from './peer.js'

/**
 * What a receiver of `group` counts for `count` messages: messages for
 * meshline; bytes for a raw one, the chat line with its `\n`.
 */
function unitsOf (group: Group, count: number, payload: Payload): number {
  if (group !== 'raw') return count
  return count * (payload.kind === 'chat' ? payload.payloadBytes + 1 : payload.payloadBytes)
}

export interface PointToPointOptions {
  /** Fewer and shorter rounds, for a smoke test; numbers are noisier. */
  quick: boolean
}

export interface Case {
  name: string
  payload: Payload
  /** Messages per round, full and quick: a full round takes 0.2-1.5 s on a 2-core VM. */
  count: [number, number]
}

export const CASES: Case[] = [
  { name: 'chat lines', payload: { kind: 'chat', payloadBytes: 32 }, count: [500_000, 150_000] },
  { name: 'BYTES 1 KiB', payload: { kind: 'bytes', payloadBytes: KiB }, count: [200_000, 50_000] },
  { name: 'BYTES 64 KiB', payload: { kind: 'bytes', payloadBytes: 64 * KiB }, count: [8192, 2048] },
  { name: 'BYTES 1 MiB', payload: { kind: 'bytes', payloadBytes: MiB }, count: [512, 128] }
]
/** Measured rounds per side, full and quick, after a warm-up round each. */
const ROUNDS: [number, number] = [8, 2]

/**
 * One row per case: the sender's `meshline` group streams to the receiver's
 * in rounds alternating with its `baseline` group, both already connected.
 */
export async function compareStreams (sender: PeerProcess, receiver: PeerProcess, cases: Case[], opts: PointToPointOptions, groups: { meshline: Group, baseline: Group }): Promise<NetRow[]> {
  const rows: NetRow[] = []
  for (const c of cases) {
    const count = c.count[opts.quick ? 1 : 0]
    const stream = { payload: c.payload, count, mode: 'send' as const }
    const times = await alternateRounds(ROUNDS[opts.quick ? 1 : 0],
      async () => await timedRound(sender, receiver, groups.meshline, unitsOf(groups.meshline, count, c.payload), stream),
      async () => await timedRound(sender, receiver, groups.baseline, unitsOf(groups.baseline, count, c.payload), stream))
    rows.push({ name: c.name, payloadBytes: c.payload.payloadBytes, ...throughputColumns(times, count, c.payload.payloadBytes) })
  }
  return rows
}

export async function runPointToPoint (opts: PointToPointOptions): Promise<NetRow[]> {
  return await withPeers(['point-to-point sender', 'point-to-point receiver'], async (sender, receiver) => {
    await sender.call('meshSender', { addresses: await receiver.call('meshReceivers', { count: 1 }) })
    await sender.call('rawSender', { ports: await receiver.call('rawReceivers', { count: 1 }) })
    return await compareStreams(sender, receiver, CASES, opts, { meshline: 'mesh', baseline: 'raw' })
  })
}

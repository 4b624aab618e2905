/**
 * The batch API at high rates over TCP on 127.0.0.1: one node streams chat
 * lines or 1 KiB payloads to another through `sender(peerId)`, from a
 * source of arrays of messages (no promise per message); the receiver
 * counts delivered messages. The baseline, in the same run and process
 * layout, is the practical limit of one socket: a raw `net.Socket` writing
 * the same messages packed back to back into writes of about 64 KiB. The
 * receiver reads through `messages({ batch: true })`.
 */
import { withPeers } from './fork.js'
import { KiB, alternateRounds, throughputColumns, timedRound, type NetRow } from './measure.js'
import type { Payload } from './peer.js'

export interface BatchBenchOptions {
  /** Fewer and shorter rounds, for a smoke test; numbers are noisier. */
  quick: boolean
}

const CASES: Array<{ name: string, payload: Payload, count: [number, number] }> = [
  { name: 'chat', payload: { kind: 'chat', payloadBytes: 32 }, count: [2_000_000, 500_000] },
  { name: '1 KiB', payload: { kind: 'bytes', payloadBytes: KiB }, count: [500_000, 100_000] }
]
const ROUNDS: [number, number] = [6, 2]

export async function runBatchBench (opts: BatchBenchOptions): Promise<NetRow[]> {
  return await withPeers(['batch sender', 'batch receiver'], async (sender, receiver) => {
    await sender.call('meshSender', { addresses: await receiver.call('meshReceivers', { count: 1, batches: true }) })
    await sender.call('rawSender', { ports: await receiver.call('rawReceivers', { count: 1 }) })
    const rows: NetRow[] = []
    for (const c of CASES) {
      const count = c.count[opts.quick ? 1 : 0]
      // Raw receivers count bytes: a chat line with its `\n`.
      const rawUnits = count * (c.payload.kind === 'chat' ? c.payload.payloadBytes + 1 : c.payload.payloadBytes)
      const times = await alternateRounds(ROUNDS[opts.quick ? 1 : 0],
        async () => await timedRound(sender, receiver, 'mesh', count, { payload: c.payload, count, mode: 'sink' }),
        async () => await timedRound(sender, receiver, 'raw', rawUnits, { payload: c.payload, count, mode: 'send', packed: true }))
      rows.push({ name: c.name, payloadBytes: c.payload.payloadBytes, baseline: 'raw socket, ~64 KiB writes', ...throughputColumns(times, count, c.payload.payloadBytes) })
    }
    return rows
  })
}

/**
 * Broadcast fan-out over TCP on 127.0.0.1: one meshline node broadcasts
 * 64 KiB `BYTES` payloads to 4, 16 and 32 connected peers (awaiting every
 * `broadcastBytes()`), beside a raw-socket fan-out that writes each payload
 * to every socket (one `write()` per message per socket) and awaits `drain`
 * on the sockets whose `write()` returned false before the next message.
 *
 * The sender is one process and all the receivers share another: on a
 * two-core machine each side gets a core, and meshline and the baseline get
 * the same layout. Rates are aggregates over all peers (delivered payload
 * bytes); `lastPeerMs` is the time until the last peer had every message
 * (fastest rounds, as the rates; `medianRatio` compares the median rounds).
 */
import { withPeers } from './fork.js'
import { KiB, MiB, alternateRounds, fastest, throughputColumns, timedRound, type NetRow } from './measure.js'
import type { Payload } from './peer.js'

export interface FanOutOptions {
  /** Fewer and shorter rounds, for a smoke test; numbers are noisier. */
  quick: boolean
}

const PEER_COUNTS = [4, 16, 32]
const PAYLOAD: Payload = { kind: 'bytes', payloadBytes: 64 * KiB }
/** Payload bytes delivered per round, all peers together, full and quick. */
const ROUND_BYTES: [number, number] = [512 * MiB, 128 * MiB]
/** Measured rounds per side, full and quick, after a warm-up round each. */
const ROUNDS: [number, number] = [8, 2]

export async function runFanOut (opts: FanOutOptions): Promise<NetRow[]> {
  return await withPeers(['fan-out sender', 'fan-out receivers'], async (sender, receivers) => {
    const rows: NetRow[] = []
    for (const peers of PEER_COUNTS) {
      await sender.call('meshSender', { addresses: await receivers.call('meshReceivers', { count: peers }) })
      await sender.call('rawSender', { ports: await receivers.call('rawReceivers', { count: peers }) })
      const count = Math.round(ROUND_BYTES[opts.quick ? 1 : 0] / peers / PAYLOAD.payloadBytes)
      const stream = { payload: PAYLOAD, count, mode: 'broadcast' as const }
      const times = await alternateRounds(ROUNDS[opts.quick ? 1 : 0],
        async () => await timedRound(sender, receivers, 'mesh', count, stream),
        async () => await timedRound(sender, receivers, 'raw', count * PAYLOAD.payloadBytes, stream))
      rows.push({
        name: `broadcast 64 KiB to ${peers} peers`,
        payloadBytes: PAYLOAD.payloadBytes,
        peers,
        ...throughputColumns(times, count * peers, PAYLOAD.payloadBytes),
        lastPeerMs: fastest(times.meshline),
        baselineLastPeerMs: fastest(times.baseline)
      })
      await Promise.all([sender.call('closeAll', undefined), receivers.call('closeAll', undefined)])
    }
    return rows
  })
}

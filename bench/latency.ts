/**
 * Latency over TCP on 127.0.0.1: the round-trip time of a 32-byte chat line
 * that the other node echoes back, one at a time, with the link idle and
 * while the same connection carries a stream of 64 KiB `BYTES` payloads
 * (sent as fast as the API allows, as in the point-to-point rows). The
 * baseline is a raw socket with minimal framing (`[type][length][payload]`)
 * whose receiver echoes ping frames, with its own 64 KiB stream written with
 * backpressure.
 *
 * Under load a chat line waits behind what is queued before it: for meshline
 * up to `maxQueuedBytes` in the queue plus the batch being written, which
 * the last row shrinks from the default 1 MiB; the raw socket only buffers
 * what its last `write()` left in the socket.
 *
 * `messagesPerSec` is round trips per second at the median RTT; as in every
 * other row, a ratio above 1 means meshline is faster.
 */
import { withPeers } from './fork.js'
import { KiB, roundTripRow, type NetRow } from './measure.js'
import type { MeshNodeOptions } from '../lib/index.js'

export interface LatencyOptions {
  /** Fewer round trips, for a smoke test; tail percentiles are noisier. */
  quick: boolean
}

interface Case {
  name: string
  load: boolean
  /** Round trips measured, full and quick. */
  count: [number, number]
  /**
   * Round trips before measuring, the same in a quick run: meshline's
   * pipeline needs a few thousand to be optimised (its idle median halves).
   */
  warmUp: number
  options?: MeshNodeOptions
}

const CASES: Case[] = [
  { name: 'RTT chat, idle', load: false, count: [5000, 1000], warmUp: 3000 },
  { name: 'RTT chat, under a 64 KiB stream', load: true, count: [1000, 200], warmUp: 100 },
  { name: 'RTT chat, under a 64 KiB stream, maxQueuedBytes 256 KiB', load: true, count: [1000, 200], warmUp: 100, options: { maxQueuedBytes: 256 * KiB } }
]
const CHAT_BYTES = 32

export async function runLatency (opts: LatencyOptions): Promise<NetRow[]> {
  return await withPeers(['latency pinger', 'latency echo'], async (pinger, echo) => {
    const rows: NetRow[] = []
    for (const c of CASES) {
      await pinger.call('meshSender', { addresses: await echo.call('meshReceivers', { count: 1, echo: true }), options: c.options })
      await pinger.call('rawSender', { ports: await echo.call('rawReceivers', { count: 1, echo: true }) })
      const count = c.count[opts.quick ? 1 : 0]
      await pinger.call('meshPing', { count: c.warmUp, load: c.load })
      await pinger.call('rawPing', { count: c.warmUp, load: c.load })
      const meshline = await pinger.call('meshPing', { count, load: c.load })
      const baseline = await pinger.call('rawPing', { count, load: c.load })
      await Promise.all([pinger.call('closeAll', undefined), echo.call('closeAll', undefined)])
      rows.push(roundTripRow(c.name, CHAT_BYTES, meshline, baseline))
    }
    return rows
  })
}

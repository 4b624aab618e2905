/**
 * Protocol streams over TCP on 127.0.0.1, beside meshline's own messages on
 * the same link, in the same run:
 *
 * - one stream writing 64 KiB or 1 MiB payloads (one `write()` each,
 *   awaited), against `sendBytes()` of the same payloads point to point;
 * - 16 streams sharing the same payloads, in aggregate, against the same;
 * - request/response: `request()` round trips (a 32-byte request echoed on
 *   a new stream each time) against a raw `net.Socket` echo of a 32-byte
 *   ping frame, as round trips per second at the median RTT.
 *
 * Sender and receiver are separate processes, as in the point-to-point
 * suite; rounds alternate between the stream side and its baseline.
 */
import { withPeers } from './fork.js'
import { KiB, MiB, alternateRounds, roundTripRow, throughputColumns, timedRound, type NetRow } from './measure.js'
import type { Payload } from './peer.js'

export interface StreamsBenchOptions {
  /** Fewer and shorter rounds, for a smoke test; numbers are noisier. */
  quick: boolean
}

interface Case {
  name: string
  payload: Payload
  streams: number
  /** Payloads per round, full and quick. */
  count: [number, number]
}

const CASES: Case[] = [
  { name: '1 stream, 64 KiB writes', payload: { kind: 'bytes', payloadBytes: 64 * KiB }, streams: 1, count: [8192, 2048] },
  { name: '1 stream, 1 MiB writes', payload: { kind: 'bytes', payloadBytes: MiB }, streams: 1, count: [512, 128] },
  { name: '16 streams', payload: { kind: 'bytes', payloadBytes: 64 * KiB }, streams: 16, count: [8192, 2048] }
]
const ROUNDS: [number, number] = [8, 2]
/** Request/response round trips measured, full and quick, after as many again to warm up. */
const REQUESTS: [number, number] = [3000, 500]
const REQUEST_BYTES = 32

export async function runStreamsBench (opts: StreamsBenchOptions): Promise<NetRow[]> {
  return await withPeers(['streams sender', 'streams receiver'], async (sender, receiver) => {
    await sender.call('meshSender', { addresses: await receiver.call('meshReceivers', { count: 1 }) })
    await sender.call('rawSender', { ports: await receiver.call('rawReceivers', { count: 1, echo: true }) })
    const rows: NetRow[] = []
    for (const c of CASES) {
      const count = c.count[opts.quick ? 1 : 0]
      const times = await alternateRounds(ROUNDS[opts.quick ? 1 : 0],
        async () => await timedRound(sender, receiver, 'mesh', count * c.payload.payloadBytes, { payload: c.payload, count, mode: 'streams', streams: c.streams }),
        async () => await timedRound(sender, receiver, 'mesh', count, { payload: c.payload, count, mode: 'send' }))
      rows.push({ name: c.name, payloadBytes: c.payload.payloadBytes, streams: c.streams, baseline: 'sendBytes()', ...throughputColumns(times, count, c.payload.payloadBytes) })
    }
    const requests = REQUESTS[opts.quick ? 1 : 0]
    await sender.call('meshRequests', { count: requests })
    await sender.call('rawPing', { count: requests, load: false })
    const meshline = await sender.call('meshRequests', { count: requests })
    const baseline = await sender.call('rawPing', { count: requests, load: false })
    rows.push({ ...roundTripRow('request/response', REQUEST_BYTES, meshline, baseline), baseline: 'raw socket echo' })
    return rows
  })
}

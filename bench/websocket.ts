/**
 * WebSocket links beside TCP, in the same run: the point-to-point chat and
 * 64 KiB cases (`compareStreams`) with the WebSocket transport as the
 * measured side and TCP between the same two processes as the baseline,
 * rounds alternating, Node to Node over 127.0.0.1.
 */
import { withPeers } from './fork.js'
import type { NetRow } from './measure.js'
import { CASES, compareStreams } from './point-to-point.js'

export interface WebSocketBenchOptions {
  /** Shorter runs, for a smoke test; numbers are noisier. */
  quick: boolean
}

const ROW_NAMES = ['chat lines', 'BYTES 64 KiB']

export async function runWebSocketBench (opts: WebSocketBenchOptions): Promise<NetRow[]> {
  return await withPeers(['websocket sender', 'websocket receiver'], async (sender, receiver) => {
    await sender.call('meshSender', { addresses: await receiver.call('meshReceivers', { count: 1 }) })
    await sender.call('meshSender', { group: 'websocket', addresses: await receiver.call('meshReceivers', { count: 1, group: 'websocket' }) })
    const rows = await compareStreams(sender, receiver, CASES.filter(c => ROW_NAMES.includes(c.name)), opts, { meshline: 'websocket', baseline: 'mesh' })
    return rows.map(row => ({ ...row, name: `${row.name} over WebSocket` }))
  })
}

/**
 * A connection flood from a separate process, so that the flooded node's
 * event loop carries only its own work: opens `count` sockets at once to
 * 127.0.0.1:`port`; every other one sends a hello, the rest stay silent.
 *
 *   node --import tsx test/support/flood-client.ts <port> <count>
 *
 * Over IPC it sends `{ type: 'opened', connected, failed, ms }` once every
 * attempt has settled, answers `'report'` with `{ type: 'report', sockets }`
 * (each socket's local port, and when the node closed it, if it has), and
 * destroys everything and exits on `'exit'`.
 */
import { randomBytes } from 'node:crypto'
import net from 'node:net'

interface Tracked {
  port: number
  closedAt: number | undefined
  socket: net.Socket
}

export interface FloodOpened { type: 'opened', connected: number, failed: number, ms: number }
export interface FloodReport { type: 'report', sockets: Array<{ port: number, closedAt: number | undefined }> }

const [port, count] = process.argv.slice(2).map(Number) as [number, number]
const tracked: Tracked[] = []
const started = Date.now()
let failed = 0

await Promise.all(Array.from({ length: count }, async (_, i) => {
  const socket = net.connect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
  } catch {
    failed++
    return
  }
  const entry: Tracked = { port: socket.localPort ?? 0, closedAt: undefined, socket }
  tracked.push(entry)
  socket.on('data', () => {})
  socket.once('close', () => { entry.closedAt = Date.now() })
  if (i % 2 === 0) socket.write(`${randomBytes(16).toString('hex')}:flood-${i}\nLISTEN:127.0.0.1:1\n`)
}))

process.send?.({ type: 'opened', connected: tracked.length, failed, ms: Date.now() - started } satisfies FloodOpened)
process.on('message', (msg: unknown) => {
  if (msg === 'report') {
    process.send?.({ type: 'report', sockets: tracked.map(({ port, closedAt }) => ({ port, closedAt })) } satisfies FloodReport)
  } else if (msg === 'exit') {
    for (const { socket } of tracked) socket.destroy()
    process.exit(0)
  }
})

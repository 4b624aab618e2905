/**
 * One mesh node in a network namespace, for test/netns.test.ts:
 *
 *   node --import tsx test/support/netns-node.ts <host> <port> <peers> <messages> [bootstrap host:port]
 *
 * Listens on host:port (and prints `{"listening":true}`), joins through the
 * bootstrap address if given, and prints `{"ready":true}` once it has
 * `peers` peers. On a `go` line on
 * standard input it sends `messages` numbered chat lines to every peer
 * (broadcasts, awaited), and once it has every peer's messages it prints
 * `{"done":...}` with, per peer, how many arrived and whether in order. It
 * stops when standard input ends.
 */
import { createInterface } from 'node:readline'
import { MeshNode } from '../../lib/index.js'

const [host, portText, peersText, messagesText, bootstrap] = process.argv.slice(2) as [string, string, string, string, string | undefined]
const peers = Number(peersText)
const messages = Number(messagesText)
const node = new MeshNode({
  host,
  port: Number(portText),
  name: host,
  dialJitter: 50,
  discoveryInterval: 300,
  maintenanceInterval: 500,
  peerTimeout: 10_000,
  connectionTimeout: 5000,
  bootstrapBackoff: 200
})
const received = new Map<string, { count: number, inOrder: boolean }>()
node.on('chat', ({ peer, text }) => {
  const seq = Number(text.split(' ')[1])
  const r = received.get(peer.name) ?? { count: 0, inOrder: true }
  if (seq !== r.count) r.inOrder = false
  r.count++
  received.set(peer.name, r)
  report()
})

let sent = false
let reported = false
function report (): void {
  if (reported || !sent || received.size < peers || [...received.values()].some(r => r.count < messages)) return
  reported = true
  process.stdout.write(`${JSON.stringify({ done: Object.fromEntries(received) })}\n`)
}

await node.start()
process.stdout.write(`${JSON.stringify({ listening: true })}\n`)
if (bootstrap !== undefined) await node.connect(bootstrap)
const ready = setInterval(() => {
  if (node.peers().length < peers) return
  clearInterval(ready)
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`)
}, 50)

const lines = createInterface({ input: process.stdin })
lines.on('line', line => {
  if (line !== 'go') return
  void (async () => {
    for (let i = 0; i < messages; i++) await node.broadcast(`seq ${i}`)
    sent = true
    report()
  })()
})
lines.on('close', () => {
  clearInterval(ready)
  void node.stop()
})

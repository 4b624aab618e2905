/**
 * The cost of end-to-end trust: overlay broadcasts signed by their author
 * and verified by every node (`endToEnd: 'required'`) against the same
 * broadcasts unsigned (`'off'`), on the same path. Each side is an overlay
 * of `NODES` nodes in this process, linked over TCP on 127.0.0.1; one node
 * broadcasts through `broadcaster()` from a source of arrays (or, in the
 * row named so, one awaited `broadcast()` at a time, which leaves nothing
 * to bundle), and a round ends once every other node has delivered every
 * message. Every node runs
 * on this one thread, so the ratio weighs signing and verifying against
 * everything else a node does per message, on every node.
 */
import { performance } from 'node:perf_hooks'
import { once } from 'node:events'
import { MeshNode } from '../lib/index.js'
import { tcpTransport } from '../lib/transport/index.js'
import type { EndToEndMode } from '../lib/types.js'
import { KiB, alternateRounds, throughputColumns, type NetRow, type Round } from './measure.js'

export interface TrustBenchOptions {
  /** Fewer and shorter rounds, for a smoke test; numbers are noisier. */
  quick: boolean
}

const NODES = 4
const BATCH = 256
const CASES: Array<{ name: string, payloadBytes: number, count: [number, number], awaited?: boolean }> = [
  { name: 'chat', payloadBytes: 32, count: [50_000, 20_000] },
  { name: '64 KiB', payloadBytes: 64 * KiB, count: [3_000, 600] },
  { name: 'chat, one awaited broadcast() at a time', payloadBytes: 32, count: [10_000, 2_000], awaited: true }
]
const ROUNDS: [number, number] = [5, 2]
/** A round that has not ended by then lost messages: the bench fails instead of hanging. */
const ROUND_LIMIT_MS = 120_000

interface Overlay {
  nodes: MeshNode[]
  /** Messages each receiving node has delivered. */
  delivered: number[]
}

async function overlayOf (endToEnd: EndToEndMode): Promise<Overlay> {
  const transport = tcpTransport()
  const nodes: MeshNode[] = []
  for (let i = 0; i < NODES; i++) {
    // A seen set and a payload cache that hold a whole round: a burst that outruns them loses what a GRAFT must repair.
    const node = new MeshNode({ host: '127.0.0.1', transport, topology: 'overlay', overlay: { endToEnd, maxCachedBytes: 512 * 1024 * 1024, maxSeenMessages: 1 << 20 } })
    await node.start()
    if (i > 0) await node.connect((nodes[i - 1] as MeshNode).address)
    nodes.push(node)
  }
  const delivered = nodes.map(() => 0)
  nodes.forEach((node, i) => {
    const count = (): void => { delivered[i] = (delivered[i] as number) + 1 }
    node.on('chat', count)
    node.on('bytes', count)
  })
  const ready = Promise.all(nodes.slice(1).map(async node => await once(node, 'chat')))
  await (nodes[0] as MeshNode).broadcast('ready')
  await ready
  return { nodes, delivered }
}

async function round (overlay: Overlay, payloadBytes: number, count: number, awaited: boolean): Promise<Round> {
  const [author, ...receivers] = overlay.nodes as [MeshNode, ...MeshNode[]]
  overlay.delivered.fill(0)
  const item: string | Uint8Array = payloadBytes === 32 ? 'x'.repeat(32) : new Uint8Array(payloadBytes).fill(7)
  function * source (): Generator<Array<string | Uint8Array>> {
    for (let sent = 0; sent < count; sent += BATCH) yield new Array<string | Uint8Array>(Math.min(BATCH, count - sent)).fill(item)
  }
  const cpu = process.cpuUsage()
  const start = performance.now()
  const done = new Promise<void>(resolve => {
    const check = (): void => {
      if (overlay.delivered.slice(1).every(n => n >= count)) {
        for (const node of receivers) { node.off('chat', check); node.off('bytes', check) }
        resolve()
      }
    }
    for (const node of receivers) { node.on('chat', check); node.on('bytes', check) }
  })
  if (awaited) {
    for (let sent = 0; sent < count; sent++) await author.broadcast(item as string)
  } else {
    await author.broadcaster()(source())
  }
  let timer: NodeJS.Timeout | undefined
  const stuck = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`round stuck: delivered ${overlay.delivered.slice(1).join(', ')} of ${count}`)) }, ROUND_LIMIT_MS)
  })
  await Promise.race([done, stuck]).finally(() => { clearTimeout(timer) })
  const ms = performance.now() - start
  const used = process.cpuUsage(cpu)
  return { ms, cpuMs: (used.user + used.system) / 1000 }
}

export async function runTrustBench (opts: TrustBenchOptions): Promise<NetRow[]> {
  const rows: NetRow[] = []
  for (const c of CASES) {
    // Fresh overlays per case: caches filled by one case would slow the next.
    const signed = await overlayOf('required')
    const unsigned = await overlayOf('off')
    try {
      const count = c.count[opts.quick ? 1 : 0]
      const times = await alternateRounds(ROUNDS[opts.quick ? 1 : 0],
        async () => await round(signed, c.payloadBytes, count, c.awaited === true),
        async () => await round(unsigned, c.payloadBytes, count, c.awaited === true))
      // Every receiver delivers every message: the rates count deliveries.
      const columns = throughputColumns(times, count * (NODES - 1), c.payloadBytes)
      rows.push({ name: c.name, payloadBytes: c.payloadBytes, baseline: `unsigned, same overlay of ${NODES} nodes`, ...columns })
    } finally {
      await Promise.all([...signed.nodes, ...unsigned.nodes].map(async node => { await node.stop() }))
    }
  }
  return rows
}

/**
 * The long run: a 20-node mesh on loopback under continuous chat and BYTES
 * traffic, churn (every 3 s a node crashes or freezes, and 2.5 s later a
 * successor takes its port) and a hostile client (one offence every 250 ms, a burst of
 * sockets now and then), for a given time, then it stops by itself:
 *
 *   npm run soak -- --seconds 60 [--nodes 20] [--seed N]
 *
 * Checked, and printed with the samples:
 * - No message to a live peer is lost: every message a broadcast queued for
 *   a peer arrives, exactly once, unless the connection between the two
 *   broke after it was queued (then the sender was told, by peer:disconnect).
 *   Each arrives after the ones queued before it on the same connection.
 * - Memory stays flat after warm-up: live heap (after a full collection) and
 *   RSS are sampled every second; the least-squares trend over the samples
 *   after warm-up may not add more than the tolerance over that window.
 * - Every node's tables stay within their bounds.
 * Exits 0 when all hold, 1 otherwise.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { MeshNode, type MeshNodeOptions } from '../lib/index.js'
import { sleep } from '../harness/async.js'
import { KillableTcp } from '../harness/killable.js'
import { MiB, liveBytes } from '../harness/memory.js'
import { HOST, portOf } from '../harness/loopback.js'
import { seeded } from '../harness/random.js'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    nodes: { type: 'string', default: '20' },
    seed: { type: 'string', default: '1' }
  }
})
const SECONDS = Number(values.seconds)
const SIZE = Number(values.nodes)
if (!Number.isSafeInteger(SECONDS) || SECONDS < 30 || !Number.isSafeInteger(SIZE) || SIZE < 3) {
  console.error('Usage: npm run soak -- --seconds N (at least 30) [--nodes N (at least 3)] [--seed N]')
  process.exit(2)
}
const random = seeded(Number(values.seed))

/**
 * Warm-up excluded from the memory trend: a quarter of the run, at least
 * 20 s, by when the address books have filled up with what the hostile
 * client sends (bounded, by maxKnownPeers, but not at once).
 */
const WARM_UP = Math.max(20, Math.floor(SECONDS / 4))
/** Growth allowed over the measured window: 10% of the mean, and no less than 8 MiB (heap) or 24 MiB (RSS). */
const TOLERANCE = { heap: { share: 0.1, floor: 8 * MiB }, rss: { share: 0.1, floor: 24 * MiB } }

const OPTIONS: MeshNodeOptions = {
  host: HOST,
  maxPeers: SIZE + 4,
  maintenanceInterval: 300,
  peerTimeout: 2000,
  discoveryInterval: 1000,
  dialJitter: 100,
  connectionTimeout: 2000,
  reconnectBackoff: 100,
  reconnectMaxDelay: 1000,
  reconnectAttempts: 20,
  maxBytesPerMessage: 64 * 1024,
  maxQueuedBytes: 1024 * 1024,
  slowPeerTimeout: 5000
}

interface Member {
  node: MeshNode
  transport: KillableTcp
  port: number
  peersFile: string
  alive: boolean
  /** Next sequence number this node sends. */
  seq: number
}

/** Expected deliveries of one sender to one receiver: sequence number -> epoch of the link when queued. */
const expected = new Map<string, Map<number, number>>()
/** Breaks of the link between two nodes (either side's peer:disconnect), by unordered pair. */
const epochs = new Map<string, number>()
/**
 * Arrivals not expected (yet): a message can arrive before its sender's
 * broadcast has resolved (it waits for every peer's queue). Reconciled when
 * the broadcast resolves; whatever is left at the end arrived twice or
 * unasked.
 */
const early = new Map<string, Set<number>>()
/** Highest sequence number delivered per sender -> receiver, for the ordering check. */
const highest = new Map<string, number>()
const counts = { sent: 0, delivered: 0, toKilled: 0, toHostile: 0, toLive: 0, duplicates: 0, reordered: 0, hostile: 0, flooded: 0, killed: 0 }
/** Nodes that were killed: losses on their connections are expected. */
const killed = new Set<string>()
/** The ids the hostile client completes handshakes with, before it misbehaves. */
const HOSTILE_IDS = new Set(['deadbeef', 'feedface'])
/** Why connections between two live, well-behaved nodes broke, if they did. */
const liveBreaks = new Map<string, number>()
const violations: string[] = []

/** Set when the run is over and the nodes are being stopped. */
let stopping = false

const pairKey = (a: string, b: string): string => a < b ? `${a}|${b}` : `${b}|${a}`
const flowKey = (from: string, to: string): string => `${from}>${to}`
const epochOf = (a: string, b: string): number => epochs.get(pairKey(a, b)) ?? 0

function watch (m: Member): void {
  const { node } = m
  node.on('peer:disconnect', ({ peer, reason }) => {
    if (!killed.has(node.id) && !killed.has(peer.id) && !HOSTILE_IDS.has(peer.id) && !stopping) {
      const why = (reason as Error & { code?: string }).code ?? reason.message
      liveBreaks.set(why, (liveBreaks.get(why) ?? 0) + 1)
    }
    const key = pairKey(node.id, peer.id)
    epochs.set(key, (epochs.get(key) ?? 0) + 1)
  })
  const arrived = (from: string, text: string): void => {
    const seq = Number(text.slice(text.indexOf(' ') + 1))
    const flow = flowKey(from, node.id)
    counts.delivered++
    if (expected.get(flow)?.delete(seq) !== true) {
      let arrivals = early.get(flow)
      if (arrivals === undefined) early.set(flow, arrivals = new Set())
      if (arrivals.has(seq)) counts.duplicates++
      arrivals.add(seq)
    }
    if (seq < (highest.get(flow) ?? -1)) counts.reordered++
    highest.set(flow, Math.max(seq, highest.get(flow) ?? -1))
  }
  node.on('chat', ({ peer, text }) => { if (text.startsWith('seq ')) arrived(peer.id, text) })
  node.on('bytes', ({ peer, data }) => {
    const head = new TextDecoder().decode(data.subarray(0, Math.min(32, data.byteLength)))
    if (head.startsWith('seq ')) arrived(peer.id, head.slice(0, head.indexOf('|')))
  })
}

function queued (sender: Member, peerIds: string[], seq: number): void {
  for (const to of peerIds) {
    const flow = flowKey(sender.node.id, to)
    if (early.get(flow)?.delete(seq) === true) continue
    let waiting = expected.get(flow)
    if (waiting === undefined) expected.set(flow, waiting = new Map())
    waiting.set(seq, epochOf(sender.node.id, to))
  }
  counts.sent += peerIds.length
}

/** A node's traffic: a chat line every ~20 ms and a BYTES frame (up to 16 KiB) every ~500 ms, each broadcast awaited. */
async function talk (m: Member, until: () => boolean): Promise<void> {
  while (m.alive && !until()) {
    const seq = m.seq++
    try {
      if (seq % 25 === 0) {
        const payload = new Uint8Array(Math.floor(random() * 16 * 1024) + 32)
        payload.set(new TextEncoder().encode(`seq ${seq}|`))
        queued(m, (await m.node.broadcastBytes(payload)).queued, seq)
      } else {
        queued(m, (await m.node.broadcast(`seq ${seq}`)).queued, seq)
      }
    } catch {
      // The node was killed or stopped meanwhile.
      return
    }
    await sleep(10 + random() * 20)
  }
}

const OFFENCES: Array<(socket: net.Socket) => void> = [
  s => { s.write('BYTES:-1\n') },
  s => { s.write(`${'x'.repeat(70_000)}`) },
  s => { s.write(Buffer.from([0xff, 0xfe, 0x0a])) },
  s => { s.write('deadbeef:x\nLISTEN:127.0.0.1:1\nBYTES:100\nshort'); s.end() },
  s => { s.write(`feedface:x\nLISTEN:127.0.0.1:1\nPEERS:${Array.from({ length: 2000 }, (_, i) => `127.9.${i >> 8}.${i & 255}:${1 + i}`).join(',')}\n`) },
  s => { s.write(Buffer.from(Array.from({ length: 4096 }, () => Math.floor(random() * 256)))) },
  () => { /* silent: closed by the node at connectionTimeout */ },
  s => { s.write('\n') }
]

async function hostile (members: Member[], until: () => boolean): Promise<void> {
  let round = 0
  while (!until()) {
    const target = members[Math.floor(random() * members.length)] as Member
    if (target.alive) {
      const burst = ++round % 40 === 0 ? 200 : 1
      for (let i = 0; i < burst; i++) {
        const socket = net.connect({ host: HOST, port: target.port })
        socket.on('error', () => {})
        socket.on('data', () => {})
        const offence = OFFENCES[Math.floor(random() * OFFENCES.length)] as (socket: net.Socket) => void
        socket.once('connect', () => { offence(socket) })
        // Whatever the node does not close, the client gives up on.
        setTimeout(() => { socket.destroy() }, 3000).unref()
      }
      if (burst > 1) counts.flooded += burst
      else counts.hostile++
    }
    await sleep(250)
  }
}

function checkBounds (m: Member): void {
  const s = m.node.stats()
  const o = m.node.options
  const over = [
    s.peers > o.maxPeers && 'peers',
    s.pendingHandshakes > o.maxPendingHandshakes && 'pendingHandshakes',
    s.knownAddresses > o.maxKnownPeers && 'knownAddresses',
    s.reconnecting > o.maxReconnects && 'reconnecting',
    s.scheduledDials > o.maxPeers && 'scheduledDials'
  ].filter(Boolean)
  if (over.length > 0) violations.push(`${m.node.id.slice(0, 8)} over its bounds: ${over.join(', ')} in ${JSON.stringify(s)}`)
}

/** Least-squares slope of `ys` over `xs`. */
function slope (xs: number[], ys: number[]): number {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my)
    den += ((xs[i] as number) - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}

async function main (): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'meshline-soak-'))
  const retired: Array<Promise<void>> = []
  const start = async (port: number, peersFile: string, bootstrap?: string): Promise<Member> => {
    const transport = new KillableTcp()
    const node = new MeshNode({ ...OPTIONS, port, peersFile, transport })
    const m: Member = { node, transport, port, peersFile, alive: true, seq: 0 }
    watch(m)
    await node.start()
    m.port = portOf(node.address)
    if (bootstrap !== undefined) await node.connect(bootstrap).catch(() => {})
    return m
  }
  const members: Member[] = []
  for (let i = 0; i < SIZE; i++) members.push(await start(0, join(dir, `peers-${i}`), members[0]?.node.address))

  const began = Date.now()
  const end = began + SECONDS * 1000
  const sending = (): boolean => Date.now() >= end
  const samples: Array<{ t: number, heap: number, rss: number, delivered: number, peers: number, known: number }> = []
  const talkers = members.map(async m => { await talk(m, sending) })
  const talking = new Set(talkers)

  // Churn: every 3 s a node dies (crash or freeze) and a successor takes its port 2.5 s later.
  const churn = (async () => {
    let kills = 0
    while (!sending()) {
      await sleep(3000)
      if (sending()) break
      const index = 1 + Math.floor(random() * (members.length - 1))
      const victim = members[index] as Member
      victim.alive = false
      killed.add(victim.node.id)
      if (kills++ % 2 === 0) victim.transport.crash()
      else victim.transport.freeze()
      counts.killed++
      // Long enough for a frozen node to be noticed by the heartbeat (peerTimeout), not by a reset.
      await sleep(2500)
      victim.transport.release()
      retired.push(victim.node.stop())
      const successor = await start(victim.port, victim.peersFile, kills % 3 === 0 ? (members[0] as Member).node.address : undefined)
      members[index] = successor
      const talker = talk(successor, sending)
      talking.add(talker)
    }
  })()
  const misbehaving = hostile(members, sending)

  const sampler = setInterval(() => {
    const { rss } = process.memoryUsage()
    samples.push({
      t: Math.round((Date.now() - began) / 1000),
      heap: liveBytes(),
      rss,
      delivered: counts.delivered,
      peers: members.reduce((n, m) => n + m.node.peers().length, 0),
      known: members.reduce((n, m) => n + m.node.stats().knownAddresses, 0)
    })
    for (const m of members) checkBounds(m)
  }, 1000)

  await Promise.all([churn, misbehaving])
  await Promise.all(talking)
  clearInterval(sampler)

  // Let what is in flight arrive, then account.
  const outstanding = (): number => {
    let n = 0
    for (const [flow, waiting] of expected) {
      const [from, to] = flow.split('>') as [string, string]
      for (const epoch of waiting.values()) if (epoch === epochOf(from, to)) n++
    }
    return n
  }
  const drainDeadline = Date.now() + 10_000
  while (outstanding() > 0 && Date.now() < drainDeadline) await sleep(100)
  for (const [flow, waiting] of expected) {
    const [from, to] = flow.split('>') as [string, string]
    for (const [seq, epoch] of waiting) {
      if (epoch === epochOf(from, to)) violations.push(`${from.slice(0, 8)} -> ${to.slice(0, 8)}: message ${seq} lost on a live connection`)
      else if (killed.has(from) || killed.has(to)) counts.toKilled++
      else if (HOSTILE_IDS.has(to)) counts.toHostile++
      else counts.toLive++
    }
  }
  for (const [flow, arrivals] of early) {
    for (const seq of arrivals) violations.push(`${flow}: message ${seq} arrived twice, or without being sent`)
  }

  stopping = true
  await Promise.all(members.map(async m => { m.transport.release(); await m.node.stop() }))
  await Promise.all(retired)
  await rm(dir, { recursive: true, force: true })

  // Memory: the trend after warm-up.
  console.log('\n  t(s)   live heap   RSS       delivered   peers   known addresses')
  for (const s of samples) {
    console.log(`  ${String(s.t).padStart(4)}   ${(s.heap / MiB).toFixed(1).padStart(6)} MiB  ${(s.rss / MiB).toFixed(1).padStart(6)} MiB  ${String(s.delivered).padStart(9)}   ${String(s.peers).padStart(5)}   ${s.known}`)
  }
  const measured = samples.filter(s => s.t > WARM_UP)
  const window = (measured.at(-1)?.t ?? 0) - (measured[0]?.t ?? 0)
  const verdicts = (['heap', 'rss'] as const).map(kind => {
    const ys = measured.map(s => s[kind])
    const mean = ys.reduce((a, b) => a + b, 0) / ys.length
    const growth = slope(measured.map(s => s.t), ys) * window
    const allowed = Math.max(TOLERANCE[kind].share * mean, TOLERANCE[kind].floor)
    const flat = growth <= allowed
    console.log(`${kind === 'heap' ? 'live heap' : 'RSS'}: mean ${(mean / MiB).toFixed(1)} MiB after ${WARM_UP} s of warm-up; trend ${growth >= 0 ? '+' : ''}${(growth / MiB).toFixed(1)} MiB over ${window} s (allowed ${(allowed / MiB).toFixed(1)} MiB): ${flat ? 'flat' : 'GROWING'}`)
    return flat
  })

  console.log(`traffic: ${counts.sent} messages queued to peers, ${counts.delivered} delivered; not delivered, with the connection they were on ` +
    `(the sender told by peer:disconnect): ${counts.toKilled} to or from a killed node, ${counts.toHostile} to the hostile client's peers, ` +
    `${counts.toLive} between live nodes; ${counts.duplicates} duplicates, ${counts.reordered} out of order (across a connection switch)`)
  console.log(`connections between live nodes that broke: ${liveBreaks.size === 0 ? 'none' : [...liveBreaks].map(([why, n]) => `${n} (${why})`).join(', ')}`)
  console.log(`churn: ${counts.killed} nodes killed and replaced; hostile: ${counts.hostile} offences, ${counts.flooded} flood sockets`)
  for (const v of violations.slice(0, 20)) console.log(`VIOLATION ${v}`)
  if (violations.length > 20) console.log(`... and ${violations.length - 20} more`)
  const ok = violations.length === 0 && verdicts.every(Boolean) && counts.delivered > 0
  console.log(ok ? 'soak passed' : 'soak FAILED')
  return ok ? 0 : 1
}

process.exitCode = await main()

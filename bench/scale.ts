/**
 * Scale: the overlay topology beside the full mesh, by number of nodes.
 *
 *   npm run bench:scale              overlay at 100-1,000 nodes in memory and 200 over TCP, full mesh until it stops
 *   npm run bench:scale -- --quick   small sizes, for a smoke test
 *
 * Every scenario runs in a child process of its own (so one that exhausts
 * memory or file descriptors ends only itself) and goes through:
 *
 * 1. join: N nodes start, each joining through one random node already in;
 *    timed until membership is whole (overlay: the active views connect
 *    every node; full mesh: everyone connected to everyone), and until it
 *    settles (no view changed for 2 s).
 * 2. steady: 100 broadcasts from random nodes, one after the other, each
 *    waited for until every other node delivered it.
 * 3. failures: 100 broadcasts from random live nodes, one every 50 ms; at
 *    the 20th, 20% of the nodes (chosen at random) crash (their connections are cut at once,
 *    then they stop). Every survivor must deliver every broadcast; repair
 *    time runs from the crash until the survivors' membership is whole again.
 *
 * Per phase: delivery ratio, payload transmissions per broadcast / (N-1),
 * control messages per broadcast (IHAVE, GRAFT, PRUNE), hops and time to the
 * last node (p50, p99), and the most connections any node had. Results go to
 * bench/results/scale.json and bench/results/scale.svg.
 */
import { execFileSync, spawn } from 'node:child_process'
import { setMaxListeners } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { MeshNode, type MeshNodeOptions } from '../lib/index.js'
import { sleep } from '../harness/async.js'
import { seeded } from '../harness/random.js'
import { crashable, memoryNetwork, tcpTransport } from '../lib/transport/index.js'

type TopologyName = 'overlay' | 'full-mesh'
type TransportName = 'memory' | 'tcp'

interface Scenario {
  topology: TopologyName
  transport: TransportName
  n: number
  broadcasts: number
  /** Gap between the broadcasts of the failure phase, in ms. */
  gapMs: number
  seed: number
}

interface PhaseResult {
  broadcasts: number
  /** Deliveries made / deliveries expected (every live node but the origin, for every broadcast). */
  deliveryRatio: number
  /** Payload transmissions per broadcast, divided by the live nodes but the origin when it was sent (N-1 before any crash): 1 is the minimum. */
  payloadPerBroadcastRatio: number
  payloadPerBroadcast: number
  /** IHAVE + GRAFT + PRUNE per broadcast (none in a full mesh). */
  controlPerBroadcast: number
  /** Other overlay frames (membership, capabilities) per second during the phase, per node live at its end. */
  membershipPerNodePerSec: number
  hopsToLastP50: number
  hopsToLastP99: number
  msToLastP50: number
  msToLastP99: number
  /** Deliveries of a broadcast to a node that had it already (must be 0). */
  duplicateDeliveries: number
  maxConnections: number
}

interface ScenarioResult extends Scenario {
  ok: boolean
  /** Why the scenario stopped, when it did. */
  stoppedBy?: string
  /** From the first join until membership connects every node (overlay) or everyone has everyone (full mesh), in ms. */
  joinMs?: number
  /** From the first join until no view changed for QUIET_MS; absent when they still changed SETTLE_WAIT_MS after joinMs. */
  settledMs?: number
  /** Joins refused by a contact at its peer limit, and retried through another node. */
  joinRetries?: number
  maxConnectionsAfterJoin?: number
  steady?: PhaseResult
  failures?: PhaseResult & { crashed: number, survivors: number, repairMs: number }
  /** Resident memory at the end, in MiB. */
  rssMiB?: number
}

const RESULTS = new URL('./results/', import.meta.url)
const KILL_FRACTION = 0.2
const KILL_AT = 20
const STEADY_TIMEOUT = 20_000
/** Membership has settled once no view changed for this long, in ms. */
const QUIET_MS = 2_000
/** After the last join, membership must be whole within this, plus the next per node, in ms; else the topology stops at this N. */
const JOIN_DEADLINE_MS = 120_000
const JOIN_DEADLINE_PER_NODE_MS = 500
/** Nodes joining at once, at most. */
const JOINS_AT_ONCE = 8
/** How long the views may keep changing once connected before the run goes on (not settled then), in ms. */
const SETTLE_WAIT_MS = 60_000
/** Resident memory a scenario may use; buffers live outside the JS heap, so this, not the heap limit, protects the machine. */
const MEMORY_CAP_GIB = 6

/** `count` distinct items of `items`, chosen at random (a partial Fisher-Yates shuffle). */
function pick<T> (items: T[], count: number, random: () => number): T[] {
  const pool = [...items]
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pool.length - i))
    ;[pool[i], pool[j]] = [pool[j] as T, pool[i] as T]
  }
  return pool.slice(0, count)
}

function percentile (values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)] as number
}

interface SimNode {
  index: number
  node: MeshNode
  crash: () => void
  alive: boolean
}

/** Who delivered which broadcast, when and at how many hops. */
class Deliveries {
  private readonly byText = new Map<string, { sentAt: number, origin: number, receivers: number, got: Map<number, { at: number, hops: number }>, waiting?: { count: number, resolve: () => void } }>()
  duplicates = 0

  /** A broadcast from `origin`, when `receivers` other nodes are live. */
  sent (text: string, origin: number, receivers: number): void {
    this.byText.set(text, { sentAt: performance.now(), origin, receivers, got: new Map() })
  }

  /** Receivers live when the broadcasts were sent, summed: the fewest payload transmissions that could reach them. */
  receivers (texts: string[]): number {
    return texts.reduce((sum, text) => sum + (this.byText.get(text)?.receivers ?? 0), 0)
  }

  delivered (text: string, node: number, hops: number): void {
    const entry = this.byText.get(text)
    if (entry === undefined) return
    if (entry.got.has(node)) {
      this.duplicates++
      return
    }
    entry.got.set(node, { at: performance.now(), hops })
    if (entry.waiting !== undefined && entry.got.size >= entry.waiting.count) entry.waiting.resolve()
  }

  /** Resolves once `count` nodes delivered `text`, or after `ms`. */
  async reached (text: string, count: number, ms: number): Promise<void> {
    const entry = this.byText.get(text)
    if (entry === undefined || entry.got.size >= count) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      new Promise<void>(resolve => { entry.waiting = { count, resolve } }),
      new Promise<void>(resolve => { timer = setTimeout(resolve, ms) })
    ])
    clearTimeout(timer)
  }

  /** Delivery to `live` nodes: ratio, and hops and time to the last of them per broadcast. */
  summary (texts: string[], live: Set<number>): { ratio: number, hops: number[], ms: number[], missing: number } {
    let expected = 0
    let made = 0
    const hops: number[] = []
    const ms: number[] = []
    for (const text of texts) {
      const entry = this.byText.get(text)
      if (entry === undefined) continue
      let last = entry.sentAt
      let maxHops = 0
      for (const node of live) {
        if (node === entry.origin) continue
        expected++
        const got = entry.got.get(node)
        if (got === undefined) continue
        made++
        last = Math.max(last, got.at)
        maxHops = Math.max(maxHops, got.hops)
      }
      hops.push(maxHops)
      ms.push(last - entry.sentAt)
    }
    return { ratio: expected === 0 ? 1 : made / expected, hops, ms, missing: expected - made }
  }
}

function overlayCounters (nodes: SimNode[]): { payload: number, control: number, membership: number } {
  let payload = 0
  let control = 0
  let membership = 0
  for (const { node } of nodes) {
    const sent = node.overlayStatus()?.stats.sent
    if (sent === undefined) continue
    payload += sent.gossip
    control += sent.ihave + sent.graft + sent.prune
    membership += sent.caps + sent.join + sent['forward-join'] + sent.neighbor + sent['neighbor-reply'] + sent.disconnect + sent.shuffle + sent['shuffle-reply']
  }
  return { payload, control, membership }
}

/**
 * Why membership is not whole yet, or `undefined` when it is. Overlay: no
 * live node has a crashed one as a neighbour, and the links connect every
 * live node. (A link is one-sided for a moment while its NEIGHBOR request is
 * answered, so symmetry is not asked for.) Full mesh: everyone has everyone.
 */
function membershipGap (nodes: SimNode[], topology: TopologyName): string | undefined {
  const live = nodes.filter(n => n.alive)
  if (topology === 'full-mesh') {
    const short = live.filter(({ node }) => node.peers().length < live.length - 1).length
    return short === 0 ? undefined : `${short} nodes not connected to all`
  }
  const byId = new Map(live.map(({ node }) => [node.id, node]))
  const links = new Map<string, Set<string>>([...byId.keys()].map(id => [id, new Set<string>()]))
  for (const [id, node] of byId) {
    for (const peer of node.overlayStatus()?.active ?? []) {
      if (!byId.has(peer)) return `${id} still has crashed ${peer} as a neighbour`
      links.get(id)?.add(peer)
      links.get(peer)?.add(id)
    }
  }
  const [first] = byId.keys()
  const reached = new Set([first as string])
  const stack = [first as string]
  while (stack.length > 0) {
    for (const peer of links.get(stack.pop() as string) ?? []) {
      if (reached.has(peer)) continue
      reached.add(peer)
      stack.push(peer)
    }
  }
  return reached.size === byId.size ? undefined : `${byId.size - reached.size} of ${byId.size} nodes not connected to the rest`
}

/** Every live node's neighbours (active view, or connected peers in a full mesh), as one string: it changes whenever membership does. */
function viewSignature (nodes: SimNode[]): string {
  const neighbours = (node: MeshNode): string[] => node.overlayStatus()?.active ?? node.peers().map(peer => peer.id)
  return nodes.filter(n => n.alive).map(({ node }) => neighbours(node).sort().join(',')).join(';')
}

const maxConnections = (nodes: SimNode[]): number => Math.max(...nodes.filter(n => n.alive).map(({ node }) => node.peers().length))

/** A line on stderr, so that a long scenario shows where it is. */
function progress (scenario: Scenario, started: number, what: string): void {
  console.error(`  [${scenario.topology} ${scenario.transport} N=${scenario.n}] ${((performance.now() - started) / 1000).toFixed(1)} s: ${what}`)
}

/** Runs one scenario in this process. */
async function runScenario (scenario: Scenario): Promise<ScenarioResult> {
  const { topology, n } = scenario
  const random = seeded(scenario.seed)
  const network = scenario.transport === 'memory' ? memoryNetwork() : tcpTransport()
  const base: MeshNodeOptions = scenario.transport === 'memory' ? { host: 'sim' } : { host: '127.0.0.1' }
  const options: MeshNodeOptions = topology === 'overlay'
    ? { ...base, topology: 'overlay', overlay: { random } }
    : {
        ...base,
        // The protocol's own discovery (3 dials per PEERS list, up to 5 s apart, lists every 30 s); only the
        // tables grow, since a full mesh needs a slot and an address for everyone.
        maxPeers: n,
        maxKnownPeers: 2 * n,
        maxPeersPerList: 2 * n,
        maxPendingHandshakes: Math.max(64, n)
      }
  const nodes: SimNode[] = []
  const deliveries = new Deliveries()
  const result: ScenarioResult = { ...scenario, ok: false }
  try {
    // 1. Join.
    const started = performance.now()
    for (let i = 0; i < n; i++) {
      const { transport, crash } = crashable(network)
      const node = new MeshNode({ ...options, transport })
      node.on('chat', ({ text, hops }) => { deliveries.delivered(text, i, hops) })
      await node.start()
      nodes.push({ index: i, node, crash, alive: true })
    }
    // Joins run a few at a time (never more than the nodes in already), each through a node that has
    // joined: one that joins through a node of its own batch could form an island with it, which no
    // overlay merges. A contact at its peer limit refuses (MAX_PEERS); the newcomer then tries another.
    result.joinRetries = 0
    for (let joined = 1; joined < n;) {
      const batch = nodes.slice(joined, joined + Math.min(JOINS_AT_ONCE, joined))
      const inAlready = joined
      await Promise.all(batch.map(async ({ node }) => {
        for (let attempt = 1; ; attempt++) {
          try {
            await node.connect((nodes[Math.floor(random() * inAlready)] as SimNode).node.address)
            return
          } catch (err) {
            if (attempt === 5) throw err
            result.joinRetries = (result.joinRetries ?? 0) + 1
          }
        }
      }))
      joined += batch.length
    }
    let signature = viewSignature(nodes)
    let lastChange = performance.now()
    let connectedAt: number | undefined
    const joinDeadline = performance.now() + JOIN_DEADLINE_MS + n * JOIN_DEADLINE_PER_NODE_MS
    for (;;) {
      await sleep(100)
      const now = performance.now()
      const current = viewSignature(nodes)
      if (current !== signature) {
        signature = current
        lastChange = now
      }
      const gap = membershipGap(nodes, topology)
      connectedAt = gap === undefined ? connectedAt ?? now : undefined
      // A full mesh that is whole cannot change any more.
      if (connectedAt !== undefined && (topology === 'full-mesh' || now - lastChange >= QUIET_MS)) {
        result.settledMs = Math.round(lastChange - started)
        break
      }
      // Views that keep improving (nodes with free slots finding each other) do not hold the run up.
      if (connectedAt !== undefined && now - connectedAt > SETTLE_WAIT_MS) break
      if (connectedAt === undefined && now > joinDeadline) throw new Error(`membership not whole after ${Math.round(now - started)} ms: ${gap ?? ''}`)
    }
    result.joinMs = Math.round((connectedAt as number) - started)
    result.maxConnectionsAfterJoin = maxConnections(nodes)
    progress(scenario, started, 'membership stable')

    // 2. Steady: one broadcast at a time.
    const live = (): SimNode[] => nodes.filter(x => x.alive)
    let counters = overlayCounters(nodes)
    let phaseStart = performance.now()
    let fullMeshPayloads = 0
    let peakConnections = 0
    const steadyTexts: string[] = []
    for (let b = 0; b < scenario.broadcasts; b++) {
      const origin = live()[Math.floor(random() * live().length)] as SimNode
      const text = `steady ${b}`
      steadyTexts.push(text)
      deliveries.sent(text, origin.index, live().length - 1)
      const sent = await origin.node.broadcast(text)
      fullMeshPayloads += sent.queued.length
      await deliveries.reached(text, live().length - 1, STEADY_TIMEOUT)
      peakConnections = Math.max(peakConnections, maxConnections(nodes))
    }
    progress(scenario, started, 'steady broadcasts done')
    result.steady = phaseResult(nodes, topology, deliveries, steadyTexts, new Set(live().map(x => x.index)), counters, fullMeshPayloads, phaseStart, peakConnections)

    // 3. Failures: paced broadcasts, 20% crash at the 20th.
    counters = overlayCounters(nodes)
    phaseStart = performance.now()
    fullMeshPayloads = 0
    peakConnections = 0
    let crashedAt = 0
    let crashed = 0
    let repairMs = -1
    let repairWatch: Promise<void> = Promise.resolve()
    const failureTexts: string[] = []
    for (let b = 0; b < scenario.broadcasts; b++) {
      if (b === KILL_AT) {
        crashedAt = performance.now()
        for (const victim of pick(live(), Math.round(KILL_FRACTION * live().length), random)) {
          victim.alive = false
          victim.crash()
          void victim.node.stop()
          crashed++
        }
        // Watched from the crash on, beside the broadcasts that go on meanwhile.
        repairWatch = (async () => {
          const deadline = crashedAt + 120_000
          while (performance.now() < deadline) {
            if (membershipGap(nodes, topology) === undefined) {
              repairMs = Math.round(performance.now() - crashedAt)
              return
            }
            await sleep(50)
          }
        })()
      }
      const origin = live()[Math.floor(random() * live().length)] as SimNode
      const text = `failures ${b}`
      failureTexts.push(text)
      deliveries.sent(text, origin.index, live().length - 1)
      void origin.node.broadcast(text).then(sent => { fullMeshPayloads += sent.queued.length })
      peakConnections = Math.max(peakConnections, maxConnections(nodes))
      await sleep(scenario.gapMs)
    }
    progress(scenario, started, `${crashed} crashed, broadcasts sent`)
    const survivors = new Set(live().map(x => x.index))
    let lastReport = 0
    const deadline = performance.now() + 60_000
    while (performance.now() < deadline) {
      if (failureTexts.every(text => deliveries.summary([text], survivors).missing === 0)) break
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now()
        progress(scenario, started, 'deliveries to survivors still missing')
      }
      await sleep(50)
    }
    await repairWatch
    result.failures = {
      ...phaseResult(nodes, topology, deliveries, failureTexts, survivors, counters, fullMeshPayloads, phaseStart, peakConnections),
      crashed,
      survivors: survivors.size,
      repairMs
    }
    result.ok = result.steady.deliveryRatio === 1 && result.failures.deliveryRatio === 1 && repairMs >= 0
    if (!result.ok) result.stoppedBy = 'incomplete delivery or repair'
  } catch (err) {
    result.stoppedBy = (err as Error).message
  } finally {
    result.rssMiB = Math.round(process.memoryUsage().rss / 2 ** 20)
    await Promise.all(nodes.map(async ({ node }) => { await node.stop() }))
  }
  return result
}

function phaseResult (
  nodes: SimNode[], topology: TopologyName, deliveries: Deliveries, texts: string[], live: Set<number>,
  before: ReturnType<typeof overlayCounters>, fullMeshPayloads: number, phaseStart: number, peakConnections: number
): PhaseResult {
  const summary = deliveries.summary(texts, live)
  const after = overlayCounters(nodes)
  const seconds = (performance.now() - phaseStart) / 1000
  const payload = topology === 'overlay' ? after.payload - before.payload : fullMeshPayloads
  return {
    broadcasts: texts.length,
    deliveryRatio: summary.ratio,
    payloadPerBroadcast: payload / texts.length,
    payloadPerBroadcastRatio: payload / deliveries.receivers(texts),
    controlPerBroadcast: (after.control - before.control) / texts.length,
    membershipPerNodePerSec: (after.membership - before.membership) / live.size / seconds,
    hopsToLastP50: percentile(summary.hops, 50),
    hopsToLastP99: percentile(summary.hops, 99),
    msToLastP50: percentile(summary.ms, 50),
    msToLastP99: percentile(summary.ms, 99),
    duplicateDeliveries: deliveries.duplicates,
    maxConnections: peakConnections
  }
}

/** Runs a scenario in a child process, given at most `budgetMs`. */
async function inChild (scenario: Scenario, budgetMs: number): Promise<ScenarioResult> {
  const script = fileURLToPath(import.meta.url)
  return await new Promise(resolve => {
    const child = spawn(process.execPath, ['--max-old-space-size=8192', '--import', 'tsx', script, '--scenario', JSON.stringify(scenario)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, budgetMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const line = out.trim().split('\n').pop() ?? ''
      try {
        resolve(JSON.parse(line) as ScenarioResult)
      } catch {
        const why = signal === 'SIGKILL' ? `no result within ${Math.round(budgetMs / 1000)} s` : `exited with ${signal ?? code}`
        resolve({ ...scenario, ok: false, stoppedBy: why })
      }
    })
  })
}

/** The open-file limit: each TCP connection costs a descriptor at both ends. */
function fileDescriptorLimit (): number {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim())
  } catch {
    return 1024
  }
}

function row (r: ScenarioResult): Record<string, string | number> {
  const f = (x: number | undefined, digits = 2): string => x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits)
  return {
    topology: r.topology,
    transport: r.transport,
    N: r.n,
    ok: r.ok ? 'yes' : `NO: ${r.stoppedBy ?? ''}`,
    'join s': f(r.joinMs === undefined ? undefined : r.joinMs / 1000, 1),
    'settled s': r.joinMs === undefined ? '-' : r.settledMs === undefined ? `>${(r.joinMs + SETTLE_WAIT_MS) / 1000}` : f(r.settledMs / 1000, 1),
    'max conns': r.steady?.maxConnections ?? '-',
    delivery: f(r.steady?.deliveryRatio, 3),
    'payload/(N-1)': f(r.steady?.payloadPerBroadcastRatio),
    'control/bcast': f(r.steady?.controlPerBroadcast, 0),
    'hops p50/p99': r.steady === undefined ? '-' : `${r.steady.hopsToLastP50}/${r.steady.hopsToLastP99}`,
    'ms p50/p99': r.steady === undefined ? '-' : `${f(r.steady.msToLastP50, 0)}/${f(r.steady.msToLastP99, 0)}`,
    'crash: delivery': f(r.failures?.deliveryRatio, 3),
    'crash: payload/(N-1)': f(r.failures?.payloadPerBroadcastRatio),
    'crash: ms p50/p99': r.failures === undefined ? '-' : `${f(r.failures.msToLastP50, 0)}/${f(r.failures.msToLastP99, 0)}`,
    'repair ms': r.failures?.repairMs ?? '-'
  }
}

function printTable (rows: Array<Record<string, string | number>>): void {
  const first = rows[0]
  if (first === undefined) return
  const columns = Object.keys(first)
  const cells = [columns, ...rows.map(r => columns.map(c => String(r[c] ?? '')))]
  const widths = columns.map((_, i) => Math.max(...cells.map(line => line[i]?.length ?? 0)))
  for (const line of cells) console.log(line.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '))
}

/** The chart, written by hand: three panels by N, overlay beside full mesh. */
function chart (results: ScenarioResult[]): string {
  interface Line { label: string, color: string, dash: string, pick: (r: ScenarioResult) => boolean }
  const lines: Line[] = [
    { label: 'overlay, memory', color: '#1f77b4', dash: '', pick: r => r.topology === 'overlay' && r.transport === 'memory' },
    { label: 'overlay, TCP', color: '#1f77b4', dash: '6 4', pick: r => r.topology === 'overlay' && r.transport === 'tcp' },
    { label: 'full mesh, memory', color: '#d62728', dash: '', pick: r => r.topology === 'full-mesh' && r.transport === 'memory' },
    { label: 'full mesh, TCP', color: '#d62728', dash: '6 4', pick: r => r.topology === 'full-mesh' && r.transport === 'tcp' }
  ]
  const control: Line = { label: 'overlay IHAVE/GRAFT/PRUNE', color: '#999', dash: '2 3', pick: r => r.topology === 'overlay' && r.transport === 'memory' }
  const panels: Array<{ title: string, lines: Array<[Line, (r: ScenarioResult) => number | undefined]> }> = [
    {
      title: 'payload transmissions per broadcast',
      lines: [...lines.map(line => [line, (r: ScenarioResult) => r.steady?.payloadPerBroadcast] as [Line, (r: ScenarioResult) => number | undefined]), [control, r => r.steady?.controlPerBroadcast]]
    },
    { title: 'time to the last node, ms (p50)', lines: lines.map(line => [line, r => r.steady?.msToLastP50]) },
    { title: 'most connections on one node', lines: lines.map(line => [line, r => r.steady?.maxConnections]) }
  ]
  const ok = results.filter(r => r.ok)
  const ns = ok.map(r => r.n)
  const [minN, maxN] = [Math.min(...ns, 10), Math.max(...ns, 100)]
  const W = 380
  const H = 260
  const M = { left: 56, right: 28, top: 34, bottom: 40 }
  const log = (v: number): number => Math.log10(Math.max(v, 1e-9))
  const x = (n: number): number => M.left + (log(n) - log(minN)) / (log(maxN) - log(minN) || 1) * (W - M.left - M.right)
  const parts: string[] = []
  panels.forEach((panel, p) => {
    const values = panel.lines.flatMap(([line, value]) => ok.filter(line.pick).map(value)).filter((v): v is number => v !== undefined && v > 0)
    const [lo, hi] = [Math.min(...values, 1), Math.max(...values, 10)]
    const y = (v: number): number => H - M.bottom - (log(v) - log(lo)) / (log(hi) - log(lo) || 1) * (H - M.top - M.bottom)
    parts.push(`<g transform="translate(${p * W},0)">`)
    parts.push(`<text x="${(W + M.left) / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${panel.title}</text>`)
    parts.push(`<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="#333"/>`)
    parts.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="#333"/>`)
    for (let e = Math.floor(log(lo)); e <= Math.ceil(log(hi)); e++) {
      const v = 10 ** e
      if (v < lo / 1.01 || v > hi * 1.01) continue
      parts.push(`<line x1="${M.left - 4}" y1="${y(v)}" x2="${W - M.right}" y2="${y(v)}" stroke="#ddd"/><text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v.toLocaleString('en-US')}</text>`)
    }
    for (const n of [...new Set(ns)].sort((a, b) => a - b)) {
      parts.push(`<line x1="${x(n)}" y1="${H - M.bottom}" x2="${x(n)}" y2="${H - M.bottom + 4}" stroke="#333"/><text x="${x(n)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${n}</text>`)
    }
    parts.push(`<text x="${(W + M.left) / 2}" y="${H - 6}" text-anchor="middle" font-size="11">N (nodes, log scale)</text>`)
    for (const [line, value] of panel.lines) {
      const points = ok.filter(line.pick).sort((a, b) => a.n - b.n).flatMap(r => {
        const v = value(r)
        return v === undefined || v <= 0 ? [] : [[x(r.n), y(v)] as const]
      })
      if (points.length === 0) continue
      parts.push(`<polyline fill="none" stroke="${line.color}" stroke-width="2" stroke-dasharray="${line.dash}" points="${points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')}"/>`)
      for (const [px, py] of points) parts.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3" fill="${line.color}"/>`)
    }
    parts.push('</g>')
  })
  const legendY = H + 14
  ;[...lines, control].forEach((line, i) => {
    const lx = 40 + i * 215
    parts.push(`<line x1="${lx}" y1="${legendY}" x2="${lx + 30}" y2="${legendY}" stroke="${line.color}" stroke-width="2" stroke-dasharray="${line.dash}"/><text x="${lx + 36}" y="${legendY + 4}" font-size="12">${line.label}</text>`)
  })
  const notesY = legendY + 26
  const stopped = results.filter(r => !r.ok).map(r => `${r.topology} ${r.transport} N=${r.n}: ${r.stoppedBy ?? 'failed'}`)
  stopped.forEach((line, i) => { parts.push(`<text x="60" y="${notesY + i * 15}" font-size="11" fill="#d62728">stopped: ${escapeXml(line)}</text>`) })
  const height = notesY + stopped.length * 15
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${3 * W}" height="${height}" viewBox="0 0 ${3 * W} ${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`
}

function escapeXml (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

async function main (): Promise<void> {
  const quick = process.argv.includes('--quick')
  const broadcasts = quick ? 30 : 100
  const budget = quick ? 180_000 : 900_000
  const fdLimit = fileDescriptorLimit()
  const plan: Array<{ topology: TopologyName, transport: TransportName, sizes: number[], gapMs: number }> = quick
    ? [
        { topology: 'overlay', transport: 'memory', sizes: [50, 100], gapMs: 50 },
        { topology: 'overlay', transport: 'tcp', sizes: [50], gapMs: 50 },
        { topology: 'full-mesh', transport: 'memory', sizes: [25, 50], gapMs: 50 },
        { topology: 'full-mesh', transport: 'tcp', sizes: [25], gapMs: 50 }
      ]
    : [
        { topology: 'overlay', transport: 'memory', sizes: [100, 200, 500, 1000], gapMs: 50 },
        { topology: 'overlay', transport: 'tcp', sizes: [200], gapMs: 50 },
        { topology: 'full-mesh', transport: 'memory', sizes: [50, 100, 200, 300, 400, 600], gapMs: 50 },
        { topology: 'full-mesh', transport: 'tcp', sizes: [50, 100, 150, 200], gapMs: 50 }
      ]
  const results: ScenarioResult[] = []
  for (const { topology, transport, sizes, gapMs } of plan) {
    for (const n of sizes) {
      const scenario: Scenario = { topology, transport, n, broadcasts, gapMs, seed: n }
      // Each node of a TCP full mesh holds N-1 sockets, and so does the other end of each.
      if (topology === 'full-mesh' && transport === 'tcp' && n * (n - 1) + 2 * n > fdLimit) {
        results.push({ ...scenario, ok: false, stoppedBy: `needs ${n * (n - 1)} sockets, over the open-file limit (${fdLimit})` })
        console.error(`${topology} ${transport} N=${n}: skipped, over the open-file limit`)
        break
      }
      console.error(`${topology} ${transport} N=${n} ...`)
      const result = await inChild(scenario, budget)
      results.push(result)
      console.error(`  ${result.ok ? 'ok' : `stopped: ${result.stoppedBy ?? ''}`}`)
      // A full mesh that stopped at this size stops at every larger one too.
      if (!result.ok && topology === 'full-mesh') break
    }
  }
  console.log(`\nscale${quick ? ' [quick]' : ''}: ${broadcasts} broadcasts per phase, ${cpus().length} cores`)
  printTable(results.map(row))
  mkdirSync(RESULTS, { recursive: true })
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, openFileLimit: fdLimit }
  const name = quick ? 'scale-quick' : 'scale'
  writeFileSync(new URL(`${name}.json`, RESULTS), JSON.stringify({ date: new Date().toISOString(), quick, machine, results }, null, 2) + '\n')
  writeFileSync(new URL(`${name}.svg`, RESULTS), chart(results))
  console.log(`\nwrote bench/results/${name}.json and bench/results/${name}.svg`)
}

const scenarioArg = process.argv.indexOf('--scenario')
if (scenarioArg >= 0) {
  // A full-mesh node dialling many discovered addresses at once waits on its lifetime signal once per
  // dial: bounded by maxPeers (here N), so not the leak Node's default warning at 10 suspects.
  setMaxListeners(10_000)
  const scenario = JSON.parse(process.argv[scenarioArg + 1] as string) as Scenario
  setInterval(() => {
    if (process.memoryUsage.rss() < MEMORY_CAP_GIB * 2 ** 30) return
    console.log(JSON.stringify({ ...scenario, ok: false, stoppedBy: `resident memory over ${MEMORY_CAP_GIB} GiB` }))
    process.exit(0)
  }, 500).unref()
  const result = await runScenario(scenario)
  console.log(JSON.stringify(result))
  process.exit(0)
} else {
  await main()
}

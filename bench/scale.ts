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
import { execFileSync } from 'node:child_process'
import { setMaxListeners } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { MeshNode, type MeshNodeOptions, type OverlayOptions } from '../lib/index.js'
import { sleep } from '../harness/async.js'
import { seeded } from '../harness/random.js'
import { crashable, memoryNetwork, tcpTransport } from '../lib/transport/index.js'
import { childScript, scenarioArgument } from './in-child.js'
import { lineChart, type Panel, type Series } from './line-chart.js'
import { connectivityGap, DeliveryLog, percentile, pick, printTable, type PhaseResult } from './scale-shape.js'

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
  /** Overlay options beside the defaults, to compare settings (`--scenario` only). */
  overlay?: OverlayOptions
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
  /** `lostWithCrashed`: broadcasts whose origin crashed with every node it had reached, which no survivor could get; left out of the phase's figures. */
  failures?: PhaseResult & { crashed: number, survivors: number, repairMs: number, lostWithCrashed: number }
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
/**
 * Resident memory a scenario may use: half of the machine's. Buffers live
 * outside the JS heap, so this, not the heap limit, protects the machine.
 * A full mesh of N nodes in one process holds N(N-1) connection ends.
 */
const MEMORY_CAP_MIB = Math.floor(totalmem() / 2 / 2 ** 20)

interface SimNode {
  index: number
  node: MeshNode
  crash: () => void
  alive: boolean
}

/** The delivery log, and a wait for a broadcast to reach a number of nodes. */
class Deliveries extends DeliveryLog {
  private readonly waiting = new Map<string, { count: number, resolve: () => void }>()

  constructor (nodes: number) {
    super(nodes, () => performance.now())
  }

  override delivered (text: string, node: number, hops: number): number {
    const count = super.delivered(text, node, hops)
    const waiting = this.waiting.get(text)
    if (waiting !== undefined && count >= waiting.count) waiting.resolve()
    return count
  }

  /** Resolves once `count` nodes delivered `text`, or after `ms`. */
  async reached (text: string, count: number, ms: number): Promise<void> {
    if (this.count(text) >= count) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      new Promise<void>(resolve => { this.waiting.set(text, { count, resolve }) }),
      new Promise<void>(resolve => { timer = setTimeout(resolve, ms) })
    ])
    this.waiting.delete(text)
    clearTimeout(timer)
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
    const short = live.filter(({ node }) => node.peerCount < live.length - 1).length
    return short === 0 ? undefined : `${short} nodes not connected to all`
  }
  return connectivityGap(new Map(live.map(({ node }) => [node.id, node.overlayStatus()?.active ?? []])))
}

/**
 * Every live node's neighbours as one string: it changes whenever membership
 * does. The overlay's active views; in a full mesh, each node's peer count,
 * as a full mesh only grows until it is whole (listing N peers of N nodes
 * every poll took the bench more time than the mesh it watched).
 */
function viewSignature (nodes: SimNode[]): string {
  const neighbours = (node: MeshNode): string => node.overlayStatus()?.active.slice().sort().join(',') ?? String(node.peerCount)
  return nodes.filter(n => n.alive).map(({ node }) => neighbours(node)).join(';')
}

const maxConnections = (nodes: SimNode[]): number => Math.max(...nodes.filter(n => n.alive).map(({ node }) => node.peerCount))

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
    ? { ...base, topology: 'overlay', overlay: { ...scenario.overlay, random } }
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
  const deliveries = new Deliveries(n)
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
    // The phase ran 4 s past the crash: what crashed nodes had sent has landed.
    const heldTexts = failureTexts.filter(text => deliveries.heldBy(text, survivors))
    let lastReport = 0
    const deadline = performance.now() + 60_000
    while (performance.now() < deadline) {
      if (heldTexts.every(text => deliveries.summary([text], survivors).missing === 0)) break
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now()
        progress(scenario, started, 'deliveries to survivors still missing')
      }
      await sleep(50)
    }
    await repairWatch
    result.failures = {
      ...phaseResult(nodes, topology, deliveries, heldTexts, survivors, counters, fullMeshPayloads, phaseStart, peakConnections),
      crashed,
      survivors: survivors.size,
      lostWithCrashed: failureTexts.length - heldTexts.length,
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

/** The chart: three panels by N, overlay beside full mesh. */
function chart (results: ScenarioResult[]): string {
  const lines: Array<Series & { pick: (r: ScenarioResult) => boolean }> = [
    { label: 'overlay, memory', color: '#1f77b4', dash: '', pick: r => r.topology === 'overlay' && r.transport === 'memory' },
    { label: 'overlay, TCP', color: '#1f77b4', dash: '6 4', pick: r => r.topology === 'overlay' && r.transport === 'tcp' },
    { label: 'full mesh, memory', color: '#d62728', dash: '', pick: r => r.topology === 'full-mesh' && r.transport === 'memory' },
    { label: 'full mesh, TCP', color: '#d62728', dash: '6 4', pick: r => r.topology === 'full-mesh' && r.transport === 'tcp' }
  ]
  const control: Series = { label: 'overlay IHAVE/GRAFT/PRUNE', color: '#999', dash: '2 3' }
  const ok = results.filter(r => r.ok)
  const by = (value: (r: ScenarioResult) => number | undefined) => lines.map(series => ({ series, points: ok.filter(series.pick).map(r => [r.n, value(r)] as [number, number | undefined]) }))
  const panels: Panel[] = [
    {
      title: 'payload transmissions per broadcast',
      lines: [...by(r => r.steady?.payloadPerBroadcast), { series: control, points: ok.filter(r => r.topology === 'overlay' && r.transport === 'memory').map(r => [r.n, r.steady?.controlPerBroadcast]) }]
    },
    { title: 'time to the last node, ms (p50)', lines: by(r => r.steady?.msToLastP50) },
    { title: 'most connections on one node', lines: by(r => r.steady?.maxConnections) }
  ]
  const stopped = results.filter(r => !r.ok).map(r => `stopped: ${r.topology} ${r.transport} N=${r.n}: ${r.stoppedBy ?? 'failed'}`)
  return lineChart(panels, [...lines, control], stopped)
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
        { topology: 'full-mesh', transport: 'memory', sizes: [50, 100, 200, 300, 400, 500, 600], gapMs: 50 },
        { topology: 'full-mesh', transport: 'tcp', sizes: [50, 100, 150, 200], gapMs: 50 }
      ]
  const results: ScenarioResult[] = []
  const child = await childScript(fileURLToPath(import.meta.url))
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
      const result = await child.run<Scenario, ScenarioResult>(scenario, budget, MEMORY_CAP_MIB, why => ({ ...scenario, ok: false, stoppedBy: why }))
      results.push(result)
      console.error(`  ${result.ok ? 'ok' : `stopped: ${result.stoppedBy ?? ''}`}`)
      // A full mesh that stopped at this size stops at every larger one too.
      if (!result.ok && topology === 'full-mesh') break
    }
  }
  console.log(`\nscale${quick ? ' [quick]' : ''}: ${broadcasts} broadcasts per phase, ${cpus().length} cores`)
  child.remove()
  printTable(results.map(row))
  mkdirSync(RESULTS, { recursive: true })
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, openFileLimit: fdLimit }
  const name = quick ? 'scale-quick' : 'scale'
  writeFileSync(new URL(`${name}.json`, RESULTS), JSON.stringify({ date: new Date().toISOString(), quick, machine, results }, null, 2) + '\n')
  writeFileSync(new URL(`${name}.svg`, RESULTS), chart(results))
  console.log(`\nwrote bench/results/${name}.json and bench/results/${name}.svg`)
}

const scenario = scenarioArgument<Scenario>()
if (scenario !== undefined) {
  // A full-mesh node dialling many discovered addresses at once waits on its lifetime signal once per
  // dial: bounded by maxPeers (here N), so not the leak Node's default warning at 10 suspects.
  setMaxListeners(10_000)
  setInterval(() => {
    if (process.memoryUsage.rss() < MEMORY_CAP_MIB * 2 ** 20) return
    console.log(JSON.stringify({ ...scenario, ok: false, stoppedBy: `resident memory over ${(MEMORY_CAP_MIB / 1024).toFixed(1)} GiB` }))
    process.exit(0)
  }, 500).unref()
  const result = await runScenario(scenario)
  console.log(JSON.stringify(result))
  process.exit(0)
} else {
  await main()
}

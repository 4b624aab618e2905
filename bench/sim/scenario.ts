/**
 * One simulated run: N overlay nodes join, then broadcast in steady state,
 * through crashes and through a partition that heals, all on a virtual
 * clock. The phases follow the scale bench's (bench/scale.ts), and the
 * result has its shape, so the two read side by side.
 *
 * - join: node i joins at i * `joinGapMs` through a random node that joined
 *   before it; then until the active views connect every node and no view
 *   changed for 2 s.
 * - steady: broadcasts from random nodes, one after the other, each run
 *   until every other node delivered it, then for a quiet time (QUIET_MS).
 * - failures, once per share in `crashes`: broadcasts every `gapMs`; at the
 *   20th (a fifth of them if fewer), that share of the live nodes (at
 *   random) crash. Every survivor must deliver every broadcast; repair
 *   time runs from the crash until the survivors' views connect them all.
 * - partition: the live nodes split in two halves at random; connections
 *   across close. Broadcasts in its second half count within their own
 *   half. After `partitionMs` the network heals: those broadcasts must then
 *   reach the other half too (from the payload cache), and broadcasts once
 *   the views settled must reach every node, so the halves must have joined.
 */
import { DEFAULT_OVERLAY_OPTIONS } from '../../lib/options/overlay-options.js'
import { seeded } from '../../harness/random.js'
import { VirtualClock } from './clock.js'
import { planarLatency, SimNetwork, uniformLatency, type LatencyModel, type LinkOptions } from './network.js'
import { SimNode, idOf, type SimCounters, type SimFrame, type SimNodeOptions } from './sim-node.js'
import { connectivityGap, DeliveryLog, percentile, pick, type PhaseResult } from '../scale-shape.js'

/** Link latencies: `lan` is close to meshline's in-memory transport, `wan` spreads nodes over a continent. */
export type LatencyName = 'lan' | 'wan'

export interface SimScenario {
  n: number
  seed: number
  latency: LatencyName
  /** Chance a message is lost once and retransmitted. */
  loss: number
  broadcasts: number
  /** Gap between broadcasts in the failure and partition phases, in virtual ms. */
  gapMs: number
  /** Share of the nodes that crash in each failure phase, e.g. [0.2, 0.5]. */
  crashes: number[]
  partitionMs: number
  /** Overlay options beside the defaults. */
  overlay?: Partial<SimNodeOptions>
}

export interface CrashResult extends PhaseResult {
  /** Share of the nodes that crashed. */
  share: number
  /** Broadcasts whose origin crashed with every node it had reached, which no survivor could get: left out of the phase's figures. */
  lostWithCrashed: number
  crashed: number
  survivors: number
  /** Virtual ms from the crash until the survivors' views connect them all; -1 if not within the phase. */
  repairMs: number
}

export interface PartitionResult {
  partitionMs: number
  /** Virtual ms from the heal until the views connect every node again; -1 if they did not within `mergeWaitMs`. */
  mergeMs: number
  /** Deliveries made / expected of the broadcasts sent during the partition, each within its origin's half. */
  deliveryWithinSide: number
  /** Deliveries made / expected of the broadcasts sent during the partition, to every node, once healed: the other half gets them from the payload cache (`cacheTtl`). */
  caughtUp: number
  /** Broadcasts sent after the views joined again (or gave up) and settled, delivered to every node. */
  after: PhaseResult
}

export interface SimResult extends SimScenario {
  ok: boolean
  joinMs: number
  settledMs?: number
  steady: PhaseResult & { relativeMessageRedundancy: number }
  /** The first failure phase, in the scale bench's place and shape. */
  failures?: CrashResult
  crashResults: CrashResult[]
  partition?: PartitionResult
  /** Simulated events run, and the real time and memory the run took. */
  events: number
  wallMs: number
  heapMiB: number
}

/** Membership has settled once no view changed for this long, in ms. */
const SETTLED_AFTER_MS = 2_000
const STEADY_TIMEOUT = 20_000
const DRAIN_MS = 60_000
const MERGE_WAIT_MS = 120_000

/**
 * How long a broadcast of a steady phase waits after the last delivery of
 * the one before, for the frames that one set off (the last duplicates and
 * their PRUNEs) to land: a few of the longest link latencies. The real
 * bench waits as long without saying so: one event loop runs all its nodes,
 * and its queue runs those frames before the next broadcast's. Started
 * while PRUNEs are on their way, a broadcast reshapes the tree (see
 * lib/overlay/broadcast.ts); back to back, the tree drifts deeper.
 */
const QUIET_MS: Record<LatencyName, number> = { lan: 20, wan: 1_000 }

function linkOptions (scenario: SimScenario): LinkOptions {
  const latency: LatencyModel = scenario.latency === 'lan'
    ? uniformLatency(1, 0.2)
    : planarLatency(scenario.n, seeded(scenario.seed + 1), 10, 140, 2)
  // A lost segment waits for TCP's retransmission timeout, 200 ms at least. On a LAN (and in memory) the
  // far end's kernel resets the connections of a crashed process at once; across a WAN, keep-alives tell.
  return { latency, loss: scenario.loss, retransmitDelay: 200, failureDetection: scenario.latency === 'lan' ? 5 : 1_000 }
}

export function runSimulation (scenario: SimScenario): SimResult {
  const started = performance.now()
  const random = seeded(scenario.seed)
  const clock = new VirtualClock()
  const network = new SimNetwork<SimFrame>(clock, linkOptions(scenario), random)
  const counters: SimCounters = { payload: 0, control: 0, membership: 0 }
  const log = new DeliveryLog(scenario.n, () => clock.now)
  const options: SimNodeOptions = { ...DEFAULT_OVERLAY_OPTIONS, random, connectionTimeout: 5_000, ...scenario.overlay }
  const nodes: SimNode[] = []
  const alive = new Set<number>()
  const quietMs = QUIET_MS[scenario.latency]
  const delivered = (node: number, id: string, hops: number): void => { log.delivered(id, node, hops) }

  const gap = (): string | undefined => connectivityGap(new Map([...alive].map(i => [idOf(i), [...(nodes[i] as SimNode).membership.active.keys()]])))
  const signature = (): string => [...alive].map(i => [...(nodes[i] as SimNode).membership.active.keys()].sort().join(',')).join(';')
  const maxConnections = (): number => Math.max(...[...alive].map(i => network.degree(i)))
  const randomLive = (): number => { const live = [...alive]; return live[Math.floor(random() * live.length)] as number }

  // 1. Join.
  const joinGapMs = 10
  const joined: number[] = []
  for (let i = 0; i < scenario.n; i++) {
    const node = new SimNode(i, clock, network, options, counters, delivered)
    nodes.push(node)
    alive.add(i)
    if (i === 0) {
      joined.push(0)
      continue
    }
    clock.schedule(i * joinGapMs, () => {
      const contact = joined[Math.floor(random() * joined.length)] as number
      node.join(contact, () => { joined.push(i) })
    })
  }
  clock.runUntil(scenario.n * joinGapMs)
  /** Runs until the views connect every live node and none changed for SETTLED_AFTER_MS, or until `limit`; @returns when they first connected everyone, and when they last changed */
  const settle = (limit: number): { connectedAt: number | undefined, lastChange: number } => {
    let last = signature()
    let lastChange = clock.now
    let connectedAt: number | undefined
    while (clock.now < limit) {
      clock.runUntil(clock.now + 200)
      const current = signature()
      if (current !== last) {
        last = current
        lastChange = clock.now
      }
      connectedAt = gap() === undefined ? connectedAt ?? clock.now : undefined
      if (connectedAt !== undefined && clock.now - lastChange >= SETTLED_AFTER_MS) break
    }
    return { connectedAt, lastChange }
  }
  const formed = settle(clock.now + 120_000)
  const joinMs = formed.connectedAt ?? -1
  const settledMs = formed.connectedAt !== undefined && clock.now - formed.lastChange >= SETTLED_AFTER_MS ? formed.lastChange : undefined

  /** Broadcasts from random live nodes: one after the other when `gapMs` is 0, else paced; `before` runs before each. */
  let serial = 0
  const phase = (name: string, count: number, gapMs: number, before: (b: number) => void, waitTimeout: number): { texts: string[], origins: number[], start: number, counters: SimCounters, peak: number } => {
    const start = clock.now
    const snapshot = { ...counters }
    const texts: string[] = []
    const origins: number[] = []
    let peak = 0
    for (let b = 0; b < count; b++) {
      before(b)
      const origin = randomLive()
      const text = `${name}-${serial++}`
      texts.push(text)
      origins.push(origin)
      log.sent(text, origin, alive.size - 1)
      ;(nodes[origin] as SimNode).broadcast(text)
      peak = Math.max(peak, maxConnections())
      if (gapMs === 0) {
        clock.runWhile(() => log.count(text) < alive.size - 1, clock.now + waitTimeout)
        clock.runUntil(clock.now + quietMs)
      } else {
        clock.runUntil(clock.now + gapMs)
      }
    }
    return { texts, origins, start, counters: snapshot, peak }
  }
  const result = (run: ReturnType<typeof phase>, live: ReadonlySet<number>): PhaseResult => {
    const summary = log.summary(run.texts, live)
    const seconds = (clock.now - run.start) / 1000
    const payload = counters.payload - run.counters.payload
    return {
      broadcasts: run.texts.length,
      deliveryRatio: summary.ratio,
      payloadPerBroadcast: payload / run.texts.length,
      payloadPerBroadcastRatio: payload / log.receivers(run.texts),
      controlPerBroadcast: (counters.control - run.counters.control) / run.texts.length,
      membershipPerNodePerSec: (counters.membership - run.counters.membership) / live.size / seconds,
      hopsToLastP50: percentile(summary.hops, 50),
      hopsToLastP99: percentile(summary.hops, 99),
      msToLastP50: percentile(summary.ms, 50),
      msToLastP99: percentile(summary.ms, 99),
      duplicateDeliveries: log.duplicates,
      maxConnections: run.peak
    }
  }
  /** Runs until every text reached every live node, or `DRAIN_MS` passed. */
  const drain = (texts: string[], live: ReadonlySet<number>): void => {
    const deadline = clock.now + DRAIN_MS
    let pending = [...texts]
    while (pending.length > 0 && clock.now < deadline) {
      clock.runUntil(clock.now + 100)
      pending = pending.filter(text => log.summary([text], live).missing > 0)
    }
  }
  const whenWhole = (since: number, limit: number): number => {
    while (clock.now < limit) {
      if (gap() === undefined) return Math.round(clock.now - since)
      clock.runUntil(clock.now + 50)
    }
    return -1
  }

  // 2. Steady.
  const steadyRun = phase('steady', scenario.broadcasts, 0, () => {}, STEADY_TIMEOUT)
  const steadyPhase = result(steadyRun, alive)
  const steady = { ...steadyPhase, relativeMessageRedundancy: steadyPhase.payloadPerBroadcastRatio - 1 }

  // 3. Failures, one phase per share, each on the survivors of the one before.
  const crashResults: CrashResult[] = []
  for (const share of scenario.crashes) {
    let crashed = 0
    let crashAt = 0
    const run = phase(`crash${share}`, scenario.broadcasts, scenario.gapMs, b => {
      if (b !== Math.min(20, Math.floor(scenario.broadcasts / 5))) return
      crashAt = clock.now
      for (const victim of pick([...alive], Math.round(share * alive.size), random)) {
        alive.delete(victim)
        ;(nodes[victim] as SimNode).stop()
        network.crash(victim)
        crashed++
      }
    }, 0)
    // The phase ran 4 s past the crash: what crashed nodes had sent has landed.
    const held = { ...run, texts: run.texts.filter(text => log.heldBy(text, alive)) }
    drain(held.texts, alive)
    const repairMs = whenWhole(crashAt, crashAt + DRAIN_MS)
    crashResults.push({ ...result(held, alive), share, crashed, survivors: alive.size, repairMs, lostWithCrashed: run.texts.length - held.texts.length })
    clock.runUntil(clock.now + SETTLED_AFTER_MS)
  }

  // 4. A partition that heals.
  let partition: PartitionResult | undefined
  if (scenario.partitionMs > 0) {
    const side = new Map<number, number>()
    for (const node of alive) side.set(node, random() < 0.5 ? 0 : 1)
    network.partition(node => side.get(node) ?? 0)
    const count = Math.max(1, Math.min(scenario.broadcasts, Math.floor(scenario.partitionMs / scenario.gapMs / 2)))
    // Sent in the second half of the partition, once each side repaired.
    clock.runUntil(clock.now + scenario.partitionMs / 2)
    const duringRun = phase('partition', count, scenario.gapMs, () => {}, 0)
    clock.runUntil(clock.now + scenario.partitionMs / 2 - count * scenario.gapMs)
    // Each broadcast of the partition counts within its origin's half.
    let expected = 0
    let missing = 0
    duringRun.texts.forEach((text, k) => {
      const origin = duringRun.origins[k] as number
      const summary = log.summary([text], new Set([...alive].filter(node => side.get(node) === side.get(origin))))
      expected += summary.expected
      missing += summary.missing
    })
    network.heal()
    const healedAt = clock.now
    const mergeMs = whenWhole(healedAt, healedAt + MERGE_WAIT_MS)
    // Views change for a while as nodes reach those they lost (one each); the broadcasts after wait for that.
    settle(clock.now + MERGE_WAIT_MS)
    const afterRun = phase('healed', scenario.broadcasts, 0, () => {}, STEADY_TIMEOUT)
    partition = {
      partitionMs: scenario.partitionMs,
      mergeMs,
      deliveryWithinSide: expected === 0 ? 1 : (expected - missing) / expected,
      caughtUp: log.summary(duringRun.texts, alive).ratio,
      after: result(afterRun, alive)
    }
  }

  return {
    ...scenario,
    ok: joinMs >= 0 && steady.deliveryRatio === 1 && crashResults.every(r => r.deliveryRatio === 1) && (partition === undefined || partition.after.deliveryRatio === 1),
    joinMs: Math.round(joinMs),
    ...(settledMs === undefined ? {} : { settledMs: Math.round(settledMs) }),
    steady,
    ...(crashResults[0] === undefined ? {} : { failures: crashResults[0] }),
    crashResults,
    ...(partition === undefined ? {} : { partition }),
    events: clock.steps,
    wallMs: Math.round(performance.now() - started),
    heapMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20)
  }
}

/**
 * What the scale bench and the overlay simulator both report, in the same
 * shape, so that their results read side by side: one phase's row, and the
 * helpers both compute it with.
 */

export interface PhaseResult {
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

/** Rows as a plain-text table on stdout; the columns are every key any row has, in order of appearance. */
export function printTable (rows: Array<Record<string, string | number>>): void {
  const columns = [...new Set(rows.flatMap(r => Object.keys(r)))]
  if (columns.length === 0) return
  const cells = [columns, ...rows.map(r => columns.map(c => String(r[c] ?? '')))]
  const widths = columns.map((_, i) => Math.max(...cells.map(line => line[i]?.length ?? 0)))
  for (const line of cells) console.log(line.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '))
}

/** `count` distinct items of `items`, chosen at random (a partial Fisher-Yates shuffle). */
export function pick<T> (items: T[], count: number, random: () => number): T[] {
  const pool = [...items]
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pool.length - i))
    ;[pool[i], pool[j]] = [pool[j] as T, pool[i] as T]
  }
  return pool.slice(0, count)
}

export function percentile (values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)] as number
}

/**
 * Why the links do not connect every live node, or `undefined` when they
 * do: no live node may have a dead one as a neighbour. A link is one-sided
 * for a moment while its NEIGHBOR request is answered, so symmetry is not
 * asked for.
 */
export function connectivityGap (live: ReadonlyMap<string, readonly string[]>): string | undefined {
  const links = new Map<string, string[]>([...live.keys()].map(id => [id, []]))
  for (const [id, neighbours] of live) {
    for (const peer of neighbours) {
      if (!live.has(peer)) return `${id} still has crashed ${peer} as a neighbour`
      links.get(id)?.push(peer)
      links.get(peer)?.push(id)
    }
  }
  const [first] = live.keys()
  if (first === undefined) return undefined
  const reached = new Set([first])
  const stack = [first]
  while (stack.length > 0) {
    for (const peer of links.get(stack.pop() as string) ?? []) {
      if (reached.has(peer)) continue
      reached.add(peer)
      stack.push(peer)
    }
  }
  return reached.size === live.size ? undefined : `${live.size - reached.size} of ${live.size} nodes not connected to the rest`
}

/**
 * Who delivered which broadcast, when and at how many hops: per broadcast,
 * two arrays indexed by node (a simulation of 100,000 nodes keeps hundreds
 * of broadcasts).
 */
export class DeliveryLog {
  private readonly byText = new Map<string, { sentAt: number, origin: number, receivers: number, count: number, at: Float64Array, hops: Uint16Array }>()
  duplicates = 0

  /** `nodes` bounds the node indices; `now` reads the clock. */
  constructor (private readonly nodes: number, private readonly now: () => number) {}

  /** A broadcast from `origin`, when `receivers` other nodes are live. */
  sent (text: string, origin: number, receivers: number): void {
    this.byText.set(text, { sentAt: this.now(), origin, receivers, count: 0, at: new Float64Array(this.nodes).fill(NaN), hops: new Uint16Array(this.nodes) })
  }

  /** Receivers live when the broadcasts were sent, summed: the fewest payload transmissions that could reach them. */
  receivers (texts: string[]): number {
    return texts.reduce((sum, text) => sum + (this.byText.get(text)?.receivers ?? 0), 0)
  }

  /** A first or repeated delivery; @returns how many nodes have `text` now */
  delivered (text: string, node: number, hops: number): number {
    const entry = this.byText.get(text)
    if (entry === undefined) return 0
    if (!Number.isNaN(entry.at[node])) {
      this.duplicates++
    } else {
      entry.at[node] = this.now()
      entry.hops[node] = hops
      entry.count++
    }
    return entry.count
  }

  /** Nodes that delivered `text`. */
  count (text: string): number {
    return this.byText.get(text)?.count ?? 0
  }

  /** Delivery to `live` nodes: ratio, and hops and time to the last of them per broadcast. */
  /**
   * Whether a node of `live` had `text`: its origin, or one that delivered
   * it. A broadcast no survivor had (its origin crashed with every node it
   * had reached) cannot reach the survivors, whatever the protocol.
   */
  heldBy (text: string, live: ReadonlySet<number>): boolean {
    const entry = this.byText.get(text)
    if (entry === undefined) return false
    if (live.has(entry.origin)) return true
    for (const node of live) if (!Number.isNaN(entry.at[node] as number)) return true
    return false
  }

  summary (texts: string[], live: ReadonlySet<number>): { ratio: number, hops: number[], ms: number[], expected: number, missing: number } {
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
        const at = entry.at[node] as number
        if (Number.isNaN(at)) continue
        made++
        last = Math.max(last, at)
        maxHops = Math.max(maxHops, entry.hops[node] as number)
      }
      hops.push(maxHops)
      ms.push(last - entry.sentAt)
    }
    return { ratio: expected === 0 ? 1 : made / expected, hops, ms, expected, missing: expected - made }
  }
}

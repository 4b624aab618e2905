/**
 * Simulated links between simulated nodes, on a virtual clock: connections
 * that carry frames in order with a latency drawn per message, lose
 * messages, die with a crashed node, and break across a partition.
 *
 * Links model TCP connections, as meshline's are: a lost message is
 * retransmitted, so loss shows as delay (`retransmitDelay` more), never as a
 * gap, and frames on one connection arrive in the order they were sent. A
 * connection whose far end crashed or is cut off by a partition closes
 * after `failureDetection` ms, as a keep-alive or a reset would tell.
 */
import type { VirtualClock } from './clock.js'

/** How long one message takes from one node to another, in ms. */
export type LatencyModel = (from: number, to: number, random: () => number) => number

export interface LinkOptions {
  latency: LatencyModel
  /** Chance that a message is lost once (and retransmitted), 0 to 1. */
  loss: number
  /** Extra delay of a lost message, in ms. */
  retransmitDelay: number
  /** How long a connection to a node that crashed or is cut off stays open, in ms. */
  failureDetection: number
}

/** What the network calls on a node. */
export interface Endpoint<Frame> {
  /** A frame from a connected peer. */
  receive: (from: number, frame: Frame) => void
  /** A connection closed (the peer closed it, crashed, or was cut off). */
  closed: (peer: number) => void
  /** A peer connected to this node. */
  accepted: (peer: number) => void
}

/** Latency that is the same on every link, with exponential jitter: a LAN, or meshline's in-memory transport. */
export function uniformLatency (ms: number, jitter: number): LatencyModel {
  return (_from, _to, random) => ms - jitter * Math.log(1 - random())
}

/**
 * Latency across a wide area: each node sits at a random point of a unit
 * square, and a link's latency is `base` plus `perUnit` times the distance,
 * with exponential jitter. Positions come from `seed` alone.
 */
export function planarLatency (n: number, random: () => number, base: number, perUnit: number, jitter: number): LatencyModel {
  const x = Float64Array.from({ length: n }, () => random())
  const y = Float64Array.from({ length: n }, () => random())
  return (from, to, r) => base + perUnit * Math.hypot((x[from] as number) - (x[to] as number), (y[from] as number) - (y[to] as number)) - jitter * Math.log(1 - r())
}

export class SimNetwork<Frame> {
  private readonly endpoints: Array<Endpoint<Frame> | undefined> = []
  private readonly alive: boolean[] = []
  /**
   * Each node's open connections: peer to connection number. A close, crash
   * or cut reaches the far end later and names the connection, so that it
   * cannot close a newer connection between the same two nodes (which left
   * one end with a connection the other had closed, never to hear of it).
   */
  private readonly links: Array<Map<number, number>> = []
  private connections = 0
  /** When the last frame on a directed link arrives (frames keep their order). */
  private readonly lastArrival = new Map<number, number>()
  /** Partition group of each node while a partition holds. */
  private group: ((node: number) => number) | undefined
  /** Messages carried so far. */
  messages = 0

  constructor (private readonly clock: VirtualClock, private readonly opts: LinkOptions, private readonly random: () => number) {}

  add (node: number, endpoint: Endpoint<Frame>): void {
    this.endpoints[node] = endpoint
    this.alive[node] = true
    this.links[node] = new Map()
  }

  connected (a: number, b: number): boolean {
    return this.links[a]?.has(b) === true
  }

  /** Open connections of a node. */
  degree (node: number): number {
    return this.links[node]?.size ?? 0
  }

  isAlive (node: number): boolean {
    return this.alive[node] === true
  }

  /**
   * Opens a connection; resolves (on the virtual clock) with whether it
   * was made, after one round trip, or after `failureDetection` when the
   * node is dead or cut off.
   */
  dial (from: number, to: number, done: (ok: boolean) => void): void {
    if (this.connected(from, to)) {
      done(true)
      return
    }
    const rtt = this.delay(from, to) + this.delay(to, from)
    if (!this.reachable(from, to)) {
      this.clock.schedule(this.opts.failureDetection, () => { done(false) })
      return
    }
    this.clock.schedule(rtt, () => {
      if (!this.isAlive(from)) return
      if (!this.reachable(from, to)) {
        done(false)
        return
      }
      if (!this.connected(from, to)) {
        const connection = ++this.connections
        this.links[from]?.set(to, connection)
        this.links[to]?.set(from, connection)
        this.endpoints[to]?.accepted(from)
      }
      done(true)
    })
  }

  /** Sends a frame on the connection from `from` to `to`; dropped if there is none. */
  send (from: number, to: number, frame: Frame): void {
    if (!this.connected(from, to)) return
    this.messages++
    const at = this.arrival(from, to)
    // What a node sent before it crashed is on the wire and still arrives; a partition cuts it off.
    this.clock.schedule(at - this.clock.now, () => {
      if (this.isAlive(to) && this.connected(to, from) && this.sameSide(from, to)) this.endpoints[to]?.receive(from, frame)
    })
  }

  /** Closes a connection: the other end hears of it after the frames already on their way. */
  close (from: number, to: number): void {
    const connection = this.links[from]?.get(to)
    if (connection === undefined) return
    this.links[from]?.delete(to)
    const at = this.arrival(from, to)
    this.clock.schedule(at - this.clock.now, () => { this.drop(to, from, connection) })
  }

  /** A node stops at once: its peers hear of it after `failureDetection`. */
  crash (node: number): void {
    this.alive[node] = false
    for (const [peer, connection] of this.links[node] ?? []) {
      this.clock.schedule(this.opts.failureDetection, () => { this.drop(peer, node, connection) })
    }
    this.links[node]?.clear()
  }

  /** Cuts the network into groups; connections across close after `failureDetection`, dials across fail. */
  partition (group: (node: number) => number): void {
    this.group = group
    this.links.forEach((peers, node) => {
      for (const [peer, connection] of peers) {
        if (group(node) !== group(peer)) this.clock.schedule(this.opts.failureDetection, () => { this.drop(node, peer, connection) })
      }
    })
  }

  heal (): void {
    this.group = undefined
  }

  private reachable (a: number, b: number): boolean {
    return this.isAlive(a) && this.isAlive(b) && this.sameSide(a, b)
  }

  private sameSide (a: number, b: number): boolean {
    return this.group === undefined || this.group(a) === this.group(b)
  }

  /** One end learns that its connection is gone. */
  private drop (node: number, peer: number, connection: number): void {
    if (this.links[node]?.get(peer) !== connection) return
    this.links[node]?.delete(peer)
    if (this.isAlive(node)) this.endpoints[node]?.closed(peer)
  }

  private delay (from: number, to: number): number {
    const lost = this.random() < this.opts.loss
    return this.opts.latency(from, to, this.random) + (lost ? this.opts.retransmitDelay : 0)
  }

  private arrival (from: number, to: number): number {
    const key = from * 0x200000 + to
    const at = Math.max(this.clock.now + this.delay(from, to), this.lastArrival.get(key) ?? 0)
    this.lastArrival.set(key, at)
    return at
  }
}

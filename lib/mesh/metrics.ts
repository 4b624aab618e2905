/**
 * A node's metrics: what its links carried (`TrafficCounters`, counted where
 * every message passes), what its events told (dial failures, slow peers,
 * refusals), and the sizes of its tables, gathered into one plain snapshot
 * when asked. Nothing here runs per message but the counters' increments.
 */
import type { EventEmitter } from 'node:events'
import { TrafficCounters, type TrafficCount } from '../connection/traffic.js'
import type { MeshEvents } from './events.js'
import type { OverlayStatus } from '../overlay/overlay.js'
import type { PeerInfo } from '../types.js'

/** Current sizes of the tables a node keeps, each bounded by an option. */
export interface MeshStats {
  /** Connected peers (`maxPeers`). */
  peers: number
  /** Open connections, in any state: handshaking, established or closing. */
  connections: number
  /** Accepted connections still in their handshake (`maxPendingHandshakes`). */
  pendingHandshakes: number
  /** Known listen addresses (`maxKnownPeers`). */
  knownAddresses: number
  /** Protocol streams open, over every connection (`maxStreamsPerPeer` per peer and direction). */
  streams: number
  /** Dials queued or in flight (`dialConcurrency` at a time). */
  dialing: number
  /** Discovered addresses waiting out their dial jitter (bounded by the room left under `maxPeers`). */
  scheduledDials: number
  /** Lost peers being redialled (`maxReconnects`). */
  reconnecting: number
}

/** A histogram as Prometheus keeps one: for each upper bound `le`, how many observations were at most it; their sum and count. */
export interface HistogramSnapshot {
  buckets: Array<{ le: number, count: number }>
  sum: number
  count: number
}

/** Observations counted into fixed buckets: an increment and an addition each. */
export class Histogram {
  private readonly counts: number[]
  private sum = 0
  private count = 0

  constructor (private readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0)
  }

  observe (value: number): void {
    this.sum += value
    this.count++
    const bucket = this.bounds.findIndex(bound => value <= bound)
    if (bucket >= 0) this.counts[bucket] = (this.counts[bucket] as number) + 1
  }

  snapshot (): HistogramSnapshot {
    let below = 0
    const buckets = this.bounds.map((le, i) => ({ le, count: below += this.counts[i] as number }))
    return { buckets, sum: this.sum, count: this.count }
  }
}

/** Handshake durations' buckets, in seconds: from a millisecond on loopback to the longest a connectionTimeout allows. */
export const HANDSHAKE_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
/** Delivery hops' buckets: overlay trees reach thousands of nodes in a few dozen hops. */
export const DELIVERY_HOPS_BUCKETS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64]

/** One connected peer's link. */
export interface LinkMetrics {
  peer: string
  /** Bytes queued for it now, as `maxQueuedBytes` counts them (64 per message besides its text or payload). */
  queuedBytes: number
  /** Bytes of the line protocol taken from its queue for writing, and received from it (as decrypted on a Noise link), since the connection opened. */
  bytesSent: number
  bytesReceived: number
}

/** What connections report as they go. */
export interface ConnectionMetrics {
  /** A transport dial is starting. */
  dialAttempted: () => void
  /** A new peer's connection finished its handshake (secure link and hello), `seconds` after it was accepted or its dial began. */
  handshakeDone: (seconds: number) => void
}

/** A snapshot of a node's metrics; counters count since the node object was made. */
export interface MeshMetrics {
  /** Connected peers, by link security and by who dialled. */
  peers: { total: number, noise: number, plaintext: number, inbound: number, outbound: number }
  /** The sizes of the node's bounded tables (as `stats()`). */
  tables: MeshStats
  /** Messages and `BYTES` payload bytes queued for peers, by kind. */
  sent: TrafficCount
  /** Messages and `BYTES` payload bytes peers sent, by kind. */
  received: TrafficCount
  /** Bytes queued for peers and not yet written, as `maxQueuedBytes` counts them: over all connections, the most on one connection now, and the most one connection ever held (high-water mark). */
  queuedBytes: { total: number, largest: number, highWater: number }
  /** Senders that found a peer's queue full and waited (backpressure). */
  backpressureWaits: number
  /** Protocol streams opened by this node (`outbound`) and by peers (`inbound`, accepted), and streams peers opened that this node refused. */
  streams: { opened: { inbound: number, outbound: number }, refused: number }
  /** Each connected peer's link: bytes queued now, bytes sent and received. */
  links: LinkMetrics[]
  /** Peers disconnected, and of those, for a full queue (`ERR_SLOW_PEER`). */
  disconnects: { total: number, slowPeer: number }
  /** Transport dials started (every attempt of every dial). */
  dialAttempts: number
  /** Dials that failed after their last attempt. */
  dialFailures: number
  /** From accepting or dialling a connection to the end of its handshake, for each new peer, in seconds. */
  handshakeSeconds: HistogramSnapshot
  /** Links each overlay message delivered here crossed (empty in a full mesh). */
  deliveryHops: HistogramSnapshot
  /** Peers refused by the allowlist or for a downgrade. */
  peersDenied: number
  /** Overlay messages refused end to end. */
  messagesRefused: number
  /** The overlay's views and counters; `undefined` in a full mesh. */
  overlay: OverlayStatus | undefined
}

/** What the snapshot reads from the node when asked. */
export interface MetricsSources {
  peers: PeerInfo[]
  tables: MeshStats
  links: LinkMetrics[]
  overlay: OverlayStatus | undefined
}

export class NodeMetrics implements ConnectionMetrics {
  readonly traffic = new TrafficCounters()
  private readonly counts = { disconnects: 0, slowPeer: 0, dialAttempts: 0, dialFailures: 0, peersDenied: 0, messagesRefused: 0 }
  private readonly handshakes = new Histogram(HANDSHAKE_SECONDS_BUCKETS)
  private readonly hops = new Histogram(DELIVERY_HOPS_BUCKETS)

  constructor (events: EventEmitter<MeshEvents>) {
    events.on('peer:disconnect', ({ reason }) => {
      this.counts.disconnects++
      if ((reason as { code?: string }).code === 'ERR_SLOW_PEER') this.counts.slowPeer++
    })
    events.on('dial:failed', () => { this.counts.dialFailures++ })
    events.on('peer:denied', () => { this.counts.peersDenied++ })
    events.on('message:refused', () => { this.counts.messagesRefused++ })
  }

  dialAttempted (): void {
    this.counts.dialAttempts++
  }

  handshakeDone (seconds: number): void {
    this.handshakes.observe(seconds)
  }

  /** An overlay message was delivered here after crossing `hops` links. */
  delivered (hops: number): void {
    this.hops.observe(hops)
  }

  snapshot ({ peers, tables, links, overlay }: MetricsSources): MeshMetrics {
    const queued = links.map(link => link.queuedBytes)
    const count = (test: (peer: PeerInfo) => boolean): number => peers.filter(test).length
    const { sent, received } = this.traffic
    return {
      peers: {
        total: peers.length,
        noise: count(peer => peer.security === 'noise'),
        plaintext: count(peer => peer.security === 'plaintext'),
        inbound: count(peer => peer.direction === 'inbound'),
        outbound: count(peer => peer.direction === 'outbound')
      },
      tables,
      sent: { messages: { ...sent.messages }, payloadBytes: sent.payloadBytes },
      received: { messages: { ...received.messages }, payloadBytes: received.payloadBytes },
      queuedBytes: { total: queued.reduce((sum, bytes) => sum + bytes, 0), largest: Math.max(0, ...queued), highWater: this.traffic.queueHighWaterBytes },
      backpressureWaits: this.traffic.backpressureWaits,
      streams: { opened: { ...this.traffic.streamsOpened }, refused: this.traffic.streamsRefused },
      links,
      disconnects: { total: this.counts.disconnects, slowPeer: this.counts.slowPeer },
      dialAttempts: this.counts.dialAttempts,
      dialFailures: this.counts.dialFailures,
      handshakeSeconds: this.handshakes.snapshot(),
      deliveryHops: this.hops.snapshot(),
      peersDenied: this.counts.peersDenied,
      messagesRefused: this.counts.messagesRefused,
      overlay
    }
  }
}

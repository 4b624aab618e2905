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
  /** Bytes queued for peers and not yet written: over all connections, the most on one connection now, and the most one connection ever held (high-water mark). */
  queuedBytes: { total: number, largest: number, highWater: number }
  /** Senders that found a peer's queue full and waited (backpressure). */
  backpressureWaits: number
  /** Each connected peer's link: bytes queued for it now. */
  links: Array<{ peer: string, queuedBytes: number }>
  /** Peers disconnected, and of those, for a full queue (`ERR_SLOW_PEER`). */
  disconnects: { total: number, slowPeer: number }
  /** Dials that failed after their last attempt. */
  dialFailures: number
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
  links: Array<{ peer: string, queuedBytes: number }>
  overlay: OverlayStatus | undefined
}

export class NodeMetrics {
  readonly traffic = new TrafficCounters()
  private readonly counts = { disconnects: 0, slowPeer: 0, dialFailures: 0, peersDenied: 0, messagesRefused: 0 }

  constructor (events: EventEmitter<MeshEvents>) {
    events.on('peer:disconnect', ({ reason }) => {
      this.counts.disconnects++
      if ((reason as { code?: string }).code === 'ERR_SLOW_PEER') this.counts.slowPeer++
    })
    events.on('dial:failed', () => { this.counts.dialFailures++ })
    events.on('peer:denied', () => { this.counts.peersDenied++ })
    events.on('message:refused', () => { this.counts.messagesRefused++ })
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
      links,
      disconnects: { total: this.counts.disconnects, slowPeer: this.counts.slowPeer },
      dialFailures: this.counts.dialFailures,
      peersDenied: this.counts.peersDenied,
      messagesRefused: this.counts.messagesRefused,
      overlay
    }
  }
}

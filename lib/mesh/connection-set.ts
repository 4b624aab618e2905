/**
 * The node's connections, from transport to peer: inbound transports are
 * secured (at most `maxPendingHandshakes` at a time) and dialled addresses
 * opened; each secured link becomes a `Connection` with the protocol's
 * stages (handshake, heartbeat, discovery, then the user's), whose remote is
 * admitted into the peer table on its hello and released when it closes.
 *
 *   transport -> SecureLinks -> Connection(handshake, heartbeat, discovery, streams, ...inbound) -> Delivery
 */
import type { TrafficCounters } from '../connection/traffic.js'
import type { ConnectionMetrics } from './metrics.js'
import type { EventEmitter } from 'node:events'
import type { AddressBook } from './address-book.js'
import type { Delivery } from './delivery.js'
import type { MeshEvents } from './events.js'
import type { Admitted, PeerTable } from './peer-table.js'
import { plainHost, type SelfAddresses } from './self-addresses.js'
import type { ProtocolStreams } from './streams.js'
import { Connection } from '../connection/connection.js'
import {
  AccessDeniedError, ConnectionClosedError, DuplicatePeerError, LimitExceededError, NotRunningError, PeerTimeoutError, ProtocolError, SlowPeerError, TransformError
} from '../errors.js'
import type { ResolvedOptions } from '../options/node-options.js'
import type { SecureLinks, SecuredLink } from '../secure/secure-links.js'
import type { Transport, TransportFactory } from '../transport/transport.js'
import type { PeerInfo } from '../types.js'
import { discovery } from '../../transforms/discovery.js'
import { handshake, type RemoteHello } from '../../transforms/handshake.js'
import { heartbeat } from '../../transforms/heartbeat.js'
import { parseAddress, type PeersMessage } from '../../transforms/core/line-protocol.js'
import { guarded, type MessageTransform } from '../../transforms/core/link.js'

export type ConnectionSetOptions = Pick<ResolvedOptions,
'id' | 'name' | 'maxLineLength' | 'maxBytesPerMessage' | 'maxQueuedBytes' | 'maxHandshakeBytes' | 'slowPeerTimeout' | 'connectionTimeout' |
'maxPendingHandshakes' | 'maintenanceInterval' | 'peerTimeout' | 'inbound' | 'outbound' |
'maxStreamsPerPeer' | 'streamWindow' | 'maxStreamWindow' | 'maxStreamGrowthPerPeer'> & { capabilityTimeout: number }

/** What the connections need of their node. */
export interface ConnectionSetHost {
  readonly running: boolean
  /** Aborted when the node stops. */
  readonly signal: AbortSignal
  /** The port the node listens on. */
  readonly port: number
  readonly events: EventEmitter<MeshEvents>
  readonly transport: TransportFactory
  readonly links: SecureLinks
  readonly table: PeerTable
  readonly book: AddressBook
  readonly self: SelfAddresses
  /** Counts what every connection sends. */
  readonly traffic: TrafficCounters
  /** Counts dials and times handshakes. */
  readonly metrics: ConnectionMetrics
  readonly delivery: Delivery
  readonly streams: ProtocolStreams
  /** Sends `conn`'s remote a capability probe, which every meshline node answers. */
  probe: (conn: Connection) => Promise<void>
  peersToShare: (receiver: string | undefined) => string[]
  learn: (msg: PeersMessage, from: PeerInfo | undefined, remoteAddress: string) => void
  /** A peer new to the table is up: its handshake is done and its answer queued. */
  peerUp: (peer: PeerInfo) => void
  /** A remote was refused because this node is at `maxPeers`. */
  full: () => void
  /** A peer's connection closed; `redial` when this node dialled it and nothing says it should not be called back. */
  peerDown: (peer: PeerInfo, redial: boolean) => void
}

export class ConnectionSet {
  private readonly connections = new Set<Connection>()
  private pendingHandshakes = 0
  /** Your transforms, each named in the `TransformError` that reports what it throws. */
  private readonly inbound: MessageTransform[]
  private readonly outbound: MessageTransform[]

  constructor (private readonly opts: ConnectionSetOptions, private readonly host: ConnectionSetHost) {
    const label = (direction: string, transform: MessageTransform, i: number): string => `${direction} transform ${i} (${transform.name === '' ? 'anonymous' : transform.name})`
    this.inbound = opts.inbound.map((transform, i) => guarded(transform, label('inbound', transform, i)))
    this.outbound = opts.outbound.map((transform, i) => guarded(transform, label('outbound', transform, i)))
  }

  /** Open connections, in any state, and accepted ones still in their handshake. */
  get sizes (): { connections: number, pendingHandshakes: number } {
    return { connections: this.connections.size, pendingHandshakes: this.pendingHandshakes }
  }

  /** Takes an accepted transport: secures it, then runs its line handshake. */
  accept (transport: Transport): void {
    if (!this.host.running) {
      transport.close()
      return
    }
    if (this.pendingHandshakes >= this.opts.maxPendingHandshakes) {
      transport.close()
      const error = new LimitExceededError('maxPendingHandshakes', this.opts.maxPendingHandshakes)
      this.host.events.emit('connection:error', { error, remoteAddress: transport.remoteAddress, peer: undefined, closed: true })
      return
    }
    this.pendingHandshakes++
    void this.acceptLink(transport, performance.now()).finally(() => { this.pendingHandshakes-- })
  }

  /** One dial of `address` up to its peer, the way the address answered last time first. */
  async dial (address: string): Promise<PeerInfo> {
    const { host } = this
    const { host: hostName, port } = parseAddress(address)
    const startedAt = performance.now()
    const open = async (): Promise<Transport> => {
      host.metrics.dialAttempted()
      const transport = await host.transport.dial(hostName, port, { timeout: this.opts.connectionTimeout, signal: host.signal })
      if (!host.running) {
        transport.close()
        throw new NotRunningError()
      }
      return transport
    }
    const link = await host.links.outbound(address, open, host.book.get(address)?.security)
    if (!host.running) {
      link.transport.close()
      throw new NotRunningError()
    }
    return await this.open(link, startedAt, 'dialer', address)
  }

  /** Closes every connection, flushing what is queued; resolves once all are closed. */
  async close (reason: Error): Promise<void> {
    this.host.links.closePending()
    for (const conn of this.connections) conn.close(reason)
    await Promise.all([...this.connections].map(async conn => { await conn.done }))
  }

  /** An accepted connection, from its first byte to the end of its line handshake. */
  private async acceptLink (transport: Transport, startedAt: number): Promise<void> {
    let link: SecuredLink
    try {
      link = await this.host.links.inbound(transport)
    } catch (error) {
      transport.close()
      // A refusal by the allowlist has its own event; a close before a single byte is no error.
      if (!(error instanceof AccessDeniedError) && !(error instanceof ConnectionClosedError) && this.host.running) {
        this.host.events.emit('connection:error', { error: error as Error, remoteAddress: transport.remoteAddress, peer: undefined, closed: true })
      }
      return
    }
    if (!this.host.running) {
      link.transport.close()
      return
    }
    await this.open(link, startedAt, 'listener').catch(() => {})
  }

  /** Runs a secured link's pipeline; resolves with the peer once its handshake is done. `startedAt`: when it was accepted or its dial began. */
  private async open (secured: SecuredLink, startedAt: number, role: 'dialer' | 'listener', dialedAddress?: string): Promise<PeerInfo> {
    const { opts, host } = this
    const { transport } = secured
    let peer: PeerInfo | undefined
    /** Whether the peer is new to the table, rather than moved onto this connection. */
    let announce = false
    let settle: { resolve: (peer: PeerInfo) => void, reject: (err: Error) => void } | undefined
    const established = new Promise<PeerInfo>((resolve, reject) => { settle = { resolve, reject } })
    const peersToShare = (): string[] => host.peersToShare(peer?.address)

    const conn: Connection = new Connection({
      transport,
      role,
      context: {
        get peerId () { return peer?.id },
        direction: role === 'dialer' ? 'outbound' : 'inbound',
        remoteAddress: transport.remoteAddress
      },
      maxLineLength: opts.maxLineLength,
      maxBytesPerMessage: opts.maxBytesPerMessage,
      maxQueuedBytes: opts.maxQueuedBytes,
      maxHandshakeBytes: opts.maxHandshakeBytes,
      slowPeerTimeout: opts.slowPeerTimeout,
      lingerTimeout: opts.connectionTimeout,
      traffic: host.traffic,
      protocol: link => [
        handshake({
          role,
          link,
          local: { id: opts.id, name: opts.name },
          listenAddress: host.self.announced(host.port, transport.localHost),
          dialedAddress,
          remoteHost: plainHost(transport.remoteHost),
          timeout: opts.connectionTimeout,
          peersToShare,
          admit: remote => {
            host.links.checkClaimedId(remote.id, secured)
            const admitted = this.admit(conn, remote, secured)
            if (admitted.admission !== 'accept' && admitted.admission !== 'redundant') return admitted.admission
            conn.established()
            peer = admitted.peer
            announce = admitted.admission === 'accept' && admitted.isNew
            if (admitted.admission === 'redundant') {
              // The peer stays on its other connection; this one is read to its end, and our side of it ends now.
              settle?.resolve({ ...peer })
              conn.close(new DuplicatePeerError('the peer\'s other connection is kept'))
            }
            return admitted.admission
          },
          onEstablished: () => {
            if (peer === undefined) return
            if (announce) {
              host.metrics.handshakeDone((performance.now() - startedAt) / 1000)
              host.peerUp(peer)
            }
            settle?.resolve({ ...peer })
          }
        }),
        heartbeat({
          link,
          maintenanceInterval: opts.maintenanceInterval,
          peerTimeout: opts.peerTimeout,
          onActivity: now => { if (peer !== undefined) peer.lastSeen = now }
        }),
        discovery({
          link,
          // The node asks a few peers per round itself (`discoveryFanout`).
          discoveryInterval: 0,
          peersToShare,
          onPeers: msg => { host.learn(msg, peer, transport.remoteAddress) }
        })
      ],
      streams: {
        maxStreamsPerPeer: opts.maxStreamsPerPeer,
        streamWindow: opts.streamWindow,
        maxStreamWindow: opts.maxStreamWindow,
        maxStreamGrowthPerPeer: opts.maxStreamGrowthPerPeer,
        capabilityTimeout: opts.capabilityTimeout,
        remoteId: () => peer?.id ?? transport.remoteAddress,
        probe: async () => { await host.probe(conn) },
        accept: protocol => host.streams.accept(protocol, () => peer)
      },
      inbound: this.inbound,
      outbound: this.outbound,
      deliver: async source => { await host.delivery.consume(source, () => peer) },
      onClose: reason => {
        settle?.reject(reason)
        this.closed(conn, peer, reason, transport.remoteAddress)
      }
    })
    this.connections.add(conn)
    void conn.done.then(() => { this.connections.delete(conn) })
    return await established
  }

  /** Admits a remote whose hello arrived; what an admitted peer teaches goes to the address book and the link's keys. */
  private admit (conn: Connection, remote: RemoteHello, link: SecuredLink): Admitted {
    const { book } = this.host
    const admitted = this.host.table.admit(conn, remote, link)
    if (admitted.admission === 'max-peers') this.host.full()
    if (admitted.admission !== 'accept') return admitted
    const { peer, isNew } = admitted
    if (isNew && peer.address !== undefined) {
      book.add(peer.address)
      book.setConnected(peer.address, true)
      if (peer.direction === 'outbound') book.markDialed(peer.address)
    }
    // How its address answers, for the next dial, and that its id is proven.
    if (peer.direction === 'outbound' && peer.address !== undefined) {
      book.setSecurity(peer.address, link.security)
      // Proven over Noise: in `preferred` mode this address is never dialled in plaintext again.
      if (link.security === 'noise') this.host.links.pin(peer.address, peer.id)
    }
    this.host.links.bindId(peer.id, link)
    return admitted
  }

  private closed (conn: Connection, peer: PeerInfo | undefined, reason: Error, remoteAddress: string): void {
    const { events } = this.host
    if (peer === undefined || !this.host.table.release(peer.id, conn)) {
      // Never became (or is no longer) the peer's connection: only failures are worth reporting.
      const quiet = reason instanceof DuplicatePeerError || reason instanceof ConnectionClosedError || reason instanceof NotRunningError
      if (conn.role === 'listener' && !quiet) events.emit('connection:error', { error: reason, remoteAddress, peer: undefined, closed: true })
      return
    }
    if (peer.address !== undefined) this.host.book.setConnected(peer.address, false)
    const info = { ...peer }
    if (reason instanceof PeerTimeoutError) events.emit('peer:timeout', { peer: info })
    if (reason instanceof ProtocolError || reason instanceof TransformError) events.emit('connection:error', { error: reason, remoteAddress, peer: info, closed: true })
    events.emit('peer:disconnect', { peer: info, reason, peerCount: this.host.table.size })
    // The side that dialled redials; the other waits, so an inbound peer cannot
    // make this node dial an address of its choosing. Peers dropped for
    // misbehaving are not called back.
    const misbehaved = reason instanceof ProtocolError || reason instanceof SlowPeerError || reason instanceof TransformError
    this.host.peerDown(peer, conn.role === 'dialer' && peer.address !== undefined && this.host.running && !misbehaved)
  }
}

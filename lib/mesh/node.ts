/**
 * The mesh supervisor: lifecycle, the public API, dialling, and the wiring
 * between the parts. It owns the listener, the bounded address book and the
 * dial queue; it secures every connection through `SecureLinks`, admits
 * peers into the `PeerTable`, builds each connection's pipeline, and hands
 * what the pipelines yield to `Delivery` (events, sub-protocol handlers and
 * `messages()` readers).
 */
import { EventEmitter, setMaxListeners } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import PQueue from 'p-queue'
import type { Uint8ArrayList } from 'uint8arraylist'
import { AddressBook, type KnownPeer } from './address-book.js'
import { Connection } from '../connection/connection.js'
import {
  AccessDeniedError, ConnectionClosedError, DialError, DuplicatePeerError, InvalidMessageError, InvalidOptionError, LimitExceededError,
  MalformedPeersListError, MaxPeersError, NotRunningError, PeerNotFoundError, PeerTimeoutError, ProtocolError, SelfConnectionError,
  SlowPeerError, type PeersFileError
} from '../errors.js'
import { fingerprint, generateIdentity, identityFromKeyObject, loadIdentity, nodeIdFromPublicKey, publicKeyHex, resolveAllowlist } from '../secure/identity.js'
import { Delivery, type BytesHandler, type HandlerOptions, type IncomingMessage } from './delivery.js'
import { resolveOptions, type MeshNodeOptions, type ResolvedOptions } from '../options/options.js'
import { PeersFile } from './peers-file.js'
import { Reconnector, reconnectDelay } from './reconnect.js'
import type { LinkSecurity } from '../secure/secure-transport.js'
import { PeerTable, type Admitted } from './peer-table.js'
import { SecureLinks, type SecuredLink } from '../secure/secure-links.js'
import { SelfAddresses, plainHost } from './self-addresses.js'
import { answerCapabilityProbes } from '../overlay/capabilities.js'
import { Overlay, type OverlayHost, type OverlayStatus } from '../overlay/overlay.js'
import { OVERLAY_PREFIX, isOverlayPayload, type Origin } from '../overlay/overlay-protocol.js'
import { tcpTransport } from '../transport/tcp.js'
import type { Transport, TransportFactory, TransportListener } from '../transport/transport.js'
import { discovery } from '../../transforms/discovery.js'
import { handshake, type RemoteHello } from '../../transforms/handshake.js'
import { heartbeat } from '../../transforms/heartbeat.js'
import { REQUEST_PEERS_MESSAGE, assertChatText, normalizeAddress, parseAddress, type Message, type PeersMessage } from '../../transforms/core/line-protocol.js'

export type Direction = 'inbound' | 'outbound'
export type { BytesHandler, IncomingMessage }

/** A connected peer, as the node sees it. */
export interface PeerInfo {
  id: string
  name: string
  /** Where the peer accepts connections (`host:port`), if it said. */
  address: string | undefined
  /** The other end of the socket (`host:port`). */
  remoteAddress: string
  /** Who dialled: `outbound` when this node did. */
  direction: Direction
  /** When the handshake completed (ms since epoch). */
  connectedAt: number
  /** When anything was last received (ms since epoch). */
  lastSeen: number
  /** How the link is carried: `noise` (encrypted, the peer's key proven) or `plaintext`. */
  security: LinkSecurity
  /** The peer's X25519 public key (64 hex characters), proven over Noise; `undefined` on a plaintext link. */
  publicKey: string | undefined
  /** `SHA256:...` of the peer's public key, for people to compare; `undefined` on a plaintext link. */
  fingerprint: string | undefined
}

/** What a broadcast achieved: peers it was queued for, and peers that failed (and were or are being disconnected). */
export interface BroadcastResult {
  queued: string[]
  failed: Array<{ peerId: string, error: Error }>
}

export interface MeshEvents {
  started: [{ id: string, name: string, address: string }]
  stopped: []
  'peer:connect': [{ peer: PeerInfo, peerCount: number }]
  'peer:disconnect': [{ peer: PeerInfo, reason: Error, peerCount: number }]
  /** A peer was dropped for `peerTimeout` of silence (followed by `peer:disconnect`). */
  'peer:timeout': [{ peer: PeerInfo }]
  /** Addresses learnt from a `PEERS:` list that were not known before. */
  'peers:discovered': [{ from: PeerInfo | undefined, addresses: string[] }]
  /** Chat text; `origin` and `hops` as in `IncomingMessage`. */
  chat: [{ peer: PeerInfo, text: string, origin: Origin, hops: number }]
  /** `BYTES` payloads that no handler claimed. */
  bytes: [{ peer: PeerInfo, data: Uint8ArrayList, origin: Origin, hops: number }]
  /** A dial failed after its last attempt. */
  'dial:failed': [{ address: string, error: Error }]
  /** Something went wrong on a connection; `closed` says whether the connection was closed for it. */
  'connection:error': [{ error: Error, remoteAddress: string, peer: PeerInfo | undefined, closed: boolean }]
  /** A sub-protocol handler threw or rejected. */
  'handler:error': [{ error: Error, peer: PeerInfo, prefix: string }]
  /**
   * A peer was refused by the allowlist: after the Noise handshake proved a
   * key that is not on it, or at once for a plaintext peer (`publicKey` undefined).
   */
  'peer:denied': [{ remoteAddress: string, direction: Direction, publicKey: string | undefined, fingerprint: string | undefined, error: AccessDeniedError }]
  /** Control traffic received: `PING`, `PONG`, `REQUEST_PEERS`, `PEERS:`. */
  debug: [{ peer: PeerInfo, message: Message }]
  /** A node-wide table (known addresses, redials) hit its bound: the excess was forgotten or refused. */
  'limit:exceeded': [{ error: LimitExceededError }]
  /** The peers file could not be read or written, or was damaged; the node runs on without it. */
  'peers-file:error': [{ error: PeersFileError }]
}

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
  /** Dials queued or in flight (`dialConcurrency` at a time). */
  dialing: number
  /** Discovered addresses waiting out their dial jitter (bounded by the room left under `maxPeers`). */
  scheduledDials: number
  /** Lost peers being redialled (`maxReconnects`). */
  reconnecting: number
}

/** An IPv6 loopback address: reachable only from the host it names, so never learnt from a peer nor passed on. */
function isIpv6Loopback (address: string): boolean {
  return address.startsWith('[::1]')
}

function shuffled<T> (items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const swap = items[i] as T
    items[i] = items[j] as T
    items[j] = swap
  }
  return items
}

export class MeshNode extends EventEmitter<MeshEvents> {
  readonly id: string
  readonly name: string
  readonly options: Readonly<ResolvedOptions>
  /** This node's X25519 public key (64 hex characters); `undefined` without an identity (`secure: 'off'`). */
  readonly publicKey: string | undefined
  /** `SHA256:...` of `publicKey`, as peers see it. */
  readonly fingerprint: string | undefined
  /** Turns raw transports into secured links: the secure mode, the allowlist, ids bound to keys. */
  private readonly links: SecureLinks
  private readonly transport: TransportFactory
  /** Connected peers, one connection each. */
  private readonly table: PeerTable
  private readonly book: AddressBook
  private readonly connections = new Set<Connection>()
  /** Addresses this node can be reached at, so it never dials itself. */
  private readonly self: SelfAddresses
  private readonly dialing = new Map<string, Promise<PeerInfo>>()
  private readonly dialQueue: PQueue
  private readonly delivery: Delivery
  /** Discovered addresses whose dial waits out its jitter. */
  private readonly scheduledDials = new Set<string>()
  private readonly reconnector: Reconnector
  private readonly peersFile: PeersFile | undefined
  /** The overlay topology's membership, broadcast and routing; absent in a full mesh. */
  private readonly overlay: Overlay | undefined
  private listener: TransportListener | undefined
  private lifetime = new AbortController()
  private pendingHandshakes = 0

  constructor (opts: MeshNodeOptions = {}) {
    super()
    const resolved = resolveOptions(opts)
    const identity = resolved.identity === undefined
      ? (resolved.secure === 'off' ? undefined : generateIdentity())
      : typeof resolved.identity === 'string' ? loadIdentity(resolved.identity) : identityFromKeyObject(resolved.identity)
    const allowlist = resolved.allow === undefined ? undefined : resolveAllowlist(resolved.allow)
    // With a key, the id is the key's: one anybody can check, and nobody else can prove.
    const id = identity === undefined ? resolved.id : nodeIdFromPublicKey(identity.publicKey)
    if (opts.id !== undefined && opts.id !== id) {
      throw new InvalidOptionError(`Expected \`id\` to be unset or ${id} (derived from the identity key), got ${JSON.stringify(opts.id)}`)
    }
    this.options = { ...resolved, id, name: opts.name === undefined || opts.name === '' ? id : resolved.name }
    this.delivery = new Delivery(this, this.options.inboxSize)
    this.id = id
    this.name = this.options.name
    this.publicKey = identity === undefined ? undefined : publicKeyHex(identity.publicKey)
    this.fingerprint = identity === undefined ? undefined : fingerprint(identity.publicKey)
    this.links = new SecureLinks({
      ...this.options,
      identity,
      allowlist,
      running: () => this.running,
      onDenied: denial => { this.emit('peer:denied', denial) }
    })
    this.transport = opts.transport ?? tcpTransport()
    this.table = new PeerTable(id, this.options.maxPeers, address => this.dialing.has(address))
    this.self = new SelfAddresses(this.options.host, this.options.advertiseHost, this.options.maxKnownPeers)
    const { reconnectBackoff, reconnectMaxDelay } = this.options
    this.book = new AddressBook(this.options.maxKnownPeers, failures => reconnectDelay(failures, reconnectBackoff, reconnectMaxDelay))
    this.dialQueue = new PQueue({ concurrency: this.options.dialConcurrency })
    this.reconnector = new Reconnector({
      attempts: this.options.reconnectAttempts,
      backoff: this.options.reconnectBackoff,
      maxDelay: this.options.reconnectMaxDelay,
      capacity: this.options.maxReconnects,
      dial: async address => { await this.redial(address) },
      onGiveUp: (address, attempts, cause) => { this.emit('dial:failed', { address, error: new DialError(address, attempts, { cause }) }) },
      onLimit: error => { this.emit('limit:exceeded', { error }) }
    })
    const { peersFile, maxKnownPeers } = this.options
    this.peersFile = peersFile === undefined
      ? undefined
      : new PeersFile(peersFile, {
        maxEntries: maxKnownPeers,
        addresses: () => this.book.dialed(),
        onError: error => { this.emit('peers-file:error', { error }) }
      })
    if (this.options.topology === 'overlay') {
      this.overlay = new Overlay(this.overlayHost(), { ...this.options.overlay, connectionTimeout: this.options.connectionTimeout })
      this.delivery.handle(OVERLAY_PREFIX, this.overlay.receive, { relayed: false })
    } else {
      this.delivery.handle(OVERLAY_PREFIX, answerCapabilityProbes(this.options.topology, async (peerId, msg) => { await this.table.entry(peerId).conn.send(msg) }), { relayed: false })
    }
  }

  /** Whether the node is listening. */
  get running (): boolean {
    return this.listener !== undefined
  }

  /** The advertised listen address, `host:port`. */
  get address (): string {
    if (this.listener === undefined) throw new NotRunningError()
    return this.self.advertised(this.listener.port)
  }

  /** Starts listening. Resolves with the advertised address. */
  async start (): Promise<string> {
    if (this.listener !== undefined) return this.address
    this.lifetime = new AbortController()
    // Every pending dial listens for the node stopping; dials are bounded by
    // maxPeers and maxReconnects (plus the caller's own connect() calls), so
    // Node's default warning at 10 listeners would be a false alarm.
    setMaxListeners(0, this.lifetime.signal)
    this.listener = await this.transport.listen(this.options.host, this.options.port, transport => { this.accept(transport) })
    this.self.listening(this.listener.port)
    // Before a rejoin: connecting to remembered peers then joins the overlay through them.
    this.overlay?.start()
    if (this.peersFile !== undefined) await this.rejoin(this.peersFile)
    this.emit('started', { id: this.id, name: this.name, address: this.address })
    return this.address
  }

  /** Closes every connection, timer and the listener; resolves once all are closed. Queued messages are flushed first, within `connectionTimeout`. */
  async stop (): Promise<void> {
    const listener = this.listener
    if (listener === undefined) return
    this.listener = undefined
    this.lifetime.abort(new NotRunningError())
    this.reconnector.clear()
    this.overlay?.stop()
    const listenerClosed = listener.close()
    const stopping = new ConnectionClosedError('node stopping')
    this.links.closePending()
    for (const conn of this.connections) conn.close(stopping)
    await Promise.all([...this.connections].map(async conn => { await conn.done }))
    await listenerClosed
    await this.dialQueue.onIdle()
    this.delivery.end()
    await this.peersFile?.flush()
    this.emit('stopped')
  }

  /**
   * Connects to `address` (`host:port`), retrying with exponential backoff
   * and jitter up to `bootstrapAttempts` times. Resolves with the peer once
   * its handshake is complete; an address already connected resolves at once.
   * @throws DialError after the last attempt, NotRunningError
   */
  async connect (address: string): Promise<PeerInfo> {
    const target = normalizeAddress(address)
    const { bootstrapAttempts, bootstrapBackoff } = this.options
    let lastError: unknown
    let attempts = 0
    for (let attempt = 1; attempt <= bootstrapAttempts; attempt++) {
      attempts = attempt
      try {
        const peer = await this.dial(target)
        await this.overlay?.join(peer)
        return peer
      } catch (err) {
        lastError = err
        // Lost a simultaneous-dial tie-break: the other connection to this peer is the one kept,
        // and when the peer refused us because it is dialling us, that connection is moments away.
        const kept = err instanceof DuplicatePeerError ? await this.peerSoonAt(target, this.options.connectionTimeout) : undefined
        if (kept !== undefined) return kept
        if (err instanceof SelfConnectionError || err instanceof NotRunningError || err instanceof MaxPeersError || err instanceof DuplicatePeerError) break
        if (attempt < bootstrapAttempts) {
          await sleep(reconnectDelay(attempt, bootstrapBackoff, Infinity), undefined, { signal: this.lifetime.signal }).catch(() => {})
          if (!this.running) break
        }
      }
    }
    // The cause is the last attempt's own error, not its single-attempt DialError wrapper.
    const cause = lastError instanceof DialError && lastError.cause !== undefined ? lastError.cause : lastError
    const error = new DialError(target, attempts, { cause })
    this.emit('dial:failed', { address: target, error })
    throw error
  }

  /**
   * Sends chat text to every peer; resolves once it is queued for each
   * (waiting on full queues). In the overlay topology, to every node of the
   * overlay: `queued` then lists the neighbours and plain peers it was queued for.
   */
  async broadcast (text: string): Promise<BroadcastResult> {
    assertChatText(text)
    return await this.broadcastMessage({ type: 'chat', text })
  }

  /** Sends a `BYTES` payload to every peer; resolves once it is queued for each. See `broadcast()`. */
  async broadcastBytes (data: Uint8Array | Uint8ArrayList): Promise<BroadcastResult> {
    this.assertPayload(data)
    return await this.broadcastMessage({ type: 'bytes', data })
  }

  /**
   * Sends chat text to one peer; resolves once it is queued. In the overlay
   * topology a node that is not connected is reached through the overlay.
   * @throws PeerNotFoundError, NoRouteError (overlay)
   */
  async send (peerId: string, text: string): Promise<void> {
    assertChatText(text)
    await this.sendMessage(peerId, { type: 'chat', text })
  }

  /** Sends a `BYTES` payload to one peer; resolves once it is queued. See `send()`. */
  async sendBytes (peerId: string, data: Uint8Array | Uint8ArrayList): Promise<void> {
    this.assertPayload(data)
    await this.sendMessage(peerId, { type: 'bytes', data })
  }

  /** The overlay's views, links and counters; `undefined` in a full mesh. */
  overlayStatus (): OverlayStatus | undefined {
    return this.overlay?.status()
  }

  /** Connected peers. */
  peers (): PeerInfo[] {
    return [...this.table.values()].map(entry => ({ ...entry.info }))
  }

  /** Known listen addresses and their status. */
  knownPeers (): KnownPeer[] {
    return this.book.list()
  }

  /** Current sizes of the node's bounded tables. */
  stats (): MeshStats {
    return {
      peers: this.table.size,
      connections: this.connections.size,
      pendingHandshakes: this.pendingHandshakes,
      knownAddresses: this.book.size,
      dialing: this.dialing.size,
      scheduledDials: this.scheduledDials.size,
      reconnecting: this.reconnector.size
    }
  }

  /**
   * Asks every connected peer for its peers now (`REQUEST_PEERS`) instead of
   * at the next `discoveryInterval`; the answers are learnt and dialled as
   * usual. A peer whose connection is closing is skipped.
   * @returns how many peers were asked
   */
  discover (): number {
    for (const { conn } of this.table.values()) conn.send(REQUEST_PEERS_MESSAGE).catch(() => {})
    return this.table.size
  }

  /**
   * Claims `BYTES` payloads that start with `prefix` (a sub-protocol): they
   * go to `handler` instead of the `bytes` event and `messages()`, whether
   * a peer sent them or, in the overlay topology, relayed them (the
   * handler's third argument names their origin). With `{ relayed: false }`
   * it sees only payloads sent over a link itself, none that came through
   * the overlay (broadcasts and routed messages, a neighbour's own too).
   * @returns a function that removes the handler
   */
  handle (prefix: string, handler: BytesHandler, options?: HandlerOptions): () => void {
    return this.delivery.handle(prefix, handler, options)
  }

  /**
   * Chat and unclaimed `BYTES` messages from every peer, in arrival order
   * per peer. While a reader lags by `inboxSize` messages, delivery waits
   * for it (and so the sockets are read more slowly): nothing is dropped.
   */
  messages (): AsyncIterableIterator<IncomingMessage> {
    return this.delivery.messages()
  }

  private assertPayload (data: Uint8Array | Uint8ArrayList): void {
    if (data.byteLength > this.options.maxBytesPerMessage) {
      throw new InvalidMessageError(`payload of ${data.byteLength} bytes exceeds maxBytesPerMessage (${this.options.maxBytesPerMessage})`)
    }
    // A meshline peer would read it as a frame of its own overlay link.
    if (isOverlayPayload(data)) throw new InvalidMessageError(`payloads starting with ${JSON.stringify(OVERLAY_PREFIX)} are reserved for the overlay sub-protocol`)
  }

  /** The peer listening at `address`, as soon as it is connected, within `ms`. */
  private async peerSoonAt (address: string, ms: number): Promise<PeerInfo | undefined> {
    const connected = this.table.at(address)
    if (connected !== undefined || !this.running) return connected
    return await new Promise(resolve => {
      const onConnect = ({ peer }: { peer: PeerInfo }): void => { if (peer.address === address) done(peer) }
      const done = (peer: PeerInfo | undefined): void => {
        clearTimeout(timer)
        this.off('peer:connect', onConnect)
        this.off('stopped', onStop)
        resolve(peer)
      }
      const onStop = (): void => { done(undefined) }
      const timer = setTimeout(onStop, ms)
      this.on('peer:connect', onConnect)
      this.on('stopped', onStop)
    })
  }

  private async sendMessage (peerId: string, msg: Extract<Message, { type: 'chat' | 'bytes' }>): Promise<void> {
    const entry = this.table.get(peerId)
    if (entry !== undefined) return await entry.conn.send(msg)
    if (this.overlay === undefined || !this.running) throw new PeerNotFoundError(peerId)
    await this.overlay.sendTo(peerId, msg)
  }

  private async broadcastMessage (msg: Extract<Message, { type: 'chat' | 'bytes' }>): Promise<BroadcastResult> {
    if (this.overlay !== undefined) return await this.overlay.broadcast(msg)
    const result: BroadcastResult = { queued: [], failed: [] }
    const waiting: Array<Promise<void>> = []
    for (const { info: { id: peerId }, conn } of this.table.values()) {
      try {
        if (conn.offer(msg)) {
          result.queued.push(peerId)
          continue
        }
        waiting.push(conn.send(msg).then(
          () => { result.queued.push(peerId) },
          (error: Error) => { result.failed.push({ peerId, error }) }
        ))
      } catch (error) {
        result.failed.push({ peerId, error: error as Error })
      }
    }
    if (waiting.length > 0) await Promise.all(waiting)
    return result
  }

  private accept (transport: Transport): void {
    if (!this.running) {
      transport.close()
      return
    }
    if (this.pendingHandshakes >= this.options.maxPendingHandshakes) {
      transport.close()
      const error = new LimitExceededError('maxPendingHandshakes', this.options.maxPendingHandshakes)
      this.emit('connection:error', { error, remoteAddress: transport.remoteAddress, peer: undefined, closed: true })
      return
    }
    this.pendingHandshakes++
    void this.acceptLink(transport).finally(() => { this.pendingHandshakes-- })
  }

  /** An accepted connection, from its first byte to the end of its line handshake. */
  private async acceptLink (transport: Transport): Promise<void> {
    let link: SecuredLink
    try {
      link = await this.links.inbound(transport)
    } catch (error) {
      transport.close()
      // A refusal by the allowlist has its own event; a close before a single byte is no error.
      if (!(error instanceof AccessDeniedError) && !(error instanceof ConnectionClosedError) && this.running) {
        this.emit('connection:error', { error: error as Error, remoteAddress: transport.remoteAddress, peer: undefined, closed: true })
      }
      return
    }
    if (!this.running) {
      link.transport.close()
      return
    }
    await this.openConnection(link, 'listener').established.catch(() => {})
  }

  /** A dial attempt up to a secured link, the way the address answered last time first. */
  private async dialLink (address: string): Promise<SecuredLink> {
    const { host, port } = parseAddress(address)
    const open = async (): Promise<Transport> => {
      const transport = await this.transport.dial(host, port, { timeout: this.options.connectionTimeout, signal: this.lifetime.signal })
      if (!this.running) {
        transport.close()
        throw new NotRunningError()
      }
      return transport
    }
    return await this.links.outbound(address, open, this.book.get(address)?.security)
  }

  /** A single dial attempt, shared by everyone who asks for the same address meanwhile. */
  private dial (address: string): Promise<PeerInfo> {
    if (!this.running) return Promise.reject(new NotRunningError())
    if (this.self.has(address)) return Promise.reject(new SelfConnectionError())
    const connected = this.table.at(address)
    if (connected !== undefined) return Promise.resolve(connected)
    const inFlight = this.dialing.get(address)
    if (inFlight !== undefined) return inFlight
    const attempt = this.dialQueue.add(async () => {
      const link = await this.dialLink(address)
      if (!this.running) {
        link.transport.close()
        throw new NotRunningError()
      }
      return await this.openConnection(link, 'dialer', address).established
    }, { signal: this.lifetime.signal }).finally(() => { this.dialing.delete(address) })
    attempt.catch((err: unknown) => {
      if (!(err instanceof SelfConnectionError)) {
        // Whatever answered there last may have changed: the next dial tries Noise again first.
        this.book.setSecurity(address, undefined)
        // An address that keeps failing is forgotten until someone mentions it again.
        if (this.book.recordFailure(address) >= Math.max(1, this.options.reconnectAttempts)) this.book.remove(address)
        return
      }
      // Another name for this node: never dial or share it again.
      this.self.learn(address)
      this.book.remove(address)
    })
    this.dialing.set(address, attempt)
    return attempt
  }

  private openConnection (secured: SecuredLink, role: 'dialer' | 'listener', dialedAddress?: string): { established: Promise<PeerInfo> } {
    const opts = this.options
    const { transport } = secured
    let peer: PeerInfo | undefined
    /** Whether the peer is new to the table, rather than moved onto this connection. */
    let announce = false
    let settle: { resolve: (peer: PeerInfo) => void, reject: (err: Error) => void } | undefined
    const established = new Promise<PeerInfo>((resolve, reject) => { settle = { resolve, reject } })
    const listenAddress = this.self.announced((this.listener as TransportListener).port, transport.localHost)
    const peersToShare = (): string[] => this.peersToShare(peer?.address)

    const conn: Connection = new Connection({
      transport,
      role,
      maxLineLength: opts.maxLineLength,
      maxBytesPerMessage: opts.maxBytesPerMessage,
      maxQueuedBytes: opts.maxQueuedBytes,
      maxHandshakeBytes: opts.maxHandshakeBytes,
      slowPeerTimeout: opts.slowPeerTimeout,
      lingerTimeout: opts.connectionTimeout,
      inbound: link => [
        handshake({
          role,
          link,
          local: { id: this.id, name: this.name },
          listenAddress,
          dialedAddress,
          remoteHost: plainHost(transport.remoteHost),
          timeout: opts.connectionTimeout,
          peersToShare,
          admit: remote => {
            this.links.checkClaimedId(remote.id, secured)
            const admitted = this.admit(conn, remote, secured)
            if (admitted.admission !== 'accept' && admitted.admission !== 'redundant') return admitted.admission
            conn.established()
            const info = admitted.peer
            peer = info
            announce = admitted.admission === 'accept' && admitted.isNew
            if (admitted.admission === 'redundant') {
              // The peer stays on its other connection; this one is read to its end, and our side of it ends now.
              settle?.resolve({ ...info })
              conn.close(new DuplicatePeerError('the peer\'s other connection is kept'))
            }
            return admitted.admission
          },
          onEstablished: () => {
            if (peer === undefined) return
            if (announce) {
              this.emit('peer:connect', { peer: { ...peer }, peerCount: this.table.size })
              this.overlay?.peerUp(peer)
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
          discoveryInterval: opts.discoveryInterval,
          peersToShare,
          onPeers: msg => { this.learn(msg, peer, transport.remoteAddress) }
        }),
        ...opts.inbound
      ],
      outbound: opts.outbound,
      deliver: async source => { await this.delivery.consume(source, () => peer) },
      onClose: reason => {
        settle?.reject(reason)
        this.onClose(conn, peer, reason, transport.remoteAddress)
      }
    })
    this.connections.add(conn)
    void conn.done.then(() => { this.connections.delete(conn) })
    return { established }
  }

  /** Admits a remote whose hello arrived; what an admitted peer teaches goes to the address book and the link's keys. */
  private admit (conn: Connection, remote: RemoteHello, link: SecuredLink): Admitted {
    const admitted = this.table.admit(conn, remote, link)
    if (admitted.admission !== 'accept') return admitted
    const { peer, isNew } = admitted
    if (isNew && peer.address !== undefined) {
      this.book.add(peer.address)
      this.book.setConnected(peer.address, true)
      this.reconnector.cancel(peer.address)
      if (peer.direction === 'outbound') {
        this.book.markDialed(peer.address)
        this.peersFile?.changed()
      }
    }
    // How its address answers, for the next dial, and that its id is proven.
    if (peer.direction === 'outbound' && peer.address !== undefined) this.book.setSecurity(peer.address, link.security)
    this.links.bindId(peer.id, link)
    return admitted
  }

  private onClose (conn: Connection, peer: PeerInfo | undefined, reason: Error, remoteAddress: string): void {
    if (peer === undefined || !this.table.release(peer.id, conn)) {
      // Never became (or is no longer) the peer's connection: only failures are worth reporting.
      const quiet = reason instanceof DuplicatePeerError || reason instanceof ConnectionClosedError || reason instanceof NotRunningError
      if (conn.role === 'listener' && !quiet) this.emit('connection:error', { error: reason, remoteAddress, peer: undefined, closed: true })
      return
    }
    if (peer.address !== undefined) this.book.setConnected(peer.address, false)
    const info = { ...peer }
    if (reason instanceof PeerTimeoutError) this.emit('peer:timeout', { peer: info })
    if (reason instanceof ProtocolError) this.emit('connection:error', { error: reason, remoteAddress, peer: info, closed: true })
    this.emit('peer:disconnect', { peer: info, reason, peerCount: this.table.size })
    // The side that dialled redials; the other waits, so an inbound peer cannot
    // make this node dial an address of its choosing. Peers dropped for
    // misbehaving are not called back.
    const misbehaved = reason instanceof ProtocolError || reason instanceof SlowPeerError
    // In the overlay, membership replaces lost neighbours, and one it dropped must not be called back.
    if (this.overlay === undefined && conn.role === 'dialer' && peer.address !== undefined && this.running && !misbehaved) this.reconnector.schedule(peer.address)
    this.overlay?.peerDown(peer)
  }

  /** One redial attempt; resolves when there is nothing more to do, rejects to be tried again. */
  private async redial (address: string): Promise<void> {
    if (this.table.at(address) !== undefined || !this.running) return
    if (this.table.size >= this.options.maxPeers) throw new MaxPeersError('this node is at maxPeers')
    try {
      await this.dial(address)
    } catch (err) {
      if (err instanceof SelfConnectionError || err instanceof NotRunningError) return
      if (err instanceof DuplicatePeerError && this.table.at(address) !== undefined) return
      throw err
    }
  }

  /** Rejoins through the addresses remembered by an earlier run, most recently dialled first. */
  private async rejoin (peersFile: PeersFile): Promise<void> {
    const remembered = (await peersFile.load()).filter(address => !this.self.has(address))
    for (const address of remembered) {
      this.book.add(address)
      this.book.markDialed(address, 0)
    }
    for (const address of remembered.slice(0, this.options.maxReconnects)) this.reconnector.schedule(address, true)
  }

  /**
   * Listen addresses to tell `receiver` about: connected peers, then a few
   * more known ones, only among those this node has dialled successfully:
   * addresses it merely heard of (a flood of them, say) are not passed on.
   */
  private peersToShare (receiver: string | undefined): string[] {
    const shareable = (address: string | undefined): address is string =>
      address !== undefined && address !== receiver && !isIpv6Loopback(address)
    const connected = [...this.table.values()].map(entry => entry.info.address).filter(shareable)
    const extra = shuffled(this.book.provenUnconnected().map(known => known.address).filter(shareable))
      .slice(0, this.options.extraPeersShared)
    return [...new Set([...connected, ...extra])]
  }

  /** Takes in a received `PEERS:` list and dials a few of the new addresses. */
  private learn (msg: PeersMessage, from: PeerInfo | undefined, remoteAddress: string): void {
    const report = (error: Error): void => { this.emit('connection:error', { error, remoteAddress, peer: from, closed: false }) }
    if (msg.rejected !== undefined) report(new MalformedPeersListError(msg.rejected.slice(0, 5)))
    const { maxPeersPerList, maxKnownPeers } = this.options
    if (msg.addresses.length > maxPeersPerList) report(new LimitExceededError('maxPeersPerList', maxPeersPerList))
    const wasFull = this.book.size >= maxKnownPeers
    const discovered: string[] = []
    for (const address of msg.addresses.slice(0, maxPeersPerList)) {
      if (this.self.has(address) || isIpv6Loopback(address)) continue
      if (this.book.add(address)) discovered.push(address)
    }
    if (discovered.length > 0) this.emit('peers:discovered', { from, addresses: discovered })
    // Once per list, not per address: older addresses were forgotten to make room.
    if (wasFull && discovered.length > 0) this.emit('limit:exceeded', { error: new LimitExceededError('maxKnownPeers', maxKnownPeers) })
    // In the overlay, membership decides whom to connect to.
    if (this.options.autoDial && this.overlay === undefined) this.dialSome()
  }

  /**
   * Dials a few random unconnected addresses, while there is room for more
   * peers. Dials still waiting out their jitter count against the room, so
   * a flood of `PEERS:` lists cannot pile up timers.
   */
  private dialSome (): void {
    const room = this.options.maxPeers - this.table.size - this.dialing.size - this.scheduledDials.size
    if (room <= 0 || !this.running) return
    const idle = (address: string): boolean => !this.dialing.has(address) && !this.scheduledDials.has(address) &&
      !this.reconnector.has(address) && !this.self.has(address)
    const candidates = shuffled(this.book.dialable().filter(known => idle(known.address)))
      .slice(0, Math.min(room, this.options.dialsPerDiscovery))
    for (const { address } of candidates) {
      const jitter = Math.random() * this.options.dialJitter
      const signal = this.lifetime.signal
      this.scheduledDials.add(address)
      void sleep(jitter, undefined, { signal })
        .finally(() => { this.scheduledDials.delete(address) })
        .then(async () => await this.dial(address))
        .catch((error: Error) => {
          if (!signal.aborted) this.emit('dial:failed', { address, error })
        })
    }
  }

  /** What the overlay may do with this node: its connections, a single dial, and delivery to the application. */
  private overlayHost (): OverlayHost {
    return {
      id: this.id,
      name: this.name,
      address: () => this.address,
      peer: id => this.table.get(id)?.info,
      send: (peerId, msg) => {
        const { conn } = this.table.entry(peerId)
        return conn.offer(msg) ? undefined : conn.send(msg)
      },
      dial: async address => await this.dial(address),
      disconnect: (peerId, reason) => { this.table.get(peerId)?.conn.close(reason) },
      deliver: msg => this.delivery.relayed(msg)
    }
  }
}

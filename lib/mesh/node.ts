/**
 * The mesh node: the public face of meshline. It owns the listener and the
 * node's tables, and wires the parts that do the work, each reaching it
 * through a narrow host interface: `ConnectionSet` (transports to admitted
 * peers, each connection's pipeline), `Dialler` (connect, redial, rejoin,
 * discovery dials), `PeerExchange` (`PEERS:` lists), `Delivery` (events,
 * handlers and `messages()` readers), `ProtocolStreams` (stream handlers,
 * `openStream()`, `request()`), `FanOut` (broadcasts in a full mesh) and, in
 * the overlay topology, `Overlay`.
 */
import { EventEmitter, setMaxListeners } from 'node:events'
import { isUint8ArrayList, type Uint8ArrayList } from 'uint8arraylist'
import { AddressBook, type KnownPeer } from './address-book.js'
import { ConnectionSet } from './connection-set.js'
import { Delivery } from './delivery.js'
import { CONNECT_OPTIONS, Dialler, type ConnectOptions } from './dialler.js'
import type { MeshEvents } from './events.js'
import { PeerExchange } from './peer-exchange.js'
import { untilPeers } from './peer-waits.js'
import { PeerTable, type PeerEntry } from './peer-table.js'
import { PeersFile } from './peers-file.js'
import { reconnectDelay } from './reconnect.js'
import { SelfAddresses } from './self-addresses.js'
import { messageSink, type ChatOrBytes, type MessageSink, type Outgoing } from './sinks.js'
import { NodeMetrics, type MeshMetrics, type MeshStats } from './metrics.js'
import { ProtocolStreams, type OpenStreamOptions, type RequestHandler, type RequestHandlerOptions, type RequestOptions, type StreamHandler } from './streams.js'
import type { ProtocolStream } from '../connection/protocol-stream.js'
import type { StreamMux } from '../connection/stream-mux.js'
import { STREAM_PREFIX, isStreamPayload } from '../connection/stream-protocol.js'
import type { Connection } from '../connection/connection.js'
import { FanOut } from '../connection/fan-out.js'
import { ConnectionClosedError, DialError, InvalidMessageError, InvalidOptionError, LimitExceededError, NotRunningError, PeerNotFoundError } from '../errors.js'
import { applyTable, checkArgument, checked, isString, type OptionTable } from '../../transforms/core/option-table.js'
import { resolveOptions, type MeshNodeOptions, type ResolvedOptions } from '../options/node-options.js'
import { CAPS_PROBES, answerCapabilityProbes } from '../overlay/capabilities.js'
import { Overlay, type OverlayHost, type OverlayStatus } from '../overlay/overlay.js'
import { OVERLAY_PREFIX, isOverlayPayload } from '../overlay/overlay-protocol.js'
import { fingerprint, generateIdentity, identityFromKeyObject, nodeIdFromPublicKey, publicKeyHex, type Identity } from '../secure/identity.js'
import { loadIdentity, resolveAllowlist } from '../secure/key-files.js'
import { SecureLinks } from '../secure/secure-links.js'
import { defaultTransport } from '../transport/default-transport.js'
import { websocketTransport } from '../transport/websocket.js'
import { WEBSOCKET_ADDRESSES_PROTOCOL, WebSocketPeers, type WebSocketPeer } from './websocket-peers.js'
import type { Transport, TransportFactory, TransportListener } from '../transport/transport.js'
import type { BroadcastResult, BytesHandler, HandlerOptions, IncomingMessage, PeerInfo } from '../types.js'
import { REQUEST_PEERS_MESSAGE, chatMessage, dialOnlyAddress, parseAddress, type Message } from '../../transforms/core/line-protocol.js'
import { randomBytes } from '../crypto/crypto.js'

/** How long `waitForPeers()` may wait, and what may end it sooner. */
export interface WaitOptions {
  /** In ms; then it rejects with `TimeoutError`. @default no limit */
  timeout?: number
  /** Rejects it with `AbortedError`. */
  signal?: AbortSignal
}

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i

/** The listener of a node that only dials: it accepts nothing, and its address is a `dialOnlyAddress()`. */
function acceptingNothing (address: string): TransportListener {
  const { host, port } = parseAddress(address)
  return { host, port, close: async () => {} }
}

const WAIT_OPTIONS = {
  timeout: CONNECT_OPTIONS.timeout,
  signal: CONNECT_OPTIONS.signal
} satisfies OptionTable<WaitOptions>

/** How `messages()` hands messages over. */
export interface MessagesOptions {
  /** Arrays of every message buffered at the moment of reading, instead of one message per step. */
  batch?: boolean
}

const MESSAGES_OPTIONS = {
  batch: checked(false, 'a boolean', value => typeof value === 'boolean')
} satisfies OptionTable<MessagesOptions>

export class MeshNode extends EventEmitter<MeshEvents> {
  readonly id: string
  readonly name: string
  readonly options: Readonly<ResolvedOptions>
  /** This node's X25519 public key (64 hex characters); `undefined` without an identity (`secure` 'off', and no signing overlay). */
  readonly publicKey: string | undefined
  /** `SHA256:...` of `publicKey`, as peers see it. */
  readonly fingerprint: string | undefined
  private readonly transport: TransportFactory
  /** Connected peers, one connection each. */
  private readonly table: PeerTable
  private readonly book: AddressBook
  /** Addresses this node can be reached at, so it never dials itself. */
  private readonly self: SelfAddresses
  private readonly delivery: Delivery
  private readonly counters: NodeMetrics
  private readonly streams: ProtocolStreams
  private readonly wsPeers: WebSocketPeers
  private readonly connections: ConnectionSet
  private readonly dialler: Dialler
  private readonly exchange: PeerExchange
  private readonly peersFile: PeersFile | undefined
  /** Noise or plaintext per link, the allowlist, and what Noise proved (pins). */
  private readonly links: SecureLinks
  /** The overlay topology's membership, broadcast and routing; absent in a full mesh. */
  private readonly overlay: Overlay | undefined
  private listener: TransportListener | undefined
  /** The WebSocket listener beside it (`wsPort`). */
  private wsListener: TransportListener | undefined
  /** The address a node that does not listen announces. */
  private readonly dialOnly: string | undefined
  private lifetime = new AbortController()
  /** Asks `discoveryFanout` peers for their peers every `discoveryInterval` while running. */
  private discoveryRounds: NodeJS.Timeout | undefined
  /** Whether `limit:exceeded` has told of `maxPeers` since the node was last below it. */
  private fullReported = false

  constructor (opts: MeshNodeOptions = {}) {
    super()
    const resolved = resolveOptions(opts)
    // Noise links prove a key, and so do signed overlay messages.
    const needsKey = resolved.secure !== 'off' || (resolved.topology === 'overlay' && resolved.overlay.endToEnd !== 'off')
    const identity = resolved.identity === undefined
      ? (needsKey ? generateIdentity() : undefined)
      : typeof resolved.identity === 'string' ? loadIdentity(resolved.identity) : identityFromKeyObject(resolved.identity)
    // With a key, the id is the key's: one anybody can check, and nobody else can prove.
    const id = identity === undefined ? resolved.id : nodeIdFromPublicKey(identity.publicKey)
    if (opts.id !== undefined && opts.id !== id) {
      throw new InvalidOptionError(`Expected \`id\` to be unset or ${id} (derived from the identity key), got ${JSON.stringify(opts.id)}`)
    }
    const options = this.options = { ...resolved, id, name: opts.name === undefined || opts.name === '' ? id : resolved.name }
    this.id = id
    this.name = options.name
    this.publicKey = identity === undefined ? undefined : publicKeyHex(identity.publicKey)
    this.fingerprint = identity === undefined ? undefined : fingerprint(identity.publicKey)
    this.transport = opts.transport ?? defaultTransport()
    this.counters = new NodeMetrics(this)
    this.delivery = new Delivery(this, options.inboxSize, options.maxRetainedBytes, this.counters.traffic)
    this.streams = new ProtocolStreams({
      events: this,
      streamsOf: peerId => {
        this.assertRunning()
        return this.table.entry(peerId).conn.streams as StreamMux
      },
      connectionTimeout: options.connectionTimeout,
      maxBytesPerMessage: options.maxBytesPerMessage
    })
    this.wsPeers = new WebSocketPeers({
      id,
      maxPeers: options.maxPeers,
      connectionTimeout: options.connectionTimeout,
      peers: () => this.peers(),
      request: async (peerId, protocol, data, requestOptions) => await this.request(peerId, protocol, data, requestOptions),
      // As the asking peer reaches this node: a wildcard listener answers with the host of that connection.
      webSocketAddress: peer => this.wsListener === undefined ? undefined : this.self.advertised(this.wsListener.port, this.table.get(peer.id)?.conn.transport.localHost)
    })
    this.streams.handleRequests(WEBSOCKET_ADDRESSES_PROTOCOL, this.wsPeers.handler)
    // Named by its id, where the id can be a host name: a page dials another page by it (over WebRTC, see webrtcLinks()).
    this.dialOnly = options.listen ? undefined : dialOnlyAddress(DNS_LABEL.test(id) ? id.toLowerCase() : randomBytes(8).toString('hex'))
    const advertiseHost = this.dialOnly === undefined ? options.advertiseHost : parseAddress(this.dialOnly).host
    this.self = new SelfAddresses(options.host, advertiseHost, options.maxKnownPeers)
    this.book = new AddressBook(options.maxKnownPeers, failures => reconnectDelay(failures, options.reconnectBackoff, options.reconnectMaxDelay))
    this.table = new PeerTable(id, options.maxPeers, address => this.dialler.isDialing(address))
    const links = this.links = new SecureLinks({
      ...options,
      identity,
      allowlist: options.allow === undefined ? undefined : resolveAllowlist(options.allow),
      running: () => this.running,
      onDenied: denial => { this.emit('peer:denied', denial) }
    })
    this.peersFile = options.peersFile === undefined
      ? undefined
      : new PeersFile(options.peersFile, {
        maxEntries: options.maxKnownPeers,
        peers: () => this.book.dialed().map(address => ({ address, pinnedId: links.pinnedId(address) })),
        onError: error => { this.emit('peers-file:error', { error }) }
      })
    const node = this
    const tables = { book: this.book, self: this.self }
    this.dialler = new Dialler(options, {
      ...tables,
      peerAt: address => this.table.at(address),
      peerCount: () => this.table.size,
      get running () { return node.running },
      get signal () { return node.lifetime.signal },
      open: async address => await this.connections.dial(address),
      joined: peer => this.overlay?.join(peer),
      peerSoonAt: async (address, ms) => await this.peerSoonAt(address, ms),
      onDialFailed: (address, error) => { this.emit('dial:failed', { address, error }) },
      onLimit: error => { this.emit('limit:exceeded', { error }) },
      full: () => { this.reportFull() }
    })
    this.exchange = new PeerExchange(options, {
      ...tables,
      connectedAddresses: () => this.table.addresses(),
      // In the overlay, membership decides whom to connect to.
      // A node that does not listen (a page) cannot reach what others listen on: it keeps to the peers it is connected to.
      dialSome: () => { if (options.autoDial && options.listen && this.overlay === undefined) this.dialler.dialSome() },
      onDiscovered: (from, addresses) => { this.emit('peers:discovered', { from, addresses }) },
      onListError: (error, peer, remoteAddress) => { this.emit('connection:error', { error, remoteAddress, peer, closed: false }) },
      onLimit: error => { this.emit('limit:exceeded', { error }) }
    })
    this.connections = new ConnectionSet({ ...options, capabilityTimeout: options.overlay.capabilityTimeout }, {
      ...tables,
      streams: this.streams,
      // It names this node's topology: an overlay peer must not take a full-mesh node for one of its own.
      probe: async conn => { await conn.send(CAPS_PROBES[options.topology]) },
      table: this.table,
      get running () { return node.running },
      get signal () { return node.lifetime.signal },
      get port () { return (node.listener as TransportListener).port },
      events: this,
      transport: this.transport,
      links,
      delivery: this.delivery,
      traffic: this.counters.traffic,
      metrics: this.counters,
      peersToShare: receiver => this.exchange.peersToShare(receiver),
      learn: (msg, from, remoteAddress) => { this.exchange.learn(msg, from, remoteAddress) },
      peerUp: peer => { this.peerUp(peer) },
      full: () => { this.reportFull() },
      peerDown: (peer, redial) => {
        if (this.table.size < options.maxPeers) this.fullReported = false
        // In the overlay, membership replaces lost neighbours, and one it dropped must not be called back.
        if (redial && this.overlay === undefined) this.dialler.redialLater(peer.address as string)
        this.overlay?.peerDown(peer)
      }
    })
    let overlayFrames: BytesHandler
    if (options.topology === 'overlay') {
      // Half of what a peer takes in one frame: room for the bundle's header, whatever its entries.
      const maxBundleBytes = Math.min(options.overlay.maxBundleBytes, Math.floor(options.maxBytesPerMessage / 2))
      const overlay = this.overlay = new Overlay(this.overlayHost(identity), { ...options.overlay, maxBundleBytes, connectionTimeout: options.connectionTimeout })
      overlayFrames = overlay.receive
      if (options.overlay.relayPlainPeers) this.delivery.onDirect = msg => overlay.vouch(msg)
    } else {
      overlayFrames = answerCapabilityProbes(options.topology, async (peerId, msg) => { await this.table.entry(peerId).conn.send(msg) })
    }
    // Only a meshline node sends overlay frames: its connection may carry protocol streams.
    this.delivery.handle(OVERLAY_PREFIX, (data, peer, source) => {
      this.table.get(peer.id)?.conn.streams?.remoteIsMeshline()
      return overlayFrames(data, peer, source)
    }, { relayed: false })
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

  /**
   * Where `peerId` and the peers it is connected to listen for WebSocket
   * connections (`wsPort`), as they say: how a browser node finds more
   * nodes it can dial. Nodes without a WebSocket listener, and line-protocol
   * peers, are not in it.
   */
  async webSocketPeers (peerId: string): Promise<WebSocketPeer[]> {
    return await this.wsPeers.of(peerId)
  }

  /**
   * Takes in a connection that reached this node by other means than its
   * listener (a WebRTC data channel, say), as the listener would: secured,
   * admitted and bounded alike. The other end dials: it sends the hello.
   */
  acceptConnection (transport: Transport): void {
    this.assertRunning()
    this.connections.accept(transport)
  }

  /** Where the WebSocket listener (`wsPort`) is, `host:port` with the advertised host; undefined without one. */
  get webSocketAddress (): string | undefined {
    if (this.listener === undefined) throw new NotRunningError()
    return this.wsListener === undefined ? undefined : this.self.advertised(this.wsListener.port)
  }

  /** Starts listening. Resolves with the advertised address. */
  async start (): Promise<string> {
    if (this.listener !== undefined) return this.address
    this.lifetime = new AbortController()
    this.delivery.open()
    // Every pending dial listens for the node stopping; dials are bounded by
    // maxPeers and maxReconnects (plus the caller's own connect() calls), so
    // Node's default warning at 10 listeners would be a false alarm.
    setMaxListeners(0, this.lifetime.signal)
    const accept = (transport: Transport): void => { this.connections.accept(transport) }
    this.listener = this.options.listen ? await this.transport.listen(this.options.host, this.options.port, accept) : acceptingNothing(this.dialOnly as string)
    this.self.listening(this.listener.port)
    if (this.options.wsPort !== undefined) {
      try {
        this.wsListener = await websocketTransport({ upgradeTimeout: this.options.connectionTimeout }).listen(this.options.host, this.options.wsPort, accept)
      } catch (error) {
        await this.stop()
        throw error
      }
    }
    this.discoveryRounds = setInterval(() => { this.askForPeers(this.table.sample(this.options.discoveryFanout)) }, this.options.discoveryInterval)
    // Before a rejoin: connecting to remembered peers then joins the overlay through them.
    this.overlay?.start()
    if (this.peersFile !== undefined) {
      const remembered = (await this.peersFile.load()).filter(({ address }) => !this.self.has(address))
      for (const { address, pinnedId } of remembered) if (pinnedId !== undefined) this.links.pin(address, pinnedId)
      this.dialler.rejoin(remembered.map(({ address }) => address))
    }
    this.emit('started', { id: this.id, name: this.name, address: this.address })
    return this.address
  }

  /** Closes every connection, timer and the listener; resolves once all are closed. Queued messages are flushed first, within `connectionTimeout`. */
  async stop (): Promise<void> {
    const listener = this.listener
    if (listener === undefined) return
    this.listener = undefined
    this.lifetime.abort(new NotRunningError())
    clearInterval(this.discoveryRounds)
    const dialsDone = this.dialler.stop()
    this.overlay?.stop()
    const listenerClosed = Promise.all([listener.close(), this.wsListener?.close()])
    this.wsListener = undefined
    await this.connections.close(new ConnectionClosedError('node stopping'))
    await listenerClosed
    await dialsDone
    this.delivery.end()
    await this.peersFile?.flush()
    this.emit('stopped')
  }

  /**
   * Connects to `address` (`host:port`), retrying with exponential backoff
   * and jitter up to `bootstrapAttempts` times. Resolves with the peer once
   * its handshake is complete; an address already connected resolves at once.
   * `options` may set this call's `attempts`, an overall `timeout` and an
   * abort `signal`.
   * @throws DialError after the last attempt (its `cause` a `TimeoutError` when `timeout` ran out), AbortedError, NotRunningError
   */
  async connect (address: string, options?: ConnectOptions): Promise<PeerInfo> {
    checkArgument('address', 'a host:port string', address, isString)
    const opts = applyTable(CONNECT_OPTIONS, options)
    this.assertRunning()
    return await this.dialler.connect(address, opts)
  }

  /**
   * Resolves with the connected peers once there are at least `count`: a way
   * to wait for the mesh to form instead of polling `peers()`.
   * @throws TimeoutError after `timeout` ms, AbortedError when `signal` aborts, NotRunningError (also when the node stops meanwhile)
   */
  async waitForPeers (count: number, options?: WaitOptions): Promise<PeerInfo[]> {
    checkArgument('count', 'an integer >= 0', count, value => Number.isSafeInteger(value) && (value as number) >= 0)
    const { timeout, signal } = applyTable(WAIT_OPTIONS, options)
    this.assertRunning()
    return await untilPeers(this, () => this.table.size >= count ? this.peers() : undefined, { what: `waiting for ${count} peers`, timeout, signal })
  }

  /**
   * Sends chat text to every peer; resolves once it is queued for each
   * (waiting on full queues). In the overlay topology, to every node of the
   * overlay: `queued` then lists the neighbours and plain peers it was queued for.
   */
  async broadcast (text: string): Promise<BroadcastResult> {
    checkArgument('text', 'a string', text, isString)
    return await this.broadcastMessage(chatMessage(text))
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
    checkArgument('peerId', 'a peer id string', peerId, isString)
    checkArgument('text', 'a string', text, isString)
    await this.sendMessage(peerId, chatMessage(text))
  }

  /** Sends a `BYTES` payload to one peer; resolves once it is queued. See `send()`. */
  async sendBytes (peerId: string, data: Uint8Array | Uint8ArrayList): Promise<void> {
    checkArgument('peerId', 'a peer id string', peerId, isString)
    this.assertPayload(data)
    await this.sendMessage(peerId, { type: 'bytes', data })
  }

  /** The overlay's views, links and counters; `undefined` in a full mesh. */
  overlayStatus (): OverlayStatus | undefined {
    return this.overlay?.status()
  }

  /** How many peers are connected: `peers().length` without copying every peer's record. */
  get peerCount (): number {
    return this.table.size
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
    let streams = 0
    for (const { conn } of this.table.values()) streams += (conn.streams?.sizes.inbound ?? 0) + (conn.streams?.sizes.outbound ?? 0)
    return {
      peers: this.table.size,
      ...this.connections.sizes,
      knownAddresses: this.book.size,
      streams,
      ...this.dialler.sizes
    }
  }

  /** A snapshot of the node's metrics: peers, traffic by kind, queues, failures and, in the overlay, its views and counters. */
  metrics (): MeshMetrics {
    return this.counters.snapshot({
      peers: [...this.table.values()].map(entry => entry.info),
      tables: this.stats(),
      links: [...this.table.values()].map(({ info, conn }) => ({ peer: info.id, queuedBytes: conn.queuedBytes, bytesSent: conn.bytesSent, bytesReceived: conn.bytesReceived })),
      overlay: this.overlay?.status()
    })
  }

  /**
   * Asks every connected peer for its peers now (`REQUEST_PEERS`), beside
   * the `discoveryFanout` asked every `discoveryInterval`; the answers are
   * learnt and dialled as usual. A peer whose connection is closing is skipped.
   * @returns how many peers were asked
   */
  discover (): number {
    this.assertRunning()
    this.askForPeers(this.table.values())
    return this.table.size
  }

  /**
   * Claims `BYTES` payloads that start with `prefix` (a sub-protocol): they
   * go to `handler` instead of the `bytes` event and `messages()`, whether
   * a peer sent them or, in the overlay topology, relayed them (the
   * handler's third argument names their origin). With `{ relayed: false }`
   * it sees only payloads sent over a link itself, none that came through
   * the overlay (broadcasts and routed messages, a neighbour's own too).
   * Where prefixes overlap, the longest that matches wins. Handlers may be
   * registered before `start()`.
   * @returns a function that removes the handler (calling it again does nothing)
   * @throws InvalidArgumentError for an empty or reserved prefix or a handler that is not a function, DuplicateHandlerError when the prefix has a handler
   */
  handle (prefix: string, handler: BytesHandler, options?: HandlerOptions): () => void {
    checkArgument('prefix', `a prefix that does not start with the reserved ${JSON.stringify(OVERLAY_PREFIX)} or ${JSON.stringify(STREAM_PREFIX)}`, prefix,
      value => typeof value !== 'string' || (!value.startsWith(OVERLAY_PREFIX) && !value.startsWith(STREAM_PREFIX)))
    return this.delivery.handle(prefix, handler, options)
  }

  /**
   * Takes every protocol stream peers open for `protocol` (a name such as
   * `/chat/1.0.0`): `handler` gets `{ stream, peer, protocol }`, where
   * `stream` is a duplex (`source`, `sink`) for it-pipe. A peer opening a
   * protocol with no handler is refused with `ProtocolUnsupportedError`.
   * Handlers may be registered before `start()`.
   * @returns a function that removes the handler (streams already open go on)
   * @throws InvalidArgumentError, DuplicateHandlerError
   */
  handleStream (protocol: string, handler: StreamHandler): () => void {
    return this.streams.handle(protocol, handler)
  }

  /**
   * Opens a protocol stream to a connected peer, multiplexed over its link
   * with its own flow control: a stream whose reader stalls holds back no
   * other stream, chat or broadcast. Resolves once the peer accepted it. A
   * line-protocol peer is found out, and refused, before any stream frame
   * is sent to it: the first stream to a peer of unknown kind waits up to
   * `overlay.capabilityTimeout` for its answer to a capability probe.
   * @throws PeerNotFoundError, StreamsUnsupportedError, ProtocolUnsupportedError, TooManyStreamsError, TimeoutError, AbortedError, NotRunningError
   */
  async openStream (peerId: string, protocol: string, options?: OpenStreamOptions): Promise<ProtocolStream> {
    return await this.streams.open(peerId, protocol, options)
  }

  /**
   * Answers requests peers send with `request()` for `protocol`: `handler`
   * gets the request's bytes and returns the response's.
   * @returns a function that removes the handler
   * @throws InvalidArgumentError, DuplicateHandlerError
   */
  handleRequests (protocol: string, handler: RequestHandler, options?: RequestHandlerOptions): () => void {
    return this.streams.handleRequests(protocol, handler, options)
  }

  /**
   * Sends `data` to a connected peer's `handleRequests()` handler for
   * `protocol`, on a stream of its own, and resolves with the response.
   * @throws what `openStream()` throws; StreamResetError (the handler failed or the link closed); LimitExceededError (`maxResponseBytes`); TimeoutError
   */
  async request (peerId: string, protocol: string, data: Uint8Array | Uint8ArrayList, options?: RequestOptions): Promise<Uint8Array> {
    return await this.streams.request(peerId, protocol, data, options)
  }

  /**
   * Chat and unclaimed `BYTES` messages from every peer, in arrival order
   * per peer. While a reader lags by `inboxSize` messages, delivery waits
   * for it (and so the sockets are read more slowly): nothing is dropped.
   * While no reader is attached, messages are kept for the next reader, up
   * to `maxRetainedBytes`; past it they are dropped with one
   * `limit:exceeded` event. A reader ends when the node stops, after what it
   * holds.
   */
  messages (options?: MessagesOptions & { batch?: false }): AsyncIterableIterator<IncomingMessage>
  /** With `{ batch: true }`: arrays of every message buffered when the reader asks, one step per burst. */
  messages (options: MessagesOptions & { batch: true }): AsyncIterableIterator<IncomingMessage[]>
  messages (options?: MessagesOptions): AsyncIterableIterator<IncomingMessage> | AsyncIterableIterator<IncomingMessage[]> {
    const { batch } = applyTable(MESSAGES_OPTIONS, options)
    const inbox = this.delivery.messages()
    return batch ? inbox.batches() : inbox
  }

  /**
   * An it-pipe sink that sends every item of its source to one peer: chat
   * text for a string, a `BYTES` payload otherwise. The source may yield
   * arrays of messages. It waits only while the peer's queue is full, so a
   * producer pays no promise per message; each item is checked as `send()`
   * and `sendBytes()` check theirs. In the overlay topology a node that is
   * not connected is reached through the overlay. Resolves once the source
   * has ended and everything is queued.
   * @throws what `send()` throws, for the first message that fails (the rest of the source is not read)
   */
  sender (peerId: string): MessageSink {
    checkArgument('peerId', 'a peer id string', peerId, isString)
    // The peer's connection, looked up again only once it closes (the peer may have moved to another).
    let conn: Connection | undefined
    return messageSink(msg => {
      this.assertRunning()
      if (conn?.closeReason !== undefined) conn = undefined
      conn ??= this.table.get(peerId)?.conn
      if (conn !== undefined) return conn.enqueue(msg)
      if (this.overlay === undefined) throw new PeerNotFoundError(peerId)
      return this.overlay.sendTo(peerId, msg)
    }, item => this.outgoing(item))
  }

  /**
   * An it-pipe sink that broadcasts every item of its source, as `sender()`
   * sends to one peer. A peer that fails meanwhile is disconnected and
   * `peer:disconnect` says why; the others get every message.
   */
  broadcaster (): MessageSink {
    return messageSink(msg => this.queueBroadcast(msg), item => this.outgoing(item))
  }

  /** @throws NotRunningError unless the node is running: the one rule for every network operation. */
  private assertRunning (): void {
    if (!this.running) throw new NotRunningError()
  }

  private assertPayload (data: Uint8Array | Uint8ArrayList): void {
    checkArgument('data', 'a Uint8Array or Uint8ArrayList', data, value => value instanceof Uint8Array || isUint8ArrayList(value))
    if (data.byteLength > this.options.maxBytesPerMessage) {
      throw new InvalidMessageError(`payload of ${data.byteLength} bytes exceeds maxBytesPerMessage (${this.options.maxBytesPerMessage})`)
    }
    // A meshline peer would read it as a frame of its own.
    if (isOverlayPayload(data)) throw new InvalidMessageError(`payloads starting with ${JSON.stringify(OVERLAY_PREFIX)} are reserved for the overlay sub-protocol`)
    if (isStreamPayload(data)) throw new InvalidMessageError(`payloads starting with ${JSON.stringify(STREAM_PREFIX)} are reserved for protocol streams`)
  }

  /** The peer listening at `address`, as soon as it is connected, within `ms`. */
  private async peerSoonAt (address: string, ms: number): Promise<PeerInfo | undefined> {
    if (!this.running) return this.table.at(address)
    return await untilPeers(this, () => this.table.at(address), { what: `a peer at ${address}`, timeout: ms }).catch(() => undefined)
  }

  private async sendMessage (peerId: string, msg: Extract<Message, { type: 'chat' | 'bytes' }>): Promise<void> {
    this.assertRunning()
    const entry = this.table.get(peerId)
    if (entry !== undefined) return await entry.conn.send(msg)
    if (this.overlay === undefined || !this.running) throw new PeerNotFoundError(peerId)
    await this.overlay.sendTo(peerId, msg)
  }

  /** Sends `REQUEST_PEERS` on each entry's connection; one that is closing is skipped. */
  private askForPeers (entries: Iterable<PeerEntry>): void {
    for (const { conn } of entries) conn.send(REQUEST_PEERS_MESSAGE).catch(() => {})
  }

  /** Tells once, until the node is below `maxPeers` again, that peers are being refused or left undialled for it. */
  private reportFull (): void {
    if (this.fullReported) return
    this.fullReported = true
    this.emit('limit:exceeded', { error: new LimitExceededError('maxPeers', this.options.maxPeers) })
  }

  private peerUp (peer: PeerInfo): void {
    this.emit('peer:connect', { peer: { ...peer }, peerCount: this.table.size })
    this.overlay?.peerUp(peer)
    if (peer.address === undefined) return
    this.dialler.connected(peer.address)
    if (peer.direction === 'outbound') this.peersFile?.changed()
  }

  /** A sink's item as a checked message. */
  private outgoing (item: Outgoing): ChatOrBytes {
    if (typeof item === 'string') return chatMessage(item)
    this.assertPayload(item)
    return { type: 'bytes', data: item }
  }

  /** Queues a broadcast: `undefined` when every peer took it at once, else what to wait on. */
  private queueBroadcast (msg: ChatOrBytes): Promise<unknown> | undefined {
    this.assertRunning()
    if (this.overlay !== undefined) return this.overlay.enqueueBroadcast(msg)
    let waits: Array<Promise<void>> | undefined
    // A peer that fails (throws, or rejects) is being disconnected, with its reason in `peer:disconnect`.
    const skip = (): void => {}
    for (const { conn } of this.table.values()) {
      try {
        const wait = conn.enqueue(msg)
        if (wait !== undefined) (waits ??= []).push(wait.catch(skip))
      } catch {
        skip()
      }
    }
    return waits === undefined ? undefined : Promise.all(waits)
  }

  private async broadcastMessage (msg: Extract<Message, { type: 'chat' | 'bytes' }>): Promise<BroadcastResult> {
    this.assertRunning()
    if (this.overlay !== undefined) return await this.overlay.broadcast(msg)
    const fan = new FanOut()
    for (const { info, conn } of this.table.values()) fan.add(info.id, () => conn.enqueue(msg))
    return await fan.done()
  }

  /** What the overlay may do with this node: its connections, a single dial, and delivery to the application. */
  private overlayHost (identity: Identity | undefined): OverlayHost {
    return {
      id: this.id,
      name: this.name,
      identity,
      address: () => this.address,
      peer: id => this.table.get(id)?.info,
      send: (peerId, msg) => this.table.entry(peerId).conn.enqueue(msg),
      dial: async address => {
        if (!this.options.listen) throw new DialError(address, 0, { cause: new Error('a node that does not listen keeps to the peers it was connected to') })
        return await this.dialler.dial(address)
      },
      disconnect: (peerId, reason) => { this.table.get(peerId)?.conn.close(reason) },
      deliver: msg => {
        this.counters.delivered(msg.hops)
        return this.delivery.relayed(msg)
      },
      refused: ({ error, peer, closed }) => {
        this.emit('message:refused', { error, peer, closed })
        if (closed) this.table.get(peer.id)?.conn.close(error)
      }
    }
  }
}

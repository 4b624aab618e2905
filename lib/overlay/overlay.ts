/**
 * The overlay driver: connects the pure cores (HyParView membership,
 * Plumtree broadcast, reverse-path routing, the message cache) to a mesh
 * node. It turns received overlay frames into core events, carries out the
 * actions the cores return (send, dial, close, deliver), and owns every timer
 * of the overlay, all cleared by `stop()`.
 *
 * The node calls it on peer connect and disconnect, hands it every `BYTES`
 * payload that starts with `OVERLAY_PREFIX`, and delegates broadcasts and
 * direct messages to peers it has no connection to. What it authors and
 * what it receives through others passes `EndToEnd` (signatures, sealing,
 * replays) on the way.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { randomBytes } from '../crypto/crypto.js'
import { Plumtree, type BroadcastAction } from './broadcast.js'
import { FanOut } from '../connection/fan-out.js'
import { Capabilities, CAPS_PROBES, capsReply, type PeerKind } from './capabilities.js'
import type { CachedMessage } from './message-cache.js'
import { Membership, type MembershipAction } from './membership.js'
import { RoutingTable } from './routing.js'
import { decodeFrame, encodeFrame, type GossipFrame, type OverlayFrame, type PayloadKind, type PeerRef, type RouteFrame, type RouteReplyFrame, type ShuffleReplyFrame } from './overlay-protocol.js'
import { ConnectionClosedError, NoRouteError, NotRunningError, OverlayFrameError, type UntrustedReason } from '../errors.js'
import { assertChatText, type Message } from '../../transforms/core/line-protocol.js'
import type { Authenticity, BroadcastResult, IncomingMessage, MessageSource, Origin, PeerInfo } from '../types.js'
import type { ResolvedOverlayOptions } from '../options/overlay-options.js'
import type { Identity } from '../secure/identity.js'
import { EndToEnd, type Refusal } from '../trust/end-to-end.js'
import type { BundleEntry } from '../trust/signed-bundle.js'

/** What the overlay needs from its node. */
export interface OverlayHost {
  readonly id: string
  readonly name: string
  /** The node's keys: without them (`endToEnd` and `secure` both 'off') it signs and seals nothing. */
  readonly identity: Identity | undefined
  /** The node's advertised listen address (once started). */
  address: () => string
  /** A connected peer. */
  peer: (id: string) => PeerInfo | undefined
  /**
   * Queues a message for a connected peer: `undefined` when it was queued at
   * once, else a promise that resolves once queued. Throws or rejects when the
   * peer is gone or its connection is closing.
   */
  send: (peerId: string, msg: Message) => Promise<void> | undefined
  /** One dial attempt, no retries; resolves once the handshake is done (at once if connected). */
  dial: (address: string) => Promise<PeerInfo>
  /** Closes the connection to a peer. */
  disconnect: (peerId: string, reason: Error) => void
  /** Hands a message to the application; a promise means the application needs time (backpressure). */
  deliver: (msg: IncomingMessage) => Promise<void> | undefined
  /** A relayed message was refused end to end; when `closed`, the node closes its link. */
  refused: (refusal: Refusal) => void
}

export type OverlayFrameType = OverlayFrame['type']

/** Counters of one overlay node, since it started. */
export interface OverlayStats {
  /** Overlay frames sent, by type, one per recipient: `gossip` counts broadcast payloads, the rest is control traffic. */
  sent: Record<OverlayFrameType, number>
  /** Broadcasts copied to plain peers as chat lines or `BYTES` frames. */
  plainSent: number
  /** Broadcast payloads received again after their first delivery. */
  duplicates: number
  /** Broadcasts and routed messages handed to the application. */
  delivered: number
  /** Routed frames dropped: no route, or hop limit reached. */
  routeDrops: number
  /** Relayed messages refused end to end, by reason. */
  refused: Record<UntrustedReason, number>
  /** End to end: bundles signed here and verified here (once each, duplicates are not), messages sealed here and opened here. */
  endToEnd: { signed: number, verified: number, sealed: number, opened: number }
}

/** A snapshot of the overlay state of a node. */
export interface OverlayStatus {
  /** Neighbour ids (HyParView active view). */
  active: string[]
  /** Known node ids to repair from (HyParView passive view). */
  passive: string[]
  /** Neighbours that get broadcast payloads pushed (the spanning tree's links here). */
  eager: string[]
  /** Neighbours that get only broadcast ids. */
  lazy: string[]
  /** Connected peers that do not speak the overlay and get plain messages. */
  plain: string[]
  stats: OverlayStats
}

export interface OverlayDriverOptions extends ResolvedOverlayOptions {
  /** How long a neighbour request and an idle overlay connection may wait, in ms (the node's `connectionTimeout`). */
  connectionTimeout: number
}

interface Discovery {
  promise: Promise<string>
  resolve: (via: string) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

const FRAME_TYPES: OverlayFrameType[] = [
  'caps', 'join', 'forward-join', 'neighbor', 'neighbor-reply', 'disconnect', 'shuffle', 'shuffle-reply',
  'gossip', 'ihave', 'graft', 'prune', 'route', 'route-reply'
]
const REFUSAL_REASONS: UntrustedReason[] = ['malformed', 'bad-signature', 'key-mismatch', 'replay', 'unsigned', 'undecryptable']
const utf8 = new TextDecoder('utf-8', { fatal: true })
/** For a route request's target id: bytes that are not UTF-8 simply match no id. */
const lenientUtf8 = new TextDecoder('utf-8')

/** Collects the promises of sends that had to wait, so a handler can hold back its peer until they are queued. */
class Waits {
  private list: Array<Promise<unknown>> | undefined
  add (wait: Promise<unknown> | undefined): void {
    if (wait !== undefined) (this.list ??= []).push(wait)
  }

  get done (): Promise<void> | undefined {
    return this.list === undefined ? undefined : Promise.all(this.list).then(() => {})
  }
}

export class Overlay {
  readonly stats: Omit<OverlayStats, 'endToEnd'>
  private readonly plumtree: Plumtree
  private readonly routes: RoutingTable
  private readonly capabilities: Capabilities
  private readonly trust: EndToEnd
  private membership: Membership | undefined
  private readonly graftTimers = new Map<string, NodeJS.Timeout>()
  private readonly idleTimers = new Map<string, NodeJS.Timeout>()
  /** Peers `connect()` asked to join through, until they show they speak the overlay (or go). */
  private readonly joinIntents = new Set<string>()
  /** Peers a `connect()` call waits for the first decision on (it joins then itself). */
  private readonly joinsWaiting = new Set<string>()
  private readonly discoveries = new Map<string, Discovery>()
  private intervals: NodeJS.Timeout[] = []

  constructor (private readonly host: OverlayHost, private readonly opts: OverlayDriverOptions) {
    this.stats = {
      sent: Object.fromEntries(FRAME_TYPES.map(type => [type, 0])) as Record<OverlayFrameType, number>,
      plainSent: 0,
      duplicates: 0,
      delivered: 0,
      routeDrops: 0,
      refused: Object.fromEntries(REFUSAL_REASONS.map(reason => [reason, 0])) as Record<UntrustedReason, number>
    }
    this.plumtree = new Plumtree(opts)
    this.routes = new RoutingTable(opts)
    this.capabilities = new Capabilities({
      capabilityTimeout: opts.capabilityTimeout,
      maxHeldMessages: opts.maxHeldMessages,
      onDecided: (peer, kind, held) => { this.decided(peer, kind, held) }
    })
    this.trust = new EndToEnd(host.identity, { id: host.id, name: host.name }, { ...opts, mode: opts.endToEnd }, {
      publish: (id, bundle, entries) => this.publishBundle(id, bundle, entries),
      refused: refusal => {
        this.stats.refused[refusal.error.reason]++
        host.refused(refusal)
      }
    })
  }

  /** Starts the shuffle and repair timers; the node is listening now. */
  start (): void {
    this.membership = new Membership({ id: this.host.id, address: this.host.address() }, {
      ...this.opts,
      requestTimeout: this.opts.connectionTimeout,
      // A node that refused is asked again once views had time to change.
      refusalMemory: this.opts.shuffleInterval
    })
    this.intervals = [
      setInterval(() => { void this.run([...this.views.shuffle(), ...this.views.retryLost(performance.now())]) }, this.opts.shuffleInterval),
      setInterval(() => { this.repair() }, this.opts.repairInterval)
    ]
  }

  /** Clears every timer and fails what waits on the overlay. */
  stop (): void {
    for (const timer of this.intervals) clearInterval(timer)
    this.intervals = []
    for (const timer of [...this.graftTimers.values(), ...this.idleTimers.values()]) clearTimeout(timer)
    this.graftTimers.clear()
    this.idleTimers.clear()
    this.capabilities.stop()
    this.joinIntents.clear()
    for (const discovery of this.discoveries.values()) {
      clearTimeout(discovery.timer)
      discovery.reject(new NotRunningError())
    }
    this.discoveries.clear()
    this.membership = undefined
  }

  status (): OverlayStatus {
    return {
      active: [...(this.membership?.active.keys() ?? [])],
      passive: [...(this.membership?.passive.keys() ?? [])],
      eager: [...this.plumtree.eager],
      lazy: [...this.plumtree.lazy],
      plain: [...this.capabilities.ofKind('plain')],
      stats: { ...this.stats, sent: { ...this.stats.sent }, refused: { ...this.stats.refused }, endToEnd: { ...this.trust.counts } }
    }
  }

  /** A new peer completed its handshake, whose own lines are queued already: the probe follows them. */
  peerUp (peer: PeerInfo): void {
    // Proven over Noise: what to seal to it.
    if (peer.publicKey !== undefined) this.trust.keys.learnLinkKey(peer.id, Buffer.from(peer.publicKey, 'hex'))
    this.capabilities.added(peer.id)
    this.stats.sent.caps++
    void this.sendMessage(peer.id, CAPS_PROBES.overlay)
  }

  /** A peer's connection closed. */
  peerDown (peer: PeerInfo): void {
    this.capabilities.removed(peer.id)
    clearTimeout(this.idleTimers.get(peer.id))
    this.idleTimers.delete(peer.id)
    this.routes.forget(peer.id)
    this.plumtree.neighborDown(peer.id)
    this.trust.peerDown(peer.id)
    this.joinIntents.delete(peer.id)
    if (this.membership !== undefined) void this.run(this.membership.disconnected(peer.id, performance.now()))
  }

  /**
   * Joins the overlay through a peer that `connect()` reached: resolves once
   * the JOIN is queued, or once the peer is taken for plain. A peer taken for
   * plain only because its answer was late is joined through when it comes.
   */
  async join (peer: PeerInfo): Promise<void> {
    this.joinIntents.add(peer.id)
    if (this.capabilities.kind(peer.id) === 'pending') {
      this.joinsWaiting.add(peer.id)
      await this.capabilities.decision(peer.id)
      this.joinsWaiting.delete(peer.id)
    }
    await this.joinIfOverlay(peer.id)
  }

  /** The handler for every `BYTES` payload that starts with `OVERLAY_PREFIX`. */
  readonly receive = (data: Uint8ArrayList, peer: PeerInfo): Promise<void> | undefined => {
    let frame: OverlayFrame
    try {
      frame = decodeFrame(data)
    } catch (err) {
      this.host.disconnect(peer.id, err as Error)
      return undefined
    }
    if (frame.type === 'caps') {
      const wait = frame.reply ? undefined : this.sendFrame(peer.id, capsReply('overlay'))
      this.capabilities.decide(peer.id, frame.topology === 'overlay' ? 'overlay' : 'plain')
      return wait
    }
    // Only an overlay node sends these; they may overtake its probe.
    this.capabilities.decide(peer.id, 'overlay')
    const membership = this.membership
    const ref = this.refOf(peer.id)
    if (membership === undefined || ref === undefined) return undefined
    const now = performance.now()
    switch (frame.type) {
      case 'join': case 'forward-join': case 'neighbor': case 'neighbor-reply': case 'disconnect': case 'shuffle':
        if (frame.type === 'shuffle') this.routes.learn(frame.origin, peer.id, frame.hops, now)
        return this.run(membership.receive(ref, frame, now))
      case 'gossip': return this.onGossip(peer, frame, now)
      case 'ihave': return this.run(this.plumtree.onIHave(peer.id, frame.ids, now))
      case 'graft': return this.run(this.plumtree.onGraft(peer.id, frame.id, now))
      case 'prune':
        this.plumtree.onPrune(peer.id)
        return undefined
      case 'route': case 'route-reply': case 'shuffle-reply':
        return this.onRouted(peer, frame, now)
    }
  }

  /**
   * Broadcasts chat text or bytes to every node of the overlay and to this
   * node's plain peers; resolves once queued for each. Signed, it goes out
   * in a bundle with what else this node broadcasts in the same turn.
   */
  async broadcast (msg: Extract<Message, { type: 'chat' | 'bytes' }>): Promise<BroadcastResult> {
    if (this.trust.signing) return await this.trust.broadcast({ kind: msg.type, data: payloadOf(msg) }).result
    const fan = this.fanOut(this.originate(msg.type, payloadOf(msg)), () => [{ msg }])
    return await fan.done()
  }

  /** Queues a broadcast for a producer at a high rate: `undefined` when it may go on at once, else what to wait for (a full queue). */
  enqueueBroadcast (msg: Extract<Message, { type: 'chat' | 'bytes' }>): Promise<unknown> | undefined {
    if (this.trust.signing) return this.trust.broadcast({ kind: msg.type, data: payloadOf(msg) }).wait
    return this.fanOut(this.originate(msg.type, payloadOf(msg)), () => [{ msg }]).pending
  }

  /**
   * A message a peer sent over its link, delivered here. With
   * `relayPlainPeers`, what a plain peer sends is broadcast into the overlay
   * as well, in this node's signed bundle, vouched for by it: a line-protocol
   * peer cannot sign. A peer whose kind is not known yet holds back its
   * messages until it is.
   */
  vouch (msg: IncomingMessage): Promise<unknown> | undefined {
    if (!this.opts.relayPlainPeers || !this.trust.signing) return undefined
    const peer = msg.peer
    const kind = this.capabilities.kind(peer.id)
    if (kind === 'pending') return this.capabilities.decision(peer.id).then(() => this.vouch(msg))
    if (kind !== 'plain') return undefined
    const data = msg.type === 'chat' ? Buffer.from(msg.text, 'utf8') : copyOf(msg.data)
    return this.trust.broadcast({ kind: msg.type, data, vouchedFor: { id: peer.id, name: peer.name } }).wait
  }

  /**
   * Sends chat text or bytes to a node that is not connected, through the
   * overlay. Resolves once queued for the first hop.
   * @throws NoRouteError when no route is found within `routeTimeout`
   */
  async sendTo (target: string, msg: Extract<Message, { type: 'chat' | 'bytes' }>): Promise<void> {
    const signing = this.trust.signing
    const via = await this.route(target, signing)
    const route = { type: 'route', target, hops: 1, hopLimit: this.opts.maxHops } as const
    let frame: RouteFrame
    if (signing) {
      const sealed = this.trust.seal(target, msg.type, payloadOf(msg))
      // The route was found, but its reply carried no key: the target signs nothing.
      if (sealed === undefined) throw new NoRouteError(target, this.opts.routeTimeout)
      frame = { ...route, source: { id: this.host.id, name: '' }, kind: 'sealed', payload: sealed }
    } else {
      frame = { ...route, source: { id: this.host.id, name: this.host.name }, kind: msg.type, payload: payloadOf(msg) }
    }
    this.stats.sent.route++
    await this.host.send(via, { type: 'bytes', data: encodeFrame(frame) })
  }

  private get views (): Membership {
    if (this.membership === undefined) throw new NotRunningError()
    return this.membership
  }

  private refOf (peerId: string): PeerRef | undefined {
    const address = this.host.peer(peerId)?.address
    return address === undefined ? undefined : { id: peerId, address }
  }

  private joinIfOverlay (peer: string): Promise<void> | undefined {
    const ref = this.refOf(peer)
    if (!this.joinIntents.has(peer) || this.capabilities.kind(peer) !== 'overlay' || ref === undefined || this.membership === undefined) return undefined
    this.joinIntents.delete(peer)
    return this.run(this.membership.join(ref, performance.now()))
  }

  /**
   * Fills free active slots, and closes overlay connections that membership
   * has no use for: one the other side still counts as a link (after a
   * message lost with a connection) heals when it closes.
   */
  private repair (): void {
    void this.run(this.views.repair(performance.now()))
    for (const peer of this.capabilities.ofKind('overlay')) this.closeIfIdle(peer)
  }

  private decided (peer: string, kind: Exclude<PeerKind, 'pending'>, held: Message[]): void {
    if (kind === 'plain') {
      for (const msg of held) this.sendPlain(peer, msg)
    } else if (this.joinIntents.has(peer)) {
      // With `connect()` waiting, it joins; else the answer came after the timeout.
      if (!this.joinsWaiting.has(peer)) void this.joinIfOverlay(peer)
    } else {
      this.closeIfIdle(peer)
    }
  }

  /** An overlay connection that no neighbour link or request claims within `connectionTimeout` is closed. */
  private closeIfIdle (peer: string): void {
    if (this.membership?.wants(peer) !== false || this.idleTimers.has(peer) || this.joinIntents.has(peer)) return
    this.idleTimers.set(peer, setTimeout(() => {
      this.idleTimers.delete(peer)
      if (this.membership?.wants(peer) === false) this.host.disconnect(peer, new ConnectionClosedError('not an overlay neighbour'))
    }, this.opts.connectionTimeout))
  }

  /** Starts an unsigned broadcast from this node. */
  private originate (kind: Exclude<PayloadKind, 'signed'>, payload: Uint8Array): BroadcastAction[] {
    const message: CachedMessage = {
      type: 'gossip',
      id: randomBytes(12).toString('hex'),
      kind,
      hops: 0,
      hopLimit: this.opts.maxHops,
      origin: { id: this.host.id, name: this.host.name },
      payload
    }
    return this.plumtree.broadcast(message, performance.now())
  }

  /**
   * Sends what starting a broadcast decided, and plain copies to plain peers
   * but their author, each peer through its queue. `plain` makes the copies,
   * only when there is a plain or undecided peer to take them.
   */
  private fanOut (actions: BroadcastAction[], plain: () => PlainCopy[]): FanOut {
    const fan = new FanOut()
    for (const action of actions) {
      if (action.type !== 'send') continue
      const frame: Message = { type: 'bytes', data: encodeFrame(action.frame) }
      for (const peer of action.to) {
        this.stats.sent[action.frame.type]++
        fan.add(peer, () => this.host.send(peer, frame))
      }
    }
    let copies: PlainCopy[] | undefined
    for (const peer of this.capabilities.ofKind('plain')) {
      for (const { msg, author } of copies ??= plain()) {
        if (peer === author) continue
        this.stats.plainSent++
        fan.add(peer, () => this.host.send(peer, msg))
      }
    }
    for (const peer of this.capabilities.ofKind('pending')) {
      for (const { msg } of copies ??= plain()) {
        const wait = this.holdPlain(peer, msg)
        if (wait !== undefined) fan.add(peer, () => wait)
      }
    }
    return fan
  }

  /** Broadcasts a bundle `EndToEnd` has signed. */
  private publishBundle (id: string, bundle: Uint8Array, entries: BundleEntry[]): { result: BroadcastResult, wait: Promise<BroadcastResult> | undefined } {
    const message: CachedMessage = { type: 'gossip', id, kind: 'signed', hops: 0, hopLimit: this.opts.maxHops, origin: { id: this.host.id, name: '' }, payload: bundle }
    const plain = (): PlainCopy[] => entries.flatMap(entry => entry.kind === 'route-request' ? [] : [{ msg: plainCopy(entry.kind, entry.data), author: entry.vouchedFor?.id }])
    const fan = this.fanOut(this.plumtree.broadcast(message, performance.now()), plain)
    return { result: fan.result, wait: fan.pending }
  }

  private onGossip (peer: PeerInfo, frame: GossipFrame, now: number): Promise<void> | undefined {
    const signed = frame.kind === 'signed'
    const duplicate = this.plumtree.has(frame.id, now)
    if (!duplicate && !signed && !this.trust.acceptsUnsigned(peer, 'broadcast', frame.origin.id)) return undefined
    // Copied once, so the cache does not pin the whole chunk it arrived in.
    const message: CachedMessage = { ...frame, payload: copyOf(frame.payload) }
    // A duplicate is not verified: it is neither delivered nor relayed.
    const bundle = signed && !duplicate ? this.trust.openBundle(peer, frame.id, frame.origin.id, message.payload) : undefined
    if (signed && !duplicate && bundle === undefined) return undefined
    const { fresh, actions } = this.plumtree.onGossip(peer.id, message, now)
    if (!fresh) {
      this.stats.duplicates++
      return this.run(actions)
    }
    this.routes.learn(message.origin.id, peer.id, message.hops, now)
    const waits = new Waits()
    const origin = bundle === undefined ? message.origin : { id: message.origin.id, name: bundle.name }
    const entries: BundleEntry[] = bundle?.entries ?? [{ kind: message.kind as BundleEntry['kind'], data: message.payload }]
    let delivered = true
    for (const entry of entries) delivered = this.deliverEntry(entry, peer, origin, message.hops, bundle === undefined ? 'unverified' : 'signed', waits) && delivered
    // A broadcast that cannot be delivered (its peer is closed for it) is not forwarded either.
    if (delivered) waits.add(this.run(actions))
    return waits.done
  }

  /** One message of a broadcast's first arrival: to the application and plain peers, or answered if it asks for a route to us. */
  private deliverEntry (entry: BundleEntry, peer: PeerInfo, author: Origin, hops: number, authenticity: Authenticity, waits: Waits): boolean {
    if (entry.kind === 'route-request') {
      if (lenientUtf8.decode(entry.data) === this.host.id) {
        const reply: RouteReplyFrame = { type: 'route-reply', requester: author.id, target: this.host.id, hops: 1, hopLimit: this.opts.maxHops }
        if (this.trust.linkKey !== undefined) reply.key = this.trust.linkKey
        waits.add(this.forward(reply, author.id, undefined))
      }
      return true
    }
    const vouched = entry.vouchedFor !== undefined && authenticity === 'signed'
    const source = vouched ? { origin: entry.vouchedFor as Origin, hops, authenticity: 'vouched' as const, gateway: author.id } : { origin: author, hops, authenticity }
    const msg = this.incoming(entry.kind, entry.data, peer, source)
    if (msg === undefined) return false
    const plain = msg.type === 'chat' ? { type: 'chat' as const, text: msg.text } : plainCopy('bytes', entry.data)
    this.stats.delivered++
    waits.add(this.host.deliver(msg))
    for (const target of this.capabilities.ofKind('plain')) waits.add(this.sendPlain(target, plain))
    for (const target of this.capabilities.ofKind('pending')) waits.add(this.holdPlain(target, plain))
    return true
  }

  /** Holds a plain copy for an undecided peer; past `maxHeldMessages`, what to wait for: the copy goes once the peer turns out plain. */
  private holdPlain (peer: string, msg: Message): Promise<void> | undefined {
    const held = this.capabilities.hold(peer, msg)
    if (typeof held === 'boolean') return undefined
    return held.then(copy => this.capabilities.kind(peer) === 'plain' ? this.sendPlain(peer, copy) : undefined)
  }

  /** A broadcast or routed payload as the application gets it; `undefined` when it is invalid chat text (its peer is closed then). */
  private incoming (kind: 'chat' | 'bytes', payload: Uint8Array, peer: PeerInfo, source: MessageSource): IncomingMessage | undefined {
    if (kind === 'bytes') return { type: 'bytes', peer, data: new Uint8ArrayList(payload), ...source }
    const text = this.chatText(payload, peer)
    return text === undefined ? undefined : { type: 'chat', peer, text, ...source }
  }

  /** Decodes and checks relayed chat text; a peer that relays something no chat line can be is closed. */
  private chatText (payload: Uint8Array, peer: PeerInfo): string | undefined {
    try {
      const text = utf8.decode(payload)
      assertChatText(text)
      return text
    } catch (err) {
      this.host.disconnect(peer.id, new OverlayFrameError(`invalid chat text: ${(err as Error).message}`))
      return undefined
    }
  }

  /** A routed message for this node: opened if sealed, and handed to the application. */
  private deliverRouted (peer: PeerInfo, frame: RouteFrame): Promise<void> | undefined {
    let msg: IncomingMessage | undefined
    if (frame.kind === 'sealed') {
      const content = this.trust.openSealed(peer, frame.source.id, copyOf(frame.payload))
      if (content === undefined) return undefined
      msg = this.incoming(content.kind, content.data, peer, { origin: { id: frame.source.id, name: content.name }, hops: frame.hops, authenticity: 'signed' })
    } else {
      msg = this.incoming(frame.kind, copyOf(frame.payload), peer, { origin: frame.source, hops: frame.hops, authenticity: 'unverified' })
    }
    if (msg === undefined) return undefined
    this.stats.delivered++
    return this.host.deliver(msg)
  }

  private onRouted (peer: PeerInfo, frame: RouteFrame | RouteReplyFrame | ShuffleReplyFrame, now: number): Promise<void> | undefined {
    const from = peer.id
    switch (frame.type) {
      case 'route': {
        if (frame.kind !== 'sealed' && !this.trust.acceptsUnsigned(peer, 'routed message', frame.source.id)) return undefined
        this.routes.learn(frame.source.id, peer.id, frame.hops, now)
        if (frame.target !== this.host.id) return this.forward(frame, frame.target, peer.id)
        return this.deliverRouted(peer, frame)
      }
      case 'route-reply':
        // Every node on the way checks the key against the id: a reply claiming another key for it goes no further.
        if (frame.key !== undefined && !this.trust.keyClaim(peer, frame.target, frame.key)) return undefined
        this.routes.learn(frame.target, from, frame.hops, now)
        if (frame.requester !== this.host.id) return this.forward(frame, frame.requester, from)
        this.discoveries.get(frame.target)?.resolve(from)
        return undefined
      case 'shuffle-reply':
        if (frame.target !== this.host.id) return this.forward(frame, frame.target, from)
        this.views.shuffleReply(frame.entries)
        return undefined
    }
  }

  /**
   * Sends a routed frame one hop closer to `target`. `from` is the neighbour
   * it came from, or `undefined` when it starts here (then its `hops` is 1 already).
   */
  private forward (frame: RouteFrame | RouteReplyFrame | ShuffleReplyFrame, target: string, from: string | undefined): Promise<void> | undefined {
    const limit = Math.min(frame.type === 'shuffle-reply' ? this.opts.maxHops : frame.hopLimit, this.opts.maxHops)
    const next = this.nextHop(target)
    if ((from !== undefined && frame.hops >= limit) || next === undefined || next === from) {
      this.stats.routeDrops++
      return undefined
    }
    return this.sendFrame(next, from === undefined ? frame : { ...frame, hops: frame.hops + 1 })
  }

  private nextHop (target: string): string | undefined {
    if (this.capabilities.kind(target) === 'overlay') return target
    return this.routes.nextHop(target, performance.now())
  }

  /**
   * Resolves with the neighbour to send to for `target`, asking the overlay
   * for a route if none is known, or if the target's key is needed and not
   * known (the route reply carries it).
   */
  private async route (target: string, needKey: boolean): Promise<string> {
    const known = this.nextHop(target)
    if (known !== undefined && (!needKey || this.trust.keys.linkKey(target) !== undefined)) return known
    let discovery = this.discoveries.get(target)
    if (discovery === undefined) {
      let settle: Pick<Discovery, 'resolve' | 'reject'> = { resolve: () => {}, reject: () => {} }
      const promise = new Promise<string>((resolve, reject) => { settle = { resolve, reject } })
      const timer = setTimeout(() => { settle.reject(new NoRouteError(target, this.opts.routeTimeout)) }, this.opts.routeTimeout)
      const done = (): void => {
        clearTimeout(timer)
        this.discoveries.delete(target)
      }
      promise.then(done, done)
      discovery = { promise, timer, ...settle }
      this.discoveries.set(target, discovery)
      const request = Buffer.from(target, 'utf8')
      if (this.trust.signing) this.trust.broadcast({ kind: 'route-request', data: request }).result.catch(() => {})
      else void this.run(this.originate('route-request', request))
    }
    return await discovery.promise
  }

  /** Carries out what the cores decided. */
  private run (actions: ReadonlyArray<MembershipAction | BroadcastAction>): Promise<void> | undefined {
    const waits = new Waits()
    for (const action of actions) {
      switch (action.type) {
        case 'send': {
          // Membership sends to one peer, broadcast to several: either way the frame is encoded once.
          const msg: Message = { type: 'bytes', data: encodeFrame(action.frame) }
          for (const peer of typeof action.to === 'string' ? [action.to] : action.to) {
            this.stats.sent[action.frame.type]++
            waits.add(this.sendMessage(peer, msg))
          }
          break
        }
        case 'route': waits.add(this.forward(action.frame, action.to, undefined)); break
        case 'dial': this.dial(action.peer, action.request); break
        case 'disconnect':
          waits.add(this.sendFrame(action.peer, { type: 'disconnect' }))
          this.host.disconnect(action.peer, new ConnectionClosedError('dropped from the active view'))
          break
        case 'close':
          if (this.host.peer(action.peer) !== undefined) this.host.disconnect(action.peer, new ConnectionClosedError('not an overlay neighbour'))
          break
        case 'up':
          clearTimeout(this.idleTimers.get(action.peer))
          this.idleTimers.delete(action.peer)
          waits.add(this.run(this.plumtree.neighborUp(action.peer, performance.now(), action.leaf)))
          break
        case 'down': this.plumtree.neighborDown(action.peer); break
        case 'schedule': this.schedule(action.id, action.delay); break
        case 'cancel':
          clearTimeout(this.graftTimers.get(action.id))
          this.graftTimers.delete(action.id)
          break
      }
    }
    return waits.done
  }

  private schedule (id: string, delay: number): void {
    clearTimeout(this.graftTimers.get(id))
    this.graftTimers.set(id, setTimeout(() => {
      this.graftTimers.delete(id)
      void this.run(this.plumtree.timeout(id, performance.now()))
    }, delay))
  }

  /** Connects to a passive-view node (unless connected) and sends it a neighbour request. */
  private dial (peer: PeerRef, request: OverlayFrame): void {
    if (this.host.peer(peer.id) !== undefined) {
      void this.sendFrame(peer.id, request)
      return
    }
    this.host.dial(peer.address).then(info => {
      // Another node listens there now: the request for the one we meant has failed.
      if (info.id !== peer.id) throw new ConnectionClosedError(`${peer.address} is now ${info.id}`)
      void this.sendFrame(info.id, request)
    }).catch(() => {
      // A dial that lost a crossing-dial tie-break fails, but the peer's own connection is up: use it.
      if (this.host.peer(peer.id) !== undefined) void this.sendFrame(peer.id, request)
      else if (this.membership !== undefined) void this.run(this.membership.requestFailed(peer.id, performance.now()))
    })
  }

  private sendFrame (peer: string, frame: OverlayFrame): Promise<void> | undefined {
    this.stats.sent[frame.type]++
    return this.sendMessage(peer, { type: 'bytes', data: encodeFrame(frame) })
  }

  private sendPlain (peer: string, msg: Message): Promise<void> | undefined {
    this.stats.plainSent++
    return this.sendMessage(peer, msg)
  }

  /** Queues a message; a failure needs no handling here, as the peer's disconnect follows. */
  private sendMessage (peer: string, msg: Message): Promise<void> | undefined {
    try {
      return this.host.send(peer, msg)?.catch(() => {})
    } catch {
      return undefined
    }
  }

}

/** The payload of chat text or bytes the application sends, as a copy of its own. */
function payloadOf (msg: Extract<Message, { type: 'chat' | 'bytes' }>): Uint8Array {
  return msg.type === 'chat' ? Buffer.from(msg.text, 'utf8') : copyOf(msg.data)
}

/** A copy of a broadcast for plain peers, and the plain peer that wrote it (who does not get it back). */
interface PlainCopy { msg: Message, author?: string | undefined }

/** A broadcast message as a plain peer gets it. */
function plainCopy (kind: 'chat' | 'bytes', data: Uint8Array): Message {
  return kind === 'chat' ? { type: 'chat', text: utf8.decode(data) } : { type: 'bytes', data }
}

/** A payload as one contiguous copy of its own. */
function copyOf (data: Uint8Array | Uint8ArrayList): Uint8Array {
  return data.slice()
}

/**
 * HyParView membership (Leitão, Pereira, Rodrigues: "HyParView: a membership
 * protocol for reliable gossip-based broadcast", 2007) as a pure, synchronous
 * state machine: events in, actions out. The driver owns connections and
 * timers and reports back what happened.
 *
 * - The *active view* is a small symmetric set of neighbours, one connection
 *   each; broadcasts travel only on these links.
 * - The *passive view* is a larger set of known nodes (id and address), kept
 *   fresh by periodic *shuffles* (a sample of both views sent on a random
 *   walk and answered with a sample of the last walker's passive view).
 * - A newcomer sends JOIN to one contact, which forwards the newcomer on
 *   random walks (FORWARD_JOIN); the last node of each walk takes it as a
 *   neighbour, and nodes part-way remember it in their passive view.
 * - A failed neighbour is replaced from the passive view with NEIGHBOR
 *   requests: `high` priority (must be accepted) while two or more active
 *   slots are free, `low` (accepted only with room) for the last one. The
 *   paper insists only with an empty view; in the scale bench, drops during
 *   fast joins and crashes then left small groups (pairs, fours) holding only
 *   each other, refused by every full node for ever. A full node that accepts
 *   drops one neighbour, which is left with one free slot and so does not
 *   insist in turn: it never cascades.
 * - A newcomer shuffles through its contact right after joining: joins can
 *   come much faster than the shuffle interval, and a node that knows no one
 *   beyond its neighbours cannot repair.
 * - A partition that heals leaves each side with full views and nothing to
 *   bring the sides together: walks and shuffles stay on their own side.
 *   So a node remembers the nodes it lost without a DISCONNECT (a neighbour
 *   whose connection died, a passive node it could not dial) for
 *   `lostRetryTime`, and at each shuffle tries one of them again, with a
 *   `high` request: one link across joins the sides. A lost node that is
 *   up again makes each side drop one neighbour, which refills its slot,
 *   and the node forgets the others it lost: once per node and heal.
 * - A neighbour that does not listen (a browser page, whose address is a
 *   `dialOnlyAddress()`) is a *leaf*: it is in the active view, so
 *   broadcasts reach it, but it takes no slot there (`activeViewSize`
 *   counts the others, `maxPeers` bounds them all), is never dropped to make
 *   room, and is never forwarded, shuffled, sent a random walk or kept in a
 *   passive view, as no one can dial it. A leaf itself repairs nothing.
 */
import type { MembershipFrame, NeighborFrame, PeerRef, ShuffleFrame, ShuffleReplyFrame } from './overlay-protocol.js'
import { isDialOnlyAddress } from '../../transforms/core/line-protocol.js'

export interface MembershipOptions {
  activeViewSize: number
  passiveViewSize: number
  activeWalkLength: number
  passiveWalkLength: number
  shuffleActive: number
  shufflePassive: number
  shuffleWalkLength: number
  /** How long a neighbour request may wait for its answer, in ms. */
  requestTimeout: number
  /** How long a node that refused a low-priority request is not asked again, in ms. */
  refusalMemory: number
  /** How long a node lost without a DISCONNECT is tried again, one per `retryLost()`, in ms. */
  lostRetryTime: number
  random: () => number
}

export type MembershipAction =
  /** Send a frame on the connection to a peer. */
  | { type: 'send', to: string, frame: MembershipFrame }
  /** Send a shuffle reply towards `to`, which may not be a neighbour (route it). */
  | { type: 'route', to: string, frame: ShuffleReplyFrame }
  /** Connect to `peer` (or use the connection there is) and send it a NEIGHBOR request. */
  | { type: 'dial', peer: PeerRef, request: NeighborFrame }
  /** Send DISCONNECT to a dropped neighbour, then close the connection. */
  | { type: 'disconnect', peer: string }
  /** Close the connection to a peer that is not (or no longer) a neighbour. */
  | { type: 'close', peer: string }
  /** A peer became an active neighbour; `leaf` if it does not listen (see above). */
  | { type: 'up', peer: string, leaf: boolean }
  /** A peer stopped being an active neighbour. */
  | { type: 'down', peer: string }

interface Request {
  /** When the request was made (driver clock, ms). */
  since: number
  /** Whether it was sent with `high` priority. */
  insists: boolean
}

export class Membership {
  /** Neighbours: id to listen address. */
  readonly active = new Map<string, string>()
  /** Known nodes to repair from: id to listen address. */
  readonly passive = new Map<string, string>()
  /** Our NEIGHBOR requests in flight (dialling or waiting for the answer). */
  private readonly requests = new Map<string, Request>()
  /** Ids we sent in our last shuffle: the first to make room for what comes back. */
  private lastShuffle = new Set<string>()
  /**
   * When passive nodes refused us (their views are full). Asking them again
   * at every repair would cost a connection each time for nothing.
   */
  private readonly refusedAt = new Map<string, number>()
  /** Nodes lost without a DISCONNECT: their address and when they were lost. At most `passiveViewSize`. */
  private readonly lost = new Map<string, { address: string, since: number }>()

  constructor (readonly self: PeerRef, private readonly opts: MembershipOptions) {}

  /** Whether the overlay has a use for a connection to this peer (neighbour, or asked to be one). */
  wants (peer: string): boolean {
    return this.active.has(peer) || this.requests.has(peer)
  }

  /**
   * Joins the overlay through `contact`, a connected overlay node. A node
   * with neighbours already asks the contact to be one instead.
   */
  join (contact: PeerRef, now: number): MembershipAction[] {
    if (contact.id === this.self.id || this.wants(contact.id)) return []
    if (this.active.size > 0) return this.request(contact, 'low', now)
    return [{ type: 'send', to: contact.id, frame: { type: 'join' } }, ...this.addActive(contact), ...this.shuffle()]
  }

  /** A membership frame from a connected peer. */
  receive (from: PeerRef, frame: Exclude<MembershipFrame, ShuffleReplyFrame>, now: number): MembershipAction[] {
    switch (frame.type) {
      case 'join': return this.onJoin(from)
      case 'forward-join': return this.onForwardJoin(from, frame.ttl, frame.peer, now)
      case 'neighbor': return this.onNeighbor(from, frame.priority)
      case 'neighbor-reply': return this.onNeighborReply(from, frame.accepted, now)
      case 'disconnect': return this.onDisconnect(from, now)
      case 'shuffle': return this.onShuffle(from, frame)
    }
  }

  /** The answer to our last shuffle, routed back to us. */
  shuffleReply (entries: readonly PeerRef[]): void {
    this.integrate(entries, this.lastShuffle)
  }

  /** The connection to a peer closed, or could not be made: a neighbour that fails is not kept. */
  disconnected (peer: string, now: number): MembershipAction[] {
    const requested = this.requests.delete(peer)
    if (requested) this.passive.delete(peer)
    const address = this.active.get(peer)
    if (address === undefined) return requested ? this.repair(now) : []
    this.active.delete(peer)
    this.remember(peer, address, now)
    return [{ type: 'down', peer }, ...this.repair(now)]
  }

  /** A neighbour request could not be sent (the dial failed): that node is taken for gone, and another asked. */
  requestFailed (peer: string, now: number): MembershipAction[] {
    if (!this.requests.delete(peer)) return []
    const address = this.passive.get(peer) ?? this.lost.get(peer)?.address
    this.passive.delete(peer)
    if (address !== undefined) this.remember(peer, address, now)
    return this.repair(now)
  }

  /** Asks one node lost within `lostRetryTime` again, insisting (see the class comment). */
  retryLost (now: number): MembershipAction[] {
    for (const [peer, { since }] of this.lost) {
      if (now - since >= this.opts.lostRetryTime || this.active.has(peer)) this.lost.delete(peer)
    }
    if (isDialOnlyAddress(this.self.address)) return []
    const peer = this.pick([...this.lost.keys()].filter(id => !this.requests.has(id)))
    if (peer === undefined) return []
    return this.request({ id: peer, address: (this.lost.get(peer) as { address: string }).address }, 'high', now)
  }

  /**
   * Gives up requests unanswered for `requestTimeout`, then asks random
   * passive nodes (but `exclude`) to fill the free active slots.
   */
  repair (now: number, exclude?: string): MembershipAction[] {
    const actions: MembershipAction[] = []
    for (const [peer, request] of this.requests) {
      if (now - request.since < this.opts.requestTimeout) continue
      this.requests.delete(peer)
      if (!this.active.has(peer)) actions.push({ type: 'close', peer })
    }
    for (const [peer, at] of this.refusedAt) {
      if (now - at >= this.opts.refusalMemory || !this.passive.has(peer)) this.refusedAt.delete(peer)
    }
    // A leaf cannot dial: it keeps the neighbours it was connected to.
    if (isDialOnlyAddress(this.self.address)) return actions
    let room = this.opts.activeViewSize - this.slotsTaken() - this.requests.size
    if (room <= 0) return actions
    const minimum = this.opts.activeViewSize - 1
    let insisting = [...this.requests.values()].filter(request => request.insists).length
    const free = [...this.passive.keys()].filter(id => id !== exclude && !this.requests.has(id))
    for (const id of this.sample(free, free.length)) {
      if (room === 0) break
      const insist = this.slotsTaken() + insisting < minimum
      // A node that refused a low-priority request must take a high one.
      if (!insist && this.refusedAt.has(id)) continue
      if (insist) insisting++
      room--
      actions.push(...this.request({ id, address: this.passive.get(id) as string }, insist ? 'high' : 'low', now))
    }
    return actions
  }

  /** Starts a shuffle with a random neighbour. */
  shuffle (): MembershipAction[] {
    const target = this.pick(this.dialable())
    if (target === undefined) return []
    const entries: PeerRef[] = [
      this.self,
      ...this.sample(this.dialable().filter(id => id !== target), this.opts.shuffleActive).map(id => this.ref(id, this.active)),
      ...this.sample([...this.passive.keys()], this.opts.shufflePassive).map(id => this.ref(id, this.passive))
    ]
    this.lastShuffle = new Set(entries.map(entry => entry.id))
    const frame: ShuffleFrame = { type: 'shuffle', ttl: this.opts.shuffleWalkLength, hops: 1, origin: this.self.id, entries }
    return [{ type: 'send', to: target, frame }]
  }

  private onJoin (from: PeerRef): MembershipAction[] {
    if (this.active.has(from.id)) return []
    const actions = this.addActive(from)
    if (isDialOnlyAddress(from.address)) return actions
    for (const peer of this.active.keys()) {
      if (peer !== from.id) actions.push({ type: 'send', to: peer, frame: { type: 'forward-join', ttl: this.opts.activeWalkLength, peer: from } })
    }
    return actions
  }

  private onForwardJoin (from: PeerRef, ttl: number, newcomer: PeerRef, now: number): MembershipAction[] {
    if (newcomer.id === this.self.id) return []
    if (ttl > 0 && this.slotsTaken() > 1) {
      if (ttl === this.opts.passiveWalkLength) this.addPassive(newcomer)
      const next = this.pick(this.dialable().filter(id => id !== from.id && id !== newcomer.id))
      if (next !== undefined) return [{ type: 'send', to: next, frame: { type: 'forward-join', ttl: ttl - 1, peer: newcomer } }]
    }
    // The walk ends here: take the newcomer as a neighbour; it must accept.
    if (this.wants(newcomer.id)) return []
    return this.request(newcomer, 'high', now)
  }

  private onNeighbor (from: PeerRef, priority: 'high' | 'low'): MembershipAction[] {
    const accept = this.active.has(from.id) || priority === 'high' || this.slotsTaken() < this.opts.activeViewSize
    const reply: MembershipAction = { type: 'send', to: from.id, frame: { type: 'neighbor-reply', accepted: accept } }
    if (!accept) {
      this.addPassive(from)
      return [reply]
    }
    return [reply, ...this.addActive(from)]
  }

  private onNeighborReply (from: PeerRef, accepted: boolean, now: number): MembershipAction[] {
    if (!this.requests.delete(from.id)) return []
    if (accepted) return this.addActive(from)
    // Still a good node to know; the next repair asks another one.
    this.addPassive(from)
    this.refusedAt.set(from.id, now)
    return this.active.has(from.id) ? [] : [{ type: 'close', peer: from.id }]
  }

  /**
   * A neighbour dropped us to make room. Unlike the paper we refill the slot
   * at once (the request is `low` unless we have no neighbour left, so it
   * never makes anyone drop another): joins drop links all the time, and
   * degrees left to decay until the next failure split small groups off.
   */
  private onDisconnect (from: PeerRef, now: number): MembershipAction[] {
    if (!this.active.delete(from.id)) return []
    this.addPassive(from)
    return [{ type: 'down', peer: from.id }, { type: 'close', peer: from.id }, ...this.repair(now, from.id)]
  }

  private onShuffle (from: PeerRef, frame: ShuffleFrame): MembershipAction[] {
    if (frame.origin === this.self.id) return []
    if (frame.ttl > 1 && this.slotsTaken() > 1) {
      const next = this.pick(this.dialable().filter(id => id !== from.id && id !== frame.origin))
      if (next !== undefined) return [{ type: 'send', to: next, frame: { ...frame, ttl: frame.ttl - 1, hops: frame.hops + 1 } }]
    }
    const reply = this.sample([...this.passive.keys()], frame.entries.length).map(id => this.ref(id, this.passive))
    this.integrate(frame.entries, new Set(reply.map(entry => entry.id)))
    return [{ type: 'route', to: frame.origin, frame: { type: 'shuffle-reply', target: frame.origin, hops: 1, entries: reply } }]
  }

  private request (peer: PeerRef, priority: 'high' | 'low', now: number): MembershipAction[] {
    this.requests.set(peer.id, { since: now, insists: priority === 'high' })
    return [{ type: 'dial', peer, request: { type: 'neighbor', priority } }]
  }

  /** Active neighbours that can be dialled: all but the leaves. */
  private dialable (): string[] {
    return [...this.active].filter(([, address]) => !isDialOnlyAddress(address)).map(([id]) => id)
  }

  /** Active slots taken: leaves take none. */
  private slotsTaken (): number {
    return this.dialable().length
  }

  /** Adds a neighbour, dropping a random one (never a leaf) if the view is full; a leaf needs no room. */
  private addActive (peer: PeerRef): MembershipAction[] {
    if (peer.id === this.self.id || this.active.has(peer.id)) return []
    const actions: MembershipAction[] = []
    if (!isDialOnlyAddress(peer.address) && this.slotsTaken() >= this.opts.activeViewSize) {
      const dropped = this.ref(this.pick(this.dialable()) as string, this.active)
      this.active.delete(dropped.id)
      this.addPassive(dropped)
      actions.push({ type: 'down', peer: dropped.id }, { type: 'disconnect', peer: dropped.id })
    }
    this.passive.delete(peer.id)
    // A lost node back as a neighbour joins this node's side to its own: the others need not be tried.
    if (this.lost.has(peer.id)) this.lost.clear()
    this.active.set(peer.id, peer.address)
    actions.push({ type: 'up', peer: peer.id, leaf: isDialOnlyAddress(peer.address) })
    return actions
  }

  /** A node lost without a DISCONNECT; one lost already keeps the time it was first lost. */
  private remember (peer: string, address: string, now: number): void {
    if (isDialOnlyAddress(address) || this.lost.has(peer) || this.opts.passiveViewSize === 0) return
    if (this.lost.size >= this.opts.passiveViewSize) this.lost.delete(this.lost.keys().next().value as string)
    this.lost.set(peer, { address, since: now })
  }

  private addPassive (peer: PeerRef): void {
    this.integrate([peer], new Set())
  }

  /** Adds nodes to the passive view, making room by evicting `preferred` ones first, then random ones. */
  private integrate (entries: readonly PeerRef[], preferred: ReadonlySet<string>): void {
    if (this.opts.passiveViewSize === 0) return
    for (const entry of entries) {
      if (entry.id === this.self.id || this.active.has(entry.id) || isDialOnlyAddress(entry.address)) continue
      if (this.passive.has(entry.id)) {
        this.passive.set(entry.id, entry.address)
        continue
      }
      if (this.passive.size >= this.opts.passiveViewSize) {
        const ids = [...this.passive.keys()]
        const victim = ids.find(id => preferred.has(id)) ?? this.pick(ids) as string
        this.passive.delete(victim)
      }
      this.passive.set(entry.id, entry.address)
    }
  }

  private ref (id: string, view: Map<string, string>): PeerRef {
    return { id, address: view.get(id) as string }
  }

  private pick<T> (items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.opts.random() * items.length)]
  }

  /** Up to `count` distinct random items (partial Fisher-Yates). */
  private sample<T> (items: T[], count: number): T[] {
    const n = Math.min(count, items.length)
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.opts.random() * (items.length - i))
      const swap = items[i] as T
      items[i] = items[j] as T
      items[j] = swap
    }
    return items.slice(0, n)
  }
}

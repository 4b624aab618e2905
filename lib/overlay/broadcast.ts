/**
 * Plumtree (Leitão, Pereira, Rodrigues: "Epidemic Broadcast Trees", 2007)
 * as a pure, synchronous state machine: events in, actions out, no timers
 * and no I/O. The driver sends what it is told and calls `timeout()` when a
 * scheduled timer fires.
 *
 * A neighbour starts as an *eager* link (payloads are pushed to it). A
 * payload that arrives twice turns the link it came on *lazy* on both sides
 * (PRUNE), so the eager links settle into a spanning tree and a broadcast
 * costs about N-1 payload transmissions. The first broadcast floods every
 * eager link before the prunes, so only the first `initialEagerLinks`
 * neighbours start eager and the others lazy; the optimisation below then
 * grafts the lazy links that shorten the tree. In the simulator at N=1,000
 * with 10 neighbours: 8-9 hops to the last node at p50 and 1.044 × (N-1)
 * payloads over 100 broadcasts with 6 eager at first, 7 hops and 1.08 ×
 * with all 10 (12 hops with 5 neighbours). Lazy links carry only ids (IHAVE);
 * a node that hears of an id but not its payload within `graftTimeout`
 * pulls it (GRAFT), which also turns that link eager again and so repairs
 * the tree around failed nodes.
 *
 * One race the paper leaves open: a node that prunes a link and then gets a
 * first copy over it (sent before our PRUNE arrived) makes the link eager on
 * its side, but the other side then reads the PRUNE and stops pushing. With
 * broadcasts in flight from several origins this cut nodes off the tree for
 * good, each payload then pulled by GRAFT. Such a node also sends a GRAFT
 * without an id, which the other side reads after the PRUNE.
 *
 * And one the paper does not cover: after many nodes fail, the tree falls
 * into fragments that GRAFTs join at several points at once. The duplicates
 * that follow prune those links again, and with broadcasts from several
 * origins in flight two prunes can cut the same cycle twice: in the scale
 * bench the tree never re-formed while broadcasts kept coming. A link made
 * eager by a GRAFT (either end) is therefore not pruned for `graftHoldTime`.
 *
 * The tree is optimised by hop counts, as the paper proposes: a lazy link
 * whose IHAVEs announce broadcasts at fewer hops than the eager link they
 * came on is grafted, and that eager link pruned. The swap keeps a tree
 * (the announcer got its copy by another way than through this node). The
 * paper swaps on one announcement some hops shorter; with broadcasts from
 * many origins that chases each origin in turn, and the tree drifts (in
 * simulation at N=1000: 12 hops to the last node at p50 without it, 14 to
 * 25 with it, whatever the threshold). Here the saving is averaged over
 * `optimizationSamples` broadcasts that came over the same eager link and
 * were announced by the same lazy one. Their origins are a sample of the
 * nodes on that side of the tree, so a switch shortens the paths to that
 * side on average, and the tree settles instead of drifting.
 */
import { MessageCache, type CachedMessage, type MessageCacheOptions } from './message-cache.js'
import { type BroadcastFrame, type GossipFrame, MAX_OVERLAY_LIST_ENTRIES } from './overlay-protocol.js'

export interface PlumtreeOptions extends MessageCacheOptions {
  /** Wait after the first IHAVE for a missing payload before sending GRAFT, in ms. */
  graftTimeout: number
  /** Wait after a GRAFT before asking the next announcer, in ms. */
  graftRetryTimeout: number
  /** Highest hop limit honoured; a frame asking for more is cut to this. */
  maxHops: number
  /** How long a link made eager by a GRAFT is not pruned, in ms. */
  graftHoldTime: number
  /** Hops a lazy link must save on average over an eager one for the tree to switch to it; 0 never switches. */
  optimizationThreshold: number
  /** Broadcasts over the same two links compared before the tree may switch. */
  optimizationSamples: number
  /** Eager links below which a new neighbour starts eager; past them it starts lazy. */
  initialEagerLinks: number
}

/** A lazy neighbour that announced a broadcast, and the hops the payload would have had from it. */
interface Announcement {
  peer: string
  hops: number
}

export type BroadcastAction =
  /** Send `frame` to each of `to` (one encoding serves them all). */
  | { type: 'send', to: string[], frame: BroadcastFrame }
  /** Call `timeout(id)` after `delay` ms, replacing any timer for `id`. */
  | { type: 'schedule', id: string, delay: number }
  /** The timer for `id` is no longer needed. */
  | { type: 'cancel', id: string }

export class Plumtree {
  /** Neighbours that get payloads pushed. */
  readonly eager = new Set<string>()
  /** Neighbours that get only ids. */
  readonly lazy = new Set<string>()
  private readonly cache: MessageCache
  /** Ids announced but not received, with their announcements, first come first asked. */
  private readonly missing = new Map<string, Announcement[]>()
  /**
   * Hops a lazy link saved over an eager one, summed over the broadcasts
   * that came over the eager link and were announced by the lazy one; keyed
   * `<eager> <lazy>`, at most one per pair of neighbours.
   */
  private readonly savings = new Map<string, { total: number, count: number }>()
  /** Links made eager by a GRAFT, and until when they are kept so. */
  private readonly held = new Map<string, number>()

  constructor (private readonly opts: PlumtreeOptions) {
    this.cache = new MessageCache(opts)
  }

  /**
   * A new neighbour: push to it (eagerly while there are few eager links),
   * and tell it what it may have missed. A `leaf` (a page, which links to
   * one node or few) is always eager: it has no other way to the payloads.
   */
  neighborUp (peer: string, now: number, leaf = false): BroadcastAction[] {
    this.eager.delete(peer)
    this.lazy.delete(peer)
    if (leaf || this.eager.size < this.opts.initialEagerLinks) this.eager.add(peer)
    else this.lazy.add(peer)
    const recent = this.cache.recent(now, MAX_OVERLAY_LIST_ENTRIES)
    if (recent.length === 0) return []
    return [{ type: 'send', to: [peer], frame: { type: 'ihave', ids: recent.map(({ id, hops }) => ({ id, hops })) } }]
  }

  neighborDown (peer: string): void {
    this.eager.delete(peer)
    this.lazy.delete(peer)
    this.held.delete(peer)
    for (const key of this.savings.keys()) {
      if (key.split(' ').includes(peer)) this.savings.delete(key)
    }
    for (const announcers of this.missing.values()) {
      const index = announcers.findIndex(announcement => announcement.peer === peer)
      if (index >= 0) announcers.splice(index, 1)
    }
  }

  /** Starts a broadcast from this node (`message.hops` is 0). */
  broadcast (message: CachedMessage, now: number): BroadcastAction[] {
    this.cache.add(message, now)
    return this.push(message, undefined)
  }

  /**
   * A broadcast payload from a neighbour. `fresh` says whether it is the
   * first copy, to be delivered before the actions are carried out.
   */
  onGossip (from: string, message: CachedMessage, now: number): { fresh: boolean, actions: BroadcastAction[] } {
    if (!this.cache.add(message, now, from)) {
      if ((this.held.get(from) ?? 0) > now) return { fresh: false, actions: [] }
      this.held.delete(from)
      // A second copy: the link it came on is not needed in the tree.
      this.makeLazy(from)
      return { fresh: false, actions: [{ type: 'send', to: [from], frame: { type: 'prune' } }] }
    }
    const actions: BroadcastAction[] = []
    const announced = this.missing.get(message.id)
    if (this.missing.delete(message.id)) actions.push({ type: 'cancel', id: message.id })
    if (this.lazy.has(from)) actions.push({ type: 'send', to: [from], frame: { type: 'graft' } })
    actions.push(...this.push(message, from))
    if (this.isNeighbor(from)) {
      this.lazy.delete(from)
      this.eager.add(from)
    }
    for (const announcement of announced ?? []) actions.push(...this.compare(announcement, from, message.hops, now))
    return { fresh: true, actions }
  }

  onIHave (from: string, ids: ReadonlyArray<{ id: string, hops: number }>, now: number): BroadcastAction[] {
    const actions: BroadcastAction[] = []
    for (const { id, hops } of ids) {
      if (this.cache.has(id, now)) {
        const arrival = this.cache.arrival(id, now)
        if (arrival !== undefined) actions.push(...this.compare({ peer: from, hops }, arrival.from, arrival.hops, now))
        continue
      }
      const announcers = this.missing.get(id)
      if (announcers !== undefined) {
        if (!announcers.some(announcement => announcement.peer === from)) announcers.push({ peer: from, hops })
        continue
      }
      if (this.missing.size >= this.opts.maxSeenMessages) {
        // Bounded like the seen set: the oldest wait is given up.
        const oldest = this.missing.keys().next().value as string
        this.missing.delete(oldest)
        actions.push({ type: 'cancel', id: oldest })
      }
      this.missing.set(id, [{ peer: from, hops }])
      actions.push({ type: 'schedule', id, delay: this.opts.graftTimeout })
    }
    return actions
  }

  /** The timer for a missing id fired: pull the payload from the next announcer. */
  timeout (id: string, now: number): BroadcastAction[] {
    const announcers = this.missing.get(id)
    if (announcers === undefined) return []
    const peer = announcers.shift()?.peer
    if (peer === undefined || this.cache.has(id, now)) {
      this.missing.delete(id)
      return []
    }
    // An announcer that is not a neighbour (any connected overlay peer may send IHAVE) still serves the payload, but joins no tree.
    if (this.isNeighbor(peer)) {
      this.lazy.delete(peer)
      this.eager.add(peer)
      this.held.set(peer, now + this.opts.graftHoldTime)
    }
    return [
      { type: 'send', to: [peer], frame: { type: 'graft', id } },
      { type: 'schedule', id, delay: this.opts.graftRetryTimeout }
    ]
  }

  /** A GRAFT: push eagerly to its sender, and send it the payload it names, if cached. */
  onGraft (from: string, id: string | undefined, now: number): BroadcastAction[] {
    if (this.isNeighbor(from)) {
      this.lazy.delete(from)
      this.eager.add(from)
      this.held.set(from, now + this.opts.graftHoldTime)
    }
    const message = id === undefined ? undefined : this.cache.get(id, now)
    if (message === undefined) return []
    return [{ type: 'send', to: [from], frame: { ...message, hops: message.hops + 1 } }]
  }

  onPrune (from: string): void {
    this.makeLazy(from)
  }

  /** Whether a broadcast was seen (so a copy of it is a duplicate). */
  has (id: string, now: number): boolean {
    return this.cache.has(id, now)
  }

  /** Ids waiting for their payload. */
  get missingCount (): number {
    return this.missing.size
  }

  private push (message: CachedMessage, from: string | undefined): BroadcastAction[] {
    if (message.hops >= Math.min(message.hopLimit, this.opts.maxHops)) return []
    // Not back to its author either: a copy there is wasted, and the PRUNE it
    // sets off, racing a PRUNE elsewhere, cut nodes off the tree in bursts.
    const onward = (peer: string): boolean => peer !== from && peer !== message.origin.id
    const eager = [...this.eager].filter(onward)
    const lazy = [...this.lazy].filter(onward)
    const actions: BroadcastAction[] = []
    const hops = message.hops + 1
    if (eager.length > 0) actions.push({ type: 'send', to: eager, frame: { ...message, hops } satisfies GossipFrame })
    if (lazy.length > 0) actions.push({ type: 'send', to: lazy, frame: { type: 'ihave', ids: [{ id: message.id, hops }] } })
    return actions
  }

  /**
   * One comparison for the tree optimisation: a broadcast came over the
   * eager link `from` at `hops`, and a lazy link announced it. Past
   * `optimizationSamples` comparisons of the same two links, the tree
   * switches to the lazy one if it saved `optimizationThreshold` hops or
   * more on average.
   */
  private compare (announcement: Announcement, from: string, hops: number, now: number): BroadcastAction[] {
    const peer = announcement.peer
    if (this.opts.optimizationThreshold === 0 || !this.lazy.has(peer) || !this.eager.has(from)) return []
    const key = `${from} ${peer}`
    const savings = this.savings.get(key) ?? { total: 0, count: 0 }
    savings.total += hops - announcement.hops
    savings.count++
    if (savings.count < this.opts.optimizationSamples) {
      this.savings.set(key, savings)
      return []
    }
    this.savings.delete(key)
    if (savings.total < this.opts.optimizationThreshold * savings.count || (this.held.get(from) ?? 0) > now) return []
    this.lazy.delete(peer)
    this.eager.add(peer)
    this.makeLazy(from)
    // The tree changed: what was measured against it no longer holds.
    this.savings.clear()
    return [
      { type: 'send', to: [peer], frame: { type: 'graft' } },
      { type: 'send', to: [from], frame: { type: 'prune' } }
    ]
  }

  private isNeighbor (peer: string): boolean {
    return this.eager.has(peer) || this.lazy.has(peer)
  }

  private makeLazy (peer: string): void {
    if (!this.isNeighbor(peer)) return
    this.eager.delete(peer)
    this.lazy.add(peer)
  }
}

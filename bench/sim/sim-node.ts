/**
 * One simulated overlay node: meshline's own membership (HyParView),
 * broadcast (Plumtree) and routing cores, driven on a virtual clock over
 * simulated links. It does what `lib/overlay/overlay.ts` does with the
 * cores' actions, minus what a simulation has no use for: encoding,
 * capabilities, end-to-end trust, plain peers and the application's
 * backpressure.
 */
import { Plumtree, type BroadcastAction } from '../../lib/overlay/broadcast.js'
import type { CachedMessage } from '../../lib/overlay/message-cache.js'
import { Membership, type MembershipAction } from '../../lib/overlay/membership.js'
import type { OverlayFrame, PeerRef } from '../../lib/overlay/overlay-protocol.js'
import { RoutingTable } from '../../lib/overlay/routing.js'
import type { ResolvedOverlayOptions } from '../../lib/options/overlay-options.js'
import type { Timer, VirtualClock } from './clock.js'
import type { Endpoint, SimNetwork } from './network.js'

export type SimFrame = Exclude<OverlayFrame, { type: 'caps' | 'route' | 'route-reply' }>

/** Frames sent by every node, by kind. */
export interface SimCounters {
  payload: number
  /** IHAVE, GRAFT and PRUNE. */
  control: number
  /** Membership frames, shuffle replies included. */
  membership: number
}

export interface SimNodeOptions extends ResolvedOverlayOptions {
  /** How long a neighbour request may wait for its answer, and an unused connection stays open, in ms. */
  connectionTimeout: number
}

export const idOf = (index: number): string => `n${index}`
const indexOf = (id: string): number => Number(id.slice(1))
const addressOf = (index: number): string => `sim:${index}`

export class SimNode implements Endpoint<SimFrame> {
  readonly id: string
  readonly membership: Membership
  readonly plumtree: Plumtree
  private readonly routes: RoutingTable
  private readonly graftTimers = new Map<string, Timer>()
  private readonly intervals: Timer[] = []
  /** Connections membership does not claim, and since when. */
  private readonly unclaimed = new Map<number, number>()

  constructor (
    readonly index: number,
    private readonly clock: VirtualClock,
    private readonly network: SimNetwork<SimFrame>,
    private readonly opts: SimNodeOptions,
    private readonly counters: SimCounters,
    /** A first delivery of a broadcast here, at `hops`. */
    private readonly delivered: (node: number, id: string, hops: number) => void
  ) {
    this.id = idOf(index)
    this.membership = new Membership({ id: this.id, address: addressOf(index) }, { ...opts, requestTimeout: opts.connectionTimeout, refusalMemory: opts.shuffleInterval })
    this.plumtree = new Plumtree(opts)
    this.routes = new RoutingTable(opts)
    network.add(index, this)
    // Nodes start their timers at random phases, as real ones do.
    this.intervals.push(
      clock.every(opts.shuffleInterval, opts.random() * opts.shuffleInterval, () => { this.run([...this.membership.shuffle(), ...this.membership.retryLost(clock.now)]) }),
      clock.every(opts.repairInterval, opts.random() * opts.repairInterval, () => { this.repair() })
    )
  }

  /** Joins the overlay through `contact`. */
  join (contact: number, done: (ok: boolean) => void): void {
    this.network.dial(this.index, contact, ok => {
      if (ok) this.run(this.membership.join({ id: idOf(contact), address: addressOf(contact) }, this.clock.now))
      done(ok)
    })
  }

  /** Starts a broadcast from this node. */
  broadcast (id: string): void {
    const message: CachedMessage = { type: 'gossip', id, kind: 'bytes', hops: 0, hopLimit: this.opts.maxHops, origin: { id: this.id, name: '' }, payload: PAYLOAD }
    this.run(this.plumtree.broadcast(message, this.clock.now))
  }

  stop (): void {
    for (const timer of [...this.intervals, ...this.graftTimers.values()]) timer.cancel()
  }

  accepted (peer: number): void {
    this.unclaimed.set(peer, this.clock.now)
  }

  closed (peer: number): void {
    const id = idOf(peer)
    this.unclaimed.delete(peer)
    this.routes.forget(id)
    this.plumtree.neighborDown(id)
    this.run(this.membership.disconnected(id, this.clock.now))
  }

  receive (from: number, frame: SimFrame): void {
    const id = idOf(from)
    const now = this.clock.now
    switch (frame.type) {
      case 'shuffle':
        this.routes.learn(frame.origin, id, frame.hops, now)
        this.run(this.membership.receive({ id, address: addressOf(from) }, frame, now))
        return
      case 'join': case 'forward-join': case 'neighbor': case 'neighbor-reply': case 'disconnect':
        this.run(this.membership.receive({ id, address: addressOf(from) }, frame, now))
        return
      case 'gossip': {
        const { fresh, actions } = this.plumtree.onGossip(id, frame as CachedMessage, now)
        if (fresh) {
          this.routes.learn(frame.origin.id, id, frame.hops, now)
          this.delivered(this.index, frame.id, frame.hops)
        }
        this.run(actions)
        return
      }
      case 'ihave': this.run(this.plumtree.onIHave(id, frame.ids, now)); return
      case 'graft': this.run(this.plumtree.onGraft(id, frame.id, now)); return
      case 'prune': this.plumtree.onPrune(id); return
      case 'shuffle-reply':
        if (frame.target === this.id) this.membership.shuffleReply(frame.entries)
        else this.forward({ ...frame, hops: frame.hops + 1 }, frame.hops, from)
    }
  }

  /** Fills free slots, and closes connections that nothing claimed within `connectionTimeout`. */
  private repair (): void {
    const now = this.clock.now
    this.run(this.membership.repair(now))
    for (const [peer, since] of this.unclaimed) {
      if (this.membership.wants(idOf(peer))) {
        this.unclaimed.delete(peer)
      } else if (now - since >= this.opts.connectionTimeout) {
        this.unclaimed.delete(peer)
        this.network.close(this.index, peer)
      }
    }
  }

  private run (actions: ReadonlyArray<MembershipAction | BroadcastAction>): void {
    for (const action of actions) {
      switch (action.type) {
        case 'send':
          for (const peer of typeof action.to === 'string' ? [action.to] : action.to) this.send(indexOf(peer), action.frame as SimFrame)
          break
        case 'route': this.forward(action.frame, 0, undefined); break
        case 'dial': this.dial(action.peer, action.request); break
        case 'disconnect':
          this.send(indexOf(action.peer), { type: 'disconnect' })
          this.network.close(this.index, indexOf(action.peer))
          break
        case 'close': this.network.close(this.index, indexOf(action.peer)); break
        case 'up':
          this.unclaimed.delete(indexOf(action.peer))
          this.run(this.plumtree.neighborUp(action.peer, this.clock.now, action.leaf))
          break
        case 'down': this.plumtree.neighborDown(action.peer); break
        case 'schedule': {
          this.graftTimers.get(action.id)?.cancel()
          const id = action.id
          this.graftTimers.set(id, this.clock.schedule(action.delay, () => {
            this.graftTimers.delete(id)
            this.run(this.plumtree.timeout(id, this.clock.now))
          }))
          break
        }
        case 'cancel':
          this.graftTimers.get(action.id)?.cancel()
          this.graftTimers.delete(action.id)
          break
      }
    }
  }

  private dial (peer: PeerRef, request: SimFrame): void {
    const target = indexOf(peer.id)
    this.network.dial(this.index, target, ok => {
      if (ok) this.send(target, request)
      else this.run(this.membership.requestFailed(peer.id, this.clock.now))
    })
  }

  /** A shuffle reply one hop closer to its target, by the routing table. */
  private forward (frame: Extract<SimFrame, { type: 'shuffle-reply' }>, hops: number, from: number | undefined): void {
    const target = indexOf(frame.target)
    const next = this.network.connected(this.index, target) ? frame.target : this.routes.nextHop(frame.target, this.clock.now)
    if (next === undefined || hops >= this.opts.maxHops || indexOf(next) === from) return
    this.send(indexOf(next), frame)
  }

  private send (to: number, frame: SimFrame): void {
    if (!this.network.connected(this.index, to)) return
    if (frame.type === 'gossip') this.counters.payload++
    else if (frame.type === 'ihave' || frame.type === 'graft' || frame.type === 'prune') this.counters.control++
    else this.counters.membership++
    this.network.send(this.index, to, frame)
  }
}

/** Every simulated broadcast carries the same bytes: only their ids matter here. */
const PAYLOAD = new Uint8Array(64)

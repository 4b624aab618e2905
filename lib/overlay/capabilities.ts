/**
 * Capability negotiation: which connected peers speak the overlay. Right
 * after the handshake an overlay node sends every peer a `CAPS` probe inside
 * a `BYTES` frame; every meshline node answers it with its topology, and an
 * overlay node also sends its own probe. A peer that answers nothing within
 * `capabilityTimeout` speaks only the line protocol: it is *plain*, and gets
 * broadcasts as plain chat lines and `BYTES` frames, never overlay frames.
 *
 * While a peer is undecided, the plain copies of broadcasts meant for it are
 * held, at most `maxHeldMessages`. They are sent if it turns out plain, and
 * dropped if it speaks the overlay, which then reaches it through its own
 * links. Past that bound a broadcast waits for the decision, as it waits for
 * a full queue: guessing 'plain' instead sent a burst's copies to overlay
 * nodes whose answer was on its way, and they delivered them twice.
 */
import { decodeFrame, encodeFrame, type CapsFrame } from './overlay-protocol.js'
import type { Message } from '../../transforms/core/line-protocol.js'
import type { BytesHandler, Topology } from '../types.js'

/** `pending`: not known yet; `overlay`: an overlay node; `plain`: gets plain messages (line-protocol peers, full-mesh meshline nodes). */
export type PeerKind = 'pending' | 'overlay' | 'plain'

export interface CapabilitiesOptions {
  capabilityTimeout: number
  maxHeldMessages: number
  /** Told once when a pending peer is decided, with the messages held for it (to send if it is plain). */
  onDecided: (peer: string, kind: Exclude<PeerKind, 'pending'>, held: Message[]) => void
}

interface PeerState {
  kind: PeerKind
  held: Message[]
  timer: NodeJS.Timeout | undefined
  /** Woken once it is decided, or gone. */
  waiters: Array<() => void>
}

/** The `CAPS` probe of a node of each topology (never changed once encoded, so shared): an overlay node sends it to every new peer, any node before its first protocol stream to a peer it knows nothing of. */
export const CAPS_PROBES: Readonly<Record<Topology, Message>> = {
  overlay: { type: 'bytes', data: encodeFrame({ type: 'caps', topology: 'overlay', reply: false }) },
  'full-mesh': { type: 'bytes', data: encodeFrame({ type: 'caps', topology: 'full-mesh', reply: false }) }
}

/** The answer to a `CAPS` probe. */
export function capsReply (topology: Topology): CapsFrame {
  return { type: 'caps', topology, reply: true }
}

export class Capabilities {
  private readonly peers = new Map<string, PeerState>()

  constructor (private readonly opts: CapabilitiesOptions) {}

  kind (peer: string): PeerKind | undefined {
    return this.peers.get(peer)?.kind
  }

  /** A new peer: undecided until it answers or `capabilityTimeout` passes. */
  added (peer: string): void {
    const timer = setTimeout(() => { this.decide(peer, 'plain') }, this.opts.capabilityTimeout)
    this.peers.set(peer, { kind: 'pending', held: [], timer, waiters: [] })
  }

  removed (peer: string): void {
    const state = this.peers.get(peer)
    if (state === undefined) return
    clearTimeout(state.timer)
    this.peers.delete(peer)
    for (const wake of state.waiters) wake()
  }

  /** Resolves once a pending peer is decided or gone (at once otherwise). */
  async decision (peer: string): Promise<void> {
    const state = this.peers.get(peer)
    if (state?.kind !== 'pending') return
    await new Promise<void>(resolve => { state.waiters.push(resolve) })
  }

  /**
   * Settles what a peer is. A pending peer is decided once; a peer taken for
   * plain after its timeout that then shows it speaks the overlay is moved to
   * `overlay` too, so that it stops getting plain copies.
   */
  decide (peer: string, kind: Exclude<PeerKind, 'pending'>): void {
    const state = this.peers.get(peer)
    if (state === undefined || state.kind === kind || state.kind === 'overlay') return
    clearTimeout(state.timer)
    state.timer = undefined
    state.kind = kind
    const held = state.held
    state.held = []
    this.opts.onDecided(peer, kind, held)
    const waiters = state.waiters
    state.waiters = []
    for (const wake of waiters) wake()
  }

  /**
   * Holds a plain copy for a pending peer.
   * @returns `false` when the peer is not pending (send it now, or not at all); `true` once held; while `maxHeldMessages` are held already, a promise that resolves with `msg` once the peer is decided (send it then if the peer is plain)
   */
  hold (peer: string, msg: Message): boolean | Promise<Message> {
    const state = this.peers.get(peer)
    if (state?.kind !== 'pending') return false
    if (state.held.length < this.opts.maxHeldMessages) {
      state.held.push(msg)
      return true
    }
    return this.decision(peer).then(() => msg)
  }

  /** Peers of one kind. */
  * ofKind (kind: PeerKind): Generator<string> {
    for (const [peer, state] of this.peers) if (state.kind === kind) yield peer
  }

  stop (): void {
    for (const peer of [...this.peers.keys()]) this.removed(peer)
  }
}

/**
 * What a node that does not run the overlay does with overlay frames: it
 * answers a `CAPS` probe with its topology, so that an overlay peer knows at
 * once to send it plain messages, and ignores anything else.
 */
export function answerCapabilityProbes (topology: Topology, reply: (peerId: string, msg: Message) => Promise<void>): BytesHandler {
  return async (data, peer) => {
    const frame = decodeFrame(data)
    if (frame.type === 'caps' && !frame.reply) await reply(peer.id, { type: 'bytes', data: encodeFrame(capsReply(topology)) })
  }
}

/**
 * Refuses a signed or sealed message seen before, long after the broadcast
 * seen set has forgotten it. Every author stamps what it sends with its
 * *epoch* (when its node started, in ms), a *counter* that counts up from 0
 * within the epoch, and the *time* it sent it, all under its signature.
 *
 * Per author the guard keeps the epoch, the highest counter and a bitmap of
 * the `replayWindow` counters below it: a counter seen before, one older
 * than the window, or one from an earlier epoch is refused, and a later
 * epoch (the author restarted) starts afresh. Messages that overtake each
 * other on the way are accepted as long as they are within the window.
 *
 * State is bounded: at most `maxTrackedOrigins` authors, the one heard from
 * least recently forgotten first. So that forgetting an author does not
 * let its old messages in again, the time of its last message raises a
 * floor in one of `FLOOR_BUCKETS` buckets (by a hash of its id): an author
 * the guard does not know is accepted only with a time above its bucket's
 * floor. Only after more than `maxTrackedOrigins` authors can that refuse
 * an honest one (whose clock is behind a forgotten author's last message
 * sharing its bucket). Time is passed in: the guard is pure.
 */

export interface ReplayGuardOptions {
  /** Authors whose counters are kept. */
  maxTrackedOrigins: number
  /** Counters below an author's highest still accepted once, out of order. */
  replayWindow: number
}

/** What an author stamps on a message, under its signature. */
export interface Stamp {
  /** When the author's node started, ms since the Unix epoch. */
  epoch: number
  /** Counts up from 0 within `epoch`. */
  counter: number
  /** When it was sent, ms since the Unix epoch (the author's clock). */
  time: number
}

/** `fresh`: accepted (and recorded); `replay`: this stamp was accepted before; `stale`: older than what is kept (an earlier epoch, below the window, or below a forgotten author's floor). */
export type ReplayVerdict = 'fresh' | 'replay' | 'stale'

/** Buckets of the floor that forgotten authors leave: 8 KiB. */
export const FLOOR_BUCKETS = 1024

interface AuthorState {
  epoch: number
  top: number
  /** Bit `c % replayWindow` is set when counter `c` in (top - window, top] was accepted. */
  seen: Uint8Array
  lastTime: number
}

export class ReplayGuard {
  /** In order of last acceptance, least recent first. */
  private readonly authors = new Map<string, AuthorState>()
  private readonly floors = new Float64Array(FLOOR_BUCKETS)

  constructor (private readonly opts: ReplayGuardOptions) {}

  /** Authors tracked. */
  get size (): number {
    return this.authors.size
  }

  /** Judges a stamp from `origin`, and records it when fresh. */
  check (origin: string, stamp: Stamp): ReplayVerdict {
    const window = this.opts.replayWindow
    const state = this.authors.get(origin)
    if (state === undefined) {
      if (stamp.time <= this.floors[bucketOf(origin)]!) return 'stale'
      this.track(origin, this.fresh(stamp))
      return 'fresh'
    }
    if (stamp.epoch < state.epoch) return 'stale'
    if (stamp.epoch > state.epoch) {
      Object.assign(state, this.fresh(stamp))
    } else if (stamp.counter > state.top) {
      // Counters skipped over are unseen.
      for (let c = Math.max(state.top + 1, stamp.counter - window + 1); c < stamp.counter; c++) setBit(state.seen, c % window, false)
      setBit(state.seen, stamp.counter % window, true)
      state.top = stamp.counter
    } else {
      if (stamp.counter <= state.top - window) return 'stale'
      if (getBit(state.seen, stamp.counter % window)) return 'replay'
      setBit(state.seen, stamp.counter % window, true)
    }
    state.lastTime = Math.max(state.lastTime, stamp.time)
    this.authors.delete(origin)
    this.authors.set(origin, state)
    return 'fresh'
  }

  private fresh (stamp: Stamp): AuthorState {
    const seen = new Uint8Array(Math.ceil(this.opts.replayWindow / 8))
    setBit(seen, stamp.counter % this.opts.replayWindow, true)
    return { epoch: stamp.epoch, top: stamp.counter, seen, lastTime: stamp.time }
  }

  private track (origin: string, state: AuthorState): void {
    if (this.authors.size >= this.opts.maxTrackedOrigins) {
      const [oldest, forgotten] = this.authors.entries().next().value as [string, AuthorState]
      this.authors.delete(oldest)
      const bucket = bucketOf(oldest)
      this.floors[bucket] = Math.max(this.floors[bucket]!, forgotten.lastTime)
    }
    this.authors.set(origin, state)
  }
}

/** FNV-1a of an id, into the floor's buckets. */
function bucketOf (id: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193)
  return (hash >>> 0) % FLOOR_BUCKETS
}

function getBit (bits: Uint8Array, index: number): boolean {
  return (bits[index >> 3]! & (1 << (index & 7))) !== 0
}

function setBit (bits: Uint8Array, index: number, on: boolean): void {
  if (on) bits[index >> 3]! |= 1 << (index & 7)
  else bits[index >> 3]! &= ~(1 << (index & 7))
}

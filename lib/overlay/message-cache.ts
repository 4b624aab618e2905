/**
 * The broadcast id cache: a bounded, time-limited seen set, so that each
 * broadcast is delivered once, and beside it a smaller cache of the recent
 * payloads themselves, to answer GRAFTs and to announce to new neighbours.
 * Both forget the oldest entries first, by age and by size. Time is passed
 * in, so the cache is pure and testable without timers.
 */
import type { GossipFrame } from './overlay-protocol.js'

export interface MessageCacheOptions {
  /** Ids remembered at most. */
  maxSeenMessages: number
  /** How long an id is remembered, in ms. */
  seenTtl: number
  /** Payload bytes kept at most. */
  maxCachedBytes: number
  /** How long a payload is kept, in ms; at most `seenTtl`. */
  cacheTtl: number
}

/** A payload kept to be served again, as last received (its `hops` is the count on arrival here). */
export type CachedMessage = GossipFrame & { payload: Uint8Array }

/** Where a broadcast first came from: the neighbour, and at how many hops. */
export interface Arrival {
  from: string
  hops: number
}

interface Cached {
  frame: CachedMessage
  /** The neighbour it first came from; `undefined` for this node's own broadcasts. */
  from: string | undefined
  expires: number
}

export class MessageCache {
  /** Id to expiry time. Entries are inserted in expiry order, so the oldest come first. */
  private readonly seen = new Map<string, number>()
  private readonly payloads = new Map<string, Cached>()
  private cachedBytes = 0

  constructor (private readonly opts: MessageCacheOptions) {}

  /** Ids currently remembered. */
  get size (): number {
    return this.seen.size
  }

  has (id: string, now: number): boolean {
    this.expire(now)
    return this.seen.has(id)
  }

  /**
   * Remembers a broadcast and keeps its payload, and where it came from
   * (nothing for this node's own).
   * @returns false when it was seen already (nothing changes then)
   */
  add (frame: CachedMessage, now: number, from?: string): boolean {
    this.expire(now)
    if (this.seen.has(frame.id)) return false
    if (this.seen.size >= this.opts.maxSeenMessages) this.seen.delete(this.seen.keys().next().value as string)
    this.seen.set(frame.id, now + this.opts.seenTtl)
    const size = frame.payload.byteLength
    if (size <= this.opts.maxCachedBytes && this.opts.cacheTtl > 0) {
      while (this.cachedBytes + size > this.opts.maxCachedBytes) this.dropOldestPayload()
      this.payloads.set(frame.id, { frame, from, expires: now + this.opts.cacheTtl })
      this.cachedBytes += size
    }
    return true
  }

  /** The payload of a broadcast, while it is cached. */
  get (id: string, now: number): CachedMessage | undefined {
    this.expire(now)
    return this.payloads.get(id)?.frame
  }

  /** Where a broadcast first came from, while its payload is cached and if it came from a neighbour. */
  arrival (id: string, now: number): Arrival | undefined {
    this.expire(now)
    const cached = this.payloads.get(id)
    return cached?.from === undefined ? undefined : { from: cached.from, hops: cached.frame.hops }
  }

  /** The cached broadcasts, newest last, at most `limit`. */
  recent (now: number, limit: number): CachedMessage[] {
    this.expire(now)
    const all = [...this.payloads.values()]
    return all.slice(Math.max(0, all.length - limit)).map(cached => cached.frame)
  }

  private expire (now: number): void {
    for (const [id, expires] of this.seen) {
      if (expires > now) break
      this.seen.delete(id)
    }
    for (const cached of this.payloads.values()) {
      if (cached.expires > now) break
      this.dropOldestPayload()
    }
  }

  private dropOldestPayload (): void {
    const oldest = this.payloads.values().next().value
    if (oldest === undefined) return
    this.payloads.delete(oldest.frame.id)
    this.cachedBytes -= oldest.frame.payload.byteLength
  }
}

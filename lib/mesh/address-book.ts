import type { LinkSecurity } from '../types.js'
/**
 * The bounded table of known listen addresses. When it is full, an
 * unconnected entry is forgotten to make room: first one this node never
 * dialled, heard of longest ago, so that a flood of `PEERS:` lists cannot
 * push out the addresses that are known to work. An address whose dial
 * failed is not offered for dialling again until a delay that grows with
 * its failures has passed, so that bogus addresses cost a few dials, not a
 * stream of them.
 */

/** What a node knows of one address. */
export interface KnownPeer {
  /** `host:port` where the peer listens. */
  address: string
  /** Whether a connected peer listens there. */
  connected: boolean
  /** Dials that failed since the last success. */
  failures: number
  /** After a failed dial: when it may be dialled again (ms since epoch). */
  retryAt?: number
  /** When it was last heard of (ms since epoch). */
  lastHeard: number
  /** How the last link this node dialled there was secured; `undefined` until one was established, and again after a failed dial. */
  security: LinkSecurity | undefined
  /**
   * When this node last dialled it and completed a handshake (ms since
   * epoch; 0 when remembered from the peers file of an earlier run).
   */
  lastDialed?: number
}

export class AddressBook {
  private readonly entries = new Map<string, KnownPeer>()
  /** The entries with a `lastDialed`, apart: few, and read for every `PEERS:` answer. */
  private readonly proven = new Set<KnownPeer>()
  /**
   * The entries with no connected peer, apart: what dialling and sharing
   * look through for every `PEERS:` list, and few once a mesh has formed.
   */
  private readonly unconnected = new Set<KnownPeer>()

  /**
   * @param capacity addresses kept at most
   * @param retryDelay how long to wait before dialling an address again after its `failures`-th failure in a row, in ms
   */
  constructor (private readonly capacity: number, private readonly retryDelay: (failures: number) => number = () => 0) {}

  get size (): number {
    return this.entries.size
  }

  get (address: string): KnownPeer | undefined {
    return this.entries.get(address)
  }

  /**
   * Records an address as heard of now.
   * @returns true when it was not known before
   */
  add (address: string, now = Date.now()): boolean {
    const known = this.entries.get(address)
    if (known !== undefined) {
      known.lastHeard = now
      // Re-inserting keeps the unconnected entries ordered from least to most recently heard, for eviction.
      // Not a connected one: a full mesh hears of every connected address in every list.
      if (!known.connected) this.moveToEnd(known)
      return false
    }
    if (this.entries.size >= this.capacity && !this.evictOne()) return false
    const added: KnownPeer = { address, connected: false, failures: 0, lastHeard: now, security: undefined }
    this.entries.set(address, added)
    this.unconnected.add(added)
    return true
  }

  /** Records a completed dial: the address is known to work. */
  markDialed (address: string, at = Date.now()): void {
    const known = this.entries.get(address)
    if (known === undefined) return
    known.lastDialed = at
    this.proven.add(known)
  }

  setConnected (address: string, connected: boolean): void {
    const known = this.entries.get(address)
    if (known === undefined) return
    known.connected = connected
    if (!connected) {
      this.unconnected.add(known)
      // Heard of all the while it was connected.
      this.moveToEnd(known)
      return
    }
    this.unconnected.delete(known)
    known.failures = 0
    delete known.retryAt
  }

  setSecurity (address: string, security: LinkSecurity | undefined): void {
    const known = this.entries.get(address)
    if (known !== undefined) known.security = security
  }

  remove (address: string): void {
    const known = this.entries.get(address)
    if (known === undefined) return
    this.entries.delete(address)
    this.proven.delete(known)
    this.unconnected.delete(known)
  }

  /** @returns the failures since the last success */
  recordFailure (address: string, now = Date.now()): number {
    const known = this.entries.get(address)
    if (known === undefined) return 0
    known.failures++
    known.retryAt = now + this.retryDelay(known.failures)
    return known.failures
  }

  /** Unconnected addresses that may be dialled now: none failed, or its retry delay has passed. */
  dialable (now = Date.now()): KnownPeer[] {
    return [...this.unconnected].filter(known => known.retryAt === undefined || known.retryAt <= now)
  }

  list (): KnownPeer[] {
    return [...this.entries.values()].map(known => ({ ...known }))
  }

  /** Addresses this node has dialled successfully, most recently dialled first. */
  dialed (): string[] {
    return [...this.proven]
      .sort((a, b) => (b.lastDialed as number) - (a.lastDialed as number))
      .map(known => known.address)
  }

  /** Addresses this node has dialled successfully and is not connected to now. */
  provenUnconnected (): KnownPeer[] {
    return [...this.unconnected].filter(known => this.proven.has(known))
  }

  private moveToEnd (known: KnownPeer): void {
    this.entries.delete(known.address)
    this.entries.set(known.address, known)
  }

  /**
   * Forgets the unconnected entry heard of longest ago, one never dialled if
   * there is one. The entries are in that order, but for connected ones, so
   * the look ends at the first unconnected entry never dialled.
   */
  private evictOne (): boolean {
    let fallback: KnownPeer | undefined
    for (const known of this.entries.values()) {
      if (known.connected) continue
      if (known.lastDialed === undefined) {
        this.remove(known.address)
        return true
      }
      fallback ??= known
    }
    if (fallback === undefined) return false
    this.remove(fallback.address)
    return true
  }
}

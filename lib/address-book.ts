/**
 * The bounded table of known listen addresses. When it is full, the entry
 * heard of longest ago that is not connected is forgotten to make room.
 */
import type { LinkSecurity } from './secure.js'

/** What a node knows of one address. */
export interface KnownPeer {
  /** `host:port` where the peer listens. */
  address: string
  /** Whether a connected peer listens there. */
  connected: boolean
  /** Dials that failed since the last success. */
  failures: number
  /** When it was last heard of (ms since epoch). */
  lastHeard: number
  /** How the last link this node dialled there was secured; `undefined` until one was established, and again after a failed dial. */
  security: LinkSecurity | undefined
}

export class AddressBook {
  private readonly entries = new Map<string, KnownPeer>()

  constructor (private readonly capacity: number) {}

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
  add (address: string): boolean {
    const known = this.entries.get(address)
    if (known !== undefined) {
      known.lastHeard = Date.now()
      // Re-inserting keeps the map ordered from least to most recently heard.
      this.entries.delete(address)
      this.entries.set(address, known)
      return false
    }
    if (this.entries.size >= this.capacity && !this.evictOne()) return false
    this.entries.set(address, { address, connected: false, failures: 0, lastHeard: Date.now(), security: undefined })
    return true
  }

  setConnected (address: string, connected: boolean): void {
    const known = this.entries.get(address)
    if (known === undefined) return
    known.connected = connected
    if (connected) known.failures = 0
  }

  setSecurity (address: string, security: LinkSecurity | undefined): void {
    const known = this.entries.get(address)
    if (known !== undefined) known.security = security
  }

  remove (address: string): void {
    this.entries.delete(address)
  }

  recordFailure (address: string): void {
    const known = this.entries.get(address)
    if (known !== undefined) known.failures++
  }

  /** Unconnected addresses, least recently heard first. */
  unconnected (): KnownPeer[] {
    return [...this.entries.values()].filter(known => !known.connected)
  }

  list (): KnownPeer[] {
    return [...this.entries.values()].map(known => ({ ...known }))
  }

  private evictOne (): boolean {
    for (const known of this.entries.values()) {
      if (!known.connected) {
        this.entries.delete(known.address)
        return true
      }
    }
    return false
  }
}

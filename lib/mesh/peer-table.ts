/**
 * The peer table: one connection per peer id, at most `maxPeers` peers,
 * and admission, which decides on each remote whose hello arrives. Two
 * connections to one peer happen when two nodes dial each other at once:
 * both sides keep the one dialled by the lower id. Lookups by listen
 * address and the list of listen addresses cost no scan of the table: peer
 * exchange reads them for every `PEERS:` list and dial, and a full mesh of
 * N nodes handles N lists per node per round.
 */
import type { Connection } from '../connection/connection.js'
import { DuplicatePeerError, PeerNotFoundError } from '../errors.js'
import { securityInfo, type SecuredLink } from '../secure/secure-links.js'
import type { Admission, RemoteHello } from '../../transforms/handshake.js'
import type { Direction, PeerInfo } from '../types.js'
import { randomSample } from './shuffled.js'

export interface PeerEntry {
  info: PeerInfo
  conn: Connection
}

/**
 * What admission decided. `peer` is the table's own record: on `accept`,
 * `isNew` tells a peer new to the table from one moved onto this
 * connection; on `redundant`, the peer stays on its other connection.
 */
export type Admitted =
  | { admission: 'accept', peer: PeerInfo, isNew: boolean }
  | { admission: 'redundant', peer: PeerInfo }
  | { admission: Exclude<Admission, 'accept' | 'redundant'> }

export class PeerTable {
  private readonly entries = new Map<string, PeerEntry>()
  /** The first connected peer listening at each address. */
  private readonly byAddress = new Map<string, PeerEntry>()
  /** Every peer's listen address, and the entries in the same order: a removal moves the last one into its place. */
  private readonly addressList: Array<string | undefined> = []
  private readonly listed: PeerEntry[] = []
  private readonly listPosition = new Map<PeerEntry, number>()

  /**
   * @param id this node's id
   * @param maxPeers peers admitted at most
   * @param dialing whether this node is dialling `address` right now
   */
  constructor (private readonly id: string, private readonly maxPeers: number, private readonly dialing: (address: string) => boolean) {}

  get size (): number {
    return this.entries.size
  }

  get (peerId: string): PeerEntry | undefined {
    return this.entries.get(peerId)
  }

  /** @throws PeerNotFoundError */
  entry (peerId: string): PeerEntry {
    const entry = this.entries.get(peerId)
    if (entry === undefined) throw new PeerNotFoundError(peerId)
    return entry
  }

  values (): IterableIterator<PeerEntry> {
    return this.entries.values()
  }

  /** A copy of the connected peer that listens at `address`. */
  at (address: string): PeerInfo | undefined {
    const entry = this.byAddress.get(address)
    return entry === undefined ? undefined : { ...entry.info }
  }

  /** Up to `count` peers picked at random, without a pass over the table. */
  sample (count: number): PeerEntry[] {
    return randomSample(this.listed, count, () => true)
  }

  /** The listen address of every peer (`undefined` where a peer gave none), in no particular order. */
  addresses (): ReadonlyArray<string | undefined> {
    return this.addressList
  }

  /**
   * Decides on a remote whose hello arrived on `conn`, and admits it. A
   * listener that is itself dialling the remote's announced address decides
   * before accepting, so the losing connection is refused on both sides
   * before anything is sent on it.
   */
  admit (conn: Connection, remote: RemoteHello, link: SecuredLink): Admitted {
    if (remote.id === this.id) return { admission: 'self' }
    const { remoteAddress } = link.transport
    const ourDirection: Direction = conn.role === 'dialer' ? 'outbound' : 'inbound'
    const crossingDial = conn.role === 'listener' && remote.listenAddress !== undefined && this.dialing(remote.listenAddress)
    if (crossingDial && this.id < remote.id) return { admission: 'duplicate' }
    const existing = this.entries.get(remote.id)
    if (existing !== undefined) {
      const dialerOf = (direction: Direction): string => direction === 'outbound' ? this.id : remote.id
      // Kept: the connection dialled by the lower id; of two dialled by the same node, the earlier.
      if (dialerOf(ourDirection) >= dialerOf(existing.info.direction)) {
        // A listener refuses before its dialer sends anything; a dialer learns too late, the listener has accepted.
        return conn.role === 'dialer' ? { admission: 'redundant', peer: existing.info } : { admission: 'duplicate' }
      }
      // The new connection wins: move the peer onto it without a disconnect.
      const superseded = existing.conn
      existing.conn = conn
      existing.info.direction = ourDirection
      existing.info.remoteAddress = remoteAddress
      Object.assign(existing.info, securityInfo(link))
      superseded.close(new DuplicatePeerError('superseded by a simultaneous connection'))
      return { admission: 'accept', peer: existing.info, isNew: false }
    }
    if (this.entries.size >= this.maxPeers) return { admission: 'max-peers' }
    const now = Date.now()
    const info: PeerInfo = {
      id: remote.id,
      name: remote.name,
      address: remote.listenAddress,
      remoteAddress,
      direction: ourDirection,
      connectedAt: now,
      lastSeen: now,
      ...securityInfo(link)
    }
    const entry = { info, conn }
    this.entries.set(remote.id, entry)
    if (info.address !== undefined && !this.byAddress.has(info.address)) this.byAddress.set(info.address, entry)
    this.listPosition.set(entry, this.listed.length)
    this.listed.push(entry)
    this.addressList.push(info.address)
    return { admission: 'accept', peer: info, isNew: true }
  }

  /** Removes the peer if `conn` is still its connection (not one it was moved off); says whether it was. */
  release (peerId: string, conn: Connection): boolean {
    const entry = this.entries.get(peerId)
    if (entry?.conn !== conn) return false
    this.entries.delete(peerId)
    this.unlist(entry)
    const { address } = entry.info
    if (address !== undefined && this.byAddress.get(address) === entry) {
      this.byAddress.delete(address)
      // Another peer may claim the same address: it answers for it now.
      for (const other of this.entries.values()) {
        if (other.info.address !== address) continue
        this.byAddress.set(address, other)
        break
      }
    }
    return true
  }

  private unlist (entry: PeerEntry): void {
    const position = this.listPosition.get(entry) as number
    const last = this.listed.pop() as PeerEntry
    this.addressList.pop()
    this.listPosition.delete(entry)
    if (last === entry) return
    this.listed[position] = last
    this.addressList[position] = last.info.address
    this.listPosition.set(last, position)
  }
}

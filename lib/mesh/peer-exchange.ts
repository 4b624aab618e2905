/**
 * Peer exchange, the line protocol's discovery: which listen addresses a
 * node tells a peer about in `PEERS:`, and what it does with a list it
 * receives (remember the new addresses, bounded, and dial a few).
 */
import type { AddressBook } from './address-book.js'
import type { SelfAddresses } from './self-addresses.js'
import { randomSample } from './shuffled.js'
import { LimitExceededError, MalformedPeersListError } from '../errors.js'
import type { ResolvedOptions } from '../options/node-options.js'
import type { PeerInfo } from '../types.js'
import { isDialOnlyAddress, type PeersMessage } from '../../transforms/core/line-protocol.js'

export type PeerExchangeOptions = Pick<ResolvedOptions, 'maxPeersPerList' | 'maxKnownPeers' | 'connectedPeersShared' | 'extraPeersShared'>

/** What peer exchange needs of its node. */
export interface PeerExchangeHost {
  /** The listen addresses of the connected peers (`undefined` where a peer gave none); read, never changed. */
  connectedAddresses: () => ReadonlyArray<string | undefined>
  readonly book: AddressBook
  readonly self: SelfAddresses
  /** Dials some of the known addresses, when the node's topology dials what it learns. */
  dialSome: () => void
  onDiscovered: (from: PeerInfo | undefined, addresses: string[]) => void
  /** A problem with a received list; the connection stays open. */
  onListError: (error: Error, from: PeerInfo | undefined, remoteAddress: string) => void
  onLimit: (error: LimitExceededError) => void
}

/** An IPv6 loopback address: reachable only from the host it names, so never learnt from a peer nor passed on. */
function isIpv6Loopback (address: string): boolean {
  return address.startsWith('[::1]')
}

export class PeerExchange {
  constructor (private readonly opts: PeerExchangeOptions, private readonly host: PeerExchangeHost) {}

  /**
   * Listen addresses to tell `receiver` about: connected peers (a random
   * `connectedPeersShared` of them), then a few more known ones, only among
   * those this node has dialled successfully: addresses it merely heard of
   * (a flood of them, say) are not passed on.
   */
  peersToShare (receiver: string | undefined): string[] {
    const shareable = (address: string | undefined): address is string =>
      address !== undefined && address !== receiver && !isIpv6Loopback(address) && !isDialOnlyAddress(address)
    const connected = randomSample(this.host.connectedAddresses(), this.opts.connectedPeersShared, shareable)
    const extra = randomSample(this.host.book.provenUnconnected().map(known => known.address), this.opts.extraPeersShared, shareable)
    return [...new Set([...connected, ...extra])]
  }

  /** Takes in a received `PEERS:` list and dials a few of the new addresses. */
  learn (msg: PeersMessage, from: PeerInfo | undefined, remoteAddress: string): void {
    const { host } = this
    if (msg.rejected !== undefined) host.onListError(new MalformedPeersListError(msg.rejected.slice(0, 5)), from, remoteAddress)
    const { maxPeersPerList, maxKnownPeers } = this.opts
    if (msg.addresses.length > maxPeersPerList) host.onListError(new LimitExceededError('maxPeersPerList', maxPeersPerList), from, remoteAddress)
    const wasFull = host.book.size >= maxKnownPeers
    const discovered: string[] = []
    const now = Date.now()
    for (const address of msg.addresses.slice(0, maxPeersPerList)) {
      if (host.self.has(address) || isIpv6Loopback(address) || isDialOnlyAddress(address)) continue
      if (host.book.add(address, now)) discovered.push(address)
    }
    if (discovered.length > 0) host.onDiscovered(from, discovered)
    // Once per list, not per address: older addresses were forgotten to make room.
    if (wasFull && discovered.length > 0) host.onLimit(new LimitExceededError('maxKnownPeers', maxKnownPeers))
    host.dialSome()
  }
}

/**
 * The addresses a node can be reached at, so that it never dials itself,
 * and the host it advertises. A node hears of its own address like any
 * other (in `PEERS:` lists, from the peers file), under whichever name the
 * teller used: the advertised host, any interface address behind a
 * wildcard listener, or `localhost`.
 */
import { interfaceAddresses } from './interface-addresses.js'
import { formatAddress } from '../../transforms/core/line-protocol.js'

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::'])
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1)$/
const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i

/** `host`, or the IPv4 address inside it when it is IPv4-mapped (`::ffff:10.0.0.1`): how a dual-stack socket names an IPv4 end. */
export function plainHost (host: string): string {
  return IPV4_MAPPED.exec(host)?.[1] ?? host
}

export class SelfAddresses {
  private readonly addresses = new Set<string>()

  /**
   * @param host the host the node listens on (`host` option)
   * @param advertiseHost the host to tell peers instead, if set (`advertiseHost` option)
   * @param capacity addresses remembered before `learn()` stops adding (`maxKnownPeers`)
   */
  constructor (private readonly host: string, private readonly advertiseHost: string | undefined, private readonly capacity: number) {}

  /**
   * The listen address to tell peers: `advertiseHost`, else the listening
   * host, else (a wildcard) the host a connection reached this node at,
   * `localHost`, and loopback without a connection.
   */
  advertised (port: number, localHost?: string): string {
    return formatAddress(this.advertisedHost(localHost), port)
  }

  /** Remembers every name a listener on `port` answers to. */
  listening (port: number): void {
    this.addresses.add(this.advertised(port))
    if (WILDCARD_HOSTS.has(this.host) || LOOPBACK.test(this.host)) this.addresses.add(formatAddress('localhost', port))
    if (WILDCARD_HOSTS.has(this.host)) {
      for (const address of interfaceAddresses()) this.addresses.add(formatAddress(address.toLowerCase(), port))
    } else {
      this.addresses.add(formatAddress(this.host.toLowerCase(), port))
    }
  }

  /** The address to announce on a connection whose local end is `localHost`; one of this node's from now on. */
  announced (port: number, localHost: string): string {
    const address = this.advertised(port, localHost)
    this.addresses.add(address)
    return address
  }

  /**
   * Remembers another name for this node, found by dialling it. Only
   * reachable names get here, but a relay can make many: past `capacity`
   * they are not kept (the handshake's id check still refuses them).
   */
  learn (address: string): void {
    if (this.addresses.size < this.capacity) this.addresses.add(address)
  }

  has (address: string): boolean {
    return this.addresses.has(address)
  }

  private advertisedHost (localHost: string | undefined): string {
    if (this.advertiseHost !== undefined) return this.advertiseHost
    if (!WILDCARD_HOSTS.has(this.host)) return this.host
    return localHost !== undefined ? plainHost(localHost) : '127.0.0.1'
  }
}

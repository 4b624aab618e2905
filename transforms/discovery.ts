/**
 * The discovery responder: answers `REQUEST_PEERS` with `PEERS:`, hands every
 * received `PEERS:` list to the supervisor, and asks the peer for its list
 * every `discoveryInterval`. Messages pass through unchanged.
 */
import { DEFAULT_DISCOVERY_INTERVAL } from './core/limits.js'
import type { Link } from './core/link.js'
import { REQUEST_PEERS_MESSAGE, type Message, type PeersMessage } from './core/line-protocol.js'

export interface DiscoveryOptions {
  link: Link
  /**
   * How often `REQUEST_PEERS` is sent, in ms.
   * @default 30000
   */
  discoveryInterval?: number
  /** The addresses to answer `REQUEST_PEERS` with. */
  peersToShare: () => string[]
  /** Receives every `PEERS:` list the peer sends. */
  onPeers: (msg: PeersMessage) => void
}

export function discovery (opts: DiscoveryOptions) {
  const interval = opts.discoveryInterval ?? DEFAULT_DISCOVERY_INTERVAL
  const { link } = opts

  return async function * discover (source: AsyncIterable<Message[]>): AsyncGenerator<Message[]> {
    let timer: NodeJS.Timeout | undefined
    try {
      for await (const batch of source) {
        timer ??= setInterval(() => { link.send(REQUEST_PEERS_MESSAGE).catch(() => {}) }, interval)
        for (const msg of batch) {
          if (msg.type === 'request-peers') await link.send({ type: 'peers', addresses: opts.peersToShare() })
          else if (msg.type === 'peers') opts.onPeers(msg)
        }
        yield batch
      }
    } finally {
      clearInterval(timer)
    }
  }
}

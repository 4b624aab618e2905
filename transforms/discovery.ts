/**
 * The discovery responder: answers `REQUEST_PEERS` with `PEERS:`, hands every
 * received `PEERS:` list to the supervisor, and asks the peer for its list
 * every `discoveryInterval`. Messages pass through unchanged.
 */
import { DEFAULT_DISCOVERY_INTERVAL } from './core/limits.js'
import { isLink, type Link } from './core/link.js'
import { applyTable, integer, isFunction, required, type OptionTable } from './core/option-table.js'
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

/** The discovery responder's options: default and range of each. */
export const DISCOVERY_OPTIONS = {
  link: required<Link>('a Link (an object with send and close functions)', isLink),
  discoveryInterval: integer(DEFAULT_DISCOVERY_INTERVAL, 1, { unit: 'ms' }),
  peersToShare: required<() => string[]>('a function', isFunction),
  onPeers: required<(msg: PeersMessage) => void>('a function', isFunction)
} satisfies OptionTable<DiscoveryOptions>

export function discovery (options: DiscoveryOptions) {
  const opts = applyTable(DISCOVERY_OPTIONS, options)
  // One generator function for every connection (see `runCore` in core/sync-transform.ts for why).
  return (source: AsyncIterable<Message[]>): AsyncGenerator<Message[]> => discover(source, opts)
}

async function * discover (source: AsyncIterable<Message[]>, opts: Required<DiscoveryOptions>): AsyncGenerator<Message[]> {
  const { link, discoveryInterval: interval } = opts
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

/**
 * The discovery responder: answers `REQUEST_PEERS` with `PEERS:`, hands every
 * received `PEERS:` list to the supervisor, and asks the peer for its list
 * every `discoveryInterval` (unless that is 0: a supervisor that asks a few
 * of its peers per round itself). Messages pass through unchanged.
 */
import { DEFAULT_DISCOVERY_INTERVAL } from './core/limits.js'
import { answerInTurn, isLink, staged, type Link, type StagedTransform } from './core/link.js'
import type { MessageStage } from './core/message-stage.js'
import { applyTable, integer, isFunction, required, type OptionTable } from './core/option-table.js'
import { REQUEST_PEERS_MESSAGE, type Message, type PeersMessage } from './core/line-protocol.js'

export interface DiscoveryOptions {
  link: Link
  /**
   * How often `REQUEST_PEERS` is sent, in ms; 0 sends none.
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
  discoveryInterval: integer(DEFAULT_DISCOVERY_INTERVAL, 0, { unit: 'ms' }),
  peersToShare: required<() => string[]>('a function', isFunction),
  onPeers: required<(msg: PeersMessage) => void>('a function', isFunction)
} satisfies OptionTable<DiscoveryOptions>

export function discovery (options: DiscoveryOptions): StagedTransform {
  const opts = applyTable(DISCOVERY_OPTIONS, options)
  return staged(() => new Discovery(opts))
}

/** One connection's discovery responder. */
class Discovery implements MessageStage {
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly opts: Required<DiscoveryOptions>) {}

  step (batch: Message[]): Message[] | Promise<Message[]> {
    const { link, discoveryInterval: interval } = this.opts
    if (interval > 0) this.timer ??= setInterval(() => { link.send(REQUEST_PEERS_MESSAGE).catch(() => {}) }, interval)
    let requests = 0
    for (const msg of batch) {
      if (msg.type === 'request-peers') requests++
      else if (msg.type === 'peers') this.opts.onPeers(msg)
    }
    return requests === 0 ? batch : answerInTurn(link, requests, () => ({ type: 'peers', addresses: this.opts.peersToShare() }), batch)
  }

  end (): void {
    clearInterval(this.timer)
  }
}

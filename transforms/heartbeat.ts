/**
 * The heartbeat: sends `PING` every `maintenanceInterval`, answers `PING`
 * with `PONG`, counts every received batch as a sign of life, and closes the
 * connection after `peerTimeout` of silence (time spent waiting on a slow
 * consumer downstream, when nothing is read, does not count). Its timers start with the first
 * batch (the link is up) and are cleared when the pipeline ends, however it
 * ends.
 */
import { DEFAULT_MAINTENANCE_INTERVAL, DEFAULT_PEER_TIMEOUT } from './core/limits.js'
import { PeerTimeoutError } from './core/errors.js'
import { isLink, type Link } from './core/link.js'
import { applyTable, checked, integer, isFunction, required, type OptionTable } from './core/option-table.js'
import { PING_MESSAGE, PONG_MESSAGE, type Message } from './core/line-protocol.js'

export interface HeartbeatOptions {
  link: Link
  /**
   * How often `PING` is sent, in ms.
   * @default 15000
   */
  maintenanceInterval?: number
  /**
   * Silence after which the connection is closed with `PeerTimeoutError`, in ms.
   * @default 60000
   */
  peerTimeout?: number
  /** Told the time (ms since epoch) of every received batch. */
  onActivity?: (now: number) => void
}

/** The heartbeat's options: default and range of each. */
export const HEARTBEAT_OPTIONS = {
  link: required<Link>('a Link (an object with send and close functions)', isLink),
  maintenanceInterval: integer(DEFAULT_MAINTENANCE_INTERVAL, 1, { unit: 'ms' }),
  peerTimeout: integer(DEFAULT_PEER_TIMEOUT, 1, { unit: 'ms' }),
  onActivity: checked<((now: number) => void) | undefined>(undefined, 'a function', isFunction, 'none')
} satisfies OptionTable<HeartbeatOptions>

export function heartbeat (opts: HeartbeatOptions) {
  const settings = applyTable(HEARTBEAT_OPTIONS, opts)
  // One generator function for every connection (see `runCore` in core/sync-transform.ts for why).
  return (source: AsyncIterable<Message[]>): AsyncGenerator<Message[]> => keepAlive(source, settings)
}

/** The heartbeat's options once resolved: every one set but `onActivity`. */
type HeartbeatSettings = Required<Omit<HeartbeatOptions, 'onActivity'>> & Pick<HeartbeatOptions, 'onActivity'>

async function * keepAlive (source: AsyncIterable<Message[]>, settings: HeartbeatSettings): AsyncGenerator<Message[]> {
  const { link, onActivity, maintenanceInterval: interval, peerTimeout: timeout } = settings
  let lastSeen = Date.now()
  /** While a batch waits on a slow consumer downstream we are not reading: that is not the peer's silence. */
  let blockedDownstream = false
  let pingTimer: NodeJS.Timeout | undefined
  let silenceTimer: NodeJS.Timeout | undefined
  // Rescheduled from lastSeen when it fires, so receiving costs no timer work.
  const checkSilence = (): void => {
    const idle = blockedDownstream ? 0 : Date.now() - lastSeen
    if (idle >= timeout) link.close(new PeerTimeoutError(timeout))
    else silenceTimer = setTimeout(checkSilence, timeout - idle)
  }
  try {
    for await (const batch of source) {
      lastSeen = Date.now()
      onActivity?.(lastSeen)
      if (pingTimer === undefined) {
        pingTimer = setInterval(() => { link.send(PING_MESSAGE).catch(() => {}) }, interval)
        silenceTimer = setTimeout(checkSilence, timeout)
      }
      for (const msg of batch) {
        if (msg.type === 'ping') await link.send(PONG_MESSAGE)
      }
      blockedDownstream = true
      yield batch
      blockedDownstream = false
      lastSeen = Date.now()
    }
  } finally {
    clearInterval(pingTimer)
    clearTimeout(silenceTimer)
  }
}

/**
 * The heartbeat: sends `PING` every `maintenanceInterval` in which nothing
 * was heard from the peer (a peer heard from needs no probe: a full mesh of
 * N nodes would otherwise carry N^2 PINGs and PONGs per interval), answers
 * `PING` with `PONG`, counts every received batch as a sign of life, and closes the
 * connection after `peerTimeout` of silence (time spent waiting on a slow
 * consumer downstream, when nothing is read, does not count). Its timers start with the first
 * batch (the link is up) and are cleared when the pipeline ends, however it
 * ends.
 */
import { DEFAULT_MAINTENANCE_INTERVAL, DEFAULT_PEER_TIMEOUT } from './core/limits.js'
import { PeerTimeoutError } from './core/errors.js'
import { answerInTurn, isLink, staged, type Link, type StagedTransform } from './core/link.js'
import type { MessageStage } from './core/message-stage.js'
import { applyTable, checked, integer, isFunction, required, type OptionTable } from './core/option-table.js'
import { PING_MESSAGE, PONG_MESSAGE, type Message } from './core/line-protocol.js'

export interface HeartbeatOptions {
  link: Link
  /**
   * How often `PING` is sent, in ms: at each interval's end, when nothing
   * was received during it. An idle peer so hears from us at least every
   * two intervals (our PINGs, or our PONGs to its own).
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

export function heartbeat (opts: HeartbeatOptions): StagedTransform {
  const settings = applyTable(HEARTBEAT_OPTIONS, opts)
  return staged(() => new Heartbeat(settings))
}

/** The heartbeat's options once resolved: every one set but `onActivity`. */
type HeartbeatSettings = Required<Omit<HeartbeatOptions, 'onActivity'>> & Pick<HeartbeatOptions, 'onActivity'>

/** One connection's heartbeat. */
class Heartbeat implements MessageStage {
  private lastSeen = Date.now()
  /** Whether anything arrived since the last PING tick. */
  private heard = true
  /** While a batch waits on a slow consumer downstream we are not reading: that is not the peer's silence. */
  private blockedDownstream = false
  private pingTimer: NodeJS.Timeout | undefined
  private silenceTimer: NodeJS.Timeout | undefined

  constructor (private readonly settings: HeartbeatSettings) {}

  step (batch: Message[]): Message[] | Promise<Message[]> {
    const { onActivity } = this.settings
    this.lastSeen = Date.now()
    this.heard = true
    this.blockedDownstream = true
    onActivity?.(this.lastSeen)
    if (this.pingTimer === undefined) this.startTimers()
    let pings = 0
    for (const msg of batch) if (msg.type === 'ping') pings++
    return pings === 0 ? batch : answerInTurn(this.settings.link, pings, () => PONG_MESSAGE, batch)
  }

  resumed (): void {
    this.blockedDownstream = false
    this.lastSeen = Date.now()
  }

  end (): void {
    clearInterval(this.pingTimer)
    clearTimeout(this.silenceTimer)
  }

  private startTimers (): void {
    const { link, maintenanceInterval, peerTimeout } = this.settings
    this.pingTimer = setInterval(() => {
      if (!this.heard) link.send(PING_MESSAGE).catch(() => {})
      this.heard = false
    }, maintenanceInterval)
    this.silenceTimer = setTimeout(this.checkSilence, peerTimeout)
  }

  /** Rescheduled from `lastSeen` when it fires, so receiving costs no timer work. */
  private readonly checkSilence = (): void => {
    const { link, peerTimeout } = this.settings
    const idle = this.blockedDownstream ? 0 : Date.now() - this.lastSeen
    if (idle >= peerTimeout) link.close(new PeerTimeoutError(peerTimeout))
    else this.silenceTimer = setTimeout(this.checkSilence, peerTimeout - idle)
  }
}

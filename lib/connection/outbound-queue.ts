/**
 * A peer's outbound queue, bounded in bytes. Senders that find it full wait
 * in FIFO order; if none of them can be let in for `slowPeerTimeout`, the
 * queue reports the peer as slow so the connection can be closed on purpose
 * instead of growing memory or dropping frames. The connection's outbound
 * pipeline reads it as batches: everything queued at the moment of reading.
 */
import type { TrafficCounters } from './traffic.js'
import { ConnectionClosedError, SlowPeerError } from '../errors.js'
import { BYTES_PREFIX, messageLine, type Message } from '../../transforms/core/line-protocol.js'
import { WakeUp } from '../../transforms/core/wake-up.js'

// Browsers have no `process.nextTick`: a microtask is the nearest they have.
const nextTick: (callback: () => void) => void = typeof process === 'object' ? process.nextTick : queueMicrotask

export interface OutboundQueueOptions {
  /** Bytes the queue may hold before senders wait; one message larger than this still passes alone. */
  maxQueuedBytes: number
  /** How long senders may make no progress before the peer is reported slow, in ms. */
  slowPeerTimeout: number
  /** Told once when the peer is found slow. */
  onSlow: (err: SlowPeerError) => void
  /** Told of every sender that had to wait, and of how full the queue gets; none when not set. */
  traffic?: TrafficCounters
}

/**
 * Heap a queued message takes besides its text or payload: the message
 * object, its slot in the queue, a string's header (the `BYTES:<len>` line of
 * a payload fits in it too). Counted so that `maxQueuedBytes` bounds memory
 * for small messages as well: a queue of one-character chat lines would
 * otherwise hold 25 times its bound in objects, and a sender's collector
 * would spend a third of its time on them.
 */
export const QUEUED_MESSAGE_OVERHEAD = 64

/** Bytes a message counts for in a queue: its line's length in UTF-16 units (or its payload's bytes), plus `QUEUED_MESSAGE_OVERHEAD`. */
export function queuedSize (msg: Message): number {
  if (msg.type === 'bytes') return msg.data.byteLength + QUEUED_MESSAGE_OVERHEAD
  if (msg.type === 'chat') return msg.text.length + QUEUED_MESSAGE_OVERHEAD
  return (messageLine(msg) as string).length + QUEUED_MESSAGE_OVERHEAD
}

/** Bytes a message takes on the wire: its line and `\n` (UTF-16 units, so exact for ASCII), or its `BYTES:<len>` line and payload. */
export function wireSize (msg: Message, queued: number): number {
  const body = queued - QUEUED_MESSAGE_OVERHEAD
  if (msg.type !== 'bytes') return body + 1
  let digits = 1
  for (let rest = body; rest >= 10; rest = Math.floor(rest / 10)) digits++
  return BYTES_PREFIX.length + digits + 1 + body
}

interface Waiter {
  msg: Message
  size: number
  resolve: () => void
  reject: (err: Error) => void
}

const QUEUED = Promise.resolve()

export class OutboundQueue implements AsyncIterable<Message[]> {
  private items: Message[] = []
  private bytes = 0
  /** Wire bytes of every message taken for writing so far (see `wireSize`). */
  sentBytes = 0
  /** Wire bytes of the messages queued now. */
  private wireBytes = 0
  private readonly waiters: Waiter[] = []
  private slowTimer: NodeJS.Timeout | undefined
  /** Why the queue no longer accepts messages; set by end() or abort(). */
  private closedBy: Error | undefined
  private aborted = false
  private readonly reader = new WakeUp()

  constructor (private readonly opts: OutboundQueueOptions) {}

  /** Bytes queued and not yet taken by the pipeline. */
  get queuedBytes (): number {
    return this.bytes
  }

  /** Senders waiting for room. */
  get waiting (): number {
    return this.waiters.length
  }

  /**
   * Queues `msg` if there is room now and nobody is waiting before it.
   * @returns whether it was queued
   * @throws ConnectionClosedError once the queue is ended or aborted
   */
  offer (msg: Message): boolean {
    if (this.closedBy !== undefined) throw this.closedBy
    const size = queuedSize(msg)
    if (this.waiters.length > 0 || !this.fits(size)) return false
    this.add(msg, size)
    return true
  }

  /**
   * Queues `msg` at once if there is room (`undefined`), else waits in line
   * (the promise): a fan-out pays for a promise only where it waits.
   * @throws ConnectionClosedError once the queue is ended or aborted
   */
  enqueue (msg: Message): Promise<void> | undefined {
    if (this.offer(msg)) return undefined
    if (this.opts.traffic !== undefined) this.opts.traffic.backpressureWaits++
    return new Promise((resolve, reject) => {
      this.waiters.push({ msg, size: queuedSize(msg), resolve, reject })
      this.slowTimer ??= setTimeout(() => { this.reportSlow() }, this.opts.slowPeerTimeout)
    })
  }

  /** Queues `msg`, waiting in line while the queue is full; rejects once the queue is ended or aborted. */
  push (msg: Message): Promise<void> {
    try {
      return this.enqueue(msg) ?? QUEUED
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Accepts no more messages; the reader still gets everything queued or waiting. */
  end (reason = new ConnectionClosedError()): void {
    this.closedBy ??= reason
    this.reader.notify()
  }

  /** Drops everything: waiting senders are rejected with `reason` and the reader stops. */
  abort (reason: Error): void {
    this.closedBy ??= reason
    this.aborted = true
    clearTimeout(this.slowTimer)
    this.items = []
    this.bytes = 0
    this.wireBytes = 0
    for (const waiter of this.waiters.splice(0)) waiter.reject(reason)
    this.reader.notify()
  }

  async * [Symbol.asyncIterator] (): AsyncGenerator<Message[]> {
    while (!this.aborted) {
      if (this.items.length > 0) {
        // Senders awaiting already-resolved sends run as microtasks: let them
        // all queue before taking the batch (a tick runs once microtasks are
        // drained), or each write would carry only a message or two.
        await new Promise<void>(resolve => { nextTick(resolve) })
        if (this.aborted) return
        // No local for the batch: a suspended generator keeps its locals, and
        // the last batch would stay reachable, payloads and all, until the
        // next one is taken.
        yield this.take()
      } else if (this.closedBy !== undefined && this.waiters.length === 0) {
        return
      } else {
        await this.reader.wait()
      }
    }
  }

  /** Everything queued, as one batch; lets waiting senders in. */
  private take (): Message[] {
    const batch = this.items
    this.items = []
    this.sentBytes += this.wireBytes
    this.bytes = 0
    this.wireBytes = 0
    this.admitWaiters()
    return batch
  }

  private fits (size: number): boolean {
    return this.bytes === 0 || this.bytes + size <= this.opts.maxQueuedBytes
  }

  private add (msg: Message, size: number): void {
    this.items.push(msg)
    this.bytes += size
    this.wireBytes += wireSize(msg, size)
    if (this.opts.traffic !== undefined && this.bytes > this.opts.traffic.queueHighWaterBytes) this.opts.traffic.queueHighWaterBytes = this.bytes
    this.reader.notify()
  }

  private admitWaiters (): void {
    let admitted = false
    while (this.waiters.length > 0 && this.fits((this.waiters[0] as Waiter).size)) {
      const waiter = this.waiters.shift() as Waiter
      this.add(waiter.msg, waiter.size)
      waiter.resolve()
      admitted = true
    }
    if (!admitted) return
    // Progress was made: the slow-peer clock restarts for whoever still waits.
    clearTimeout(this.slowTimer)
    this.slowTimer = this.waiters.length > 0 ? setTimeout(() => { this.reportSlow() }, this.opts.slowPeerTimeout) : undefined
  }

  private reportSlow (): void {
    // slowTimer stays set (fired) so later senders do not restart the clock: told once until progress is made.
    if (this.waiters.length === 0 || this.aborted) return
    this.opts.onSlow(new SlowPeerError(this.opts.slowPeerTimeout, this.bytes))
  }
}

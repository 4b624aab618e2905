/**
 * Fan-out: one message queued for many peers, each through its own bounded
 * queue. A peer with room takes it at once; a full one is waited on, so a
 * broadcast resolves once every peer has it queued or has failed (and is
 * being disconnected for it). A slow peer costs the broadcast its wait,
 * never unbounded memory and never a silently lost message.
 */
import type { BroadcastResult } from '../types.js'

/** Queues for one peer: `undefined` when queued at once, else a promise that settles when queued; may throw when the peer is closing. */
export type QueueOne = () => Promise<void> | undefined

export class FanOut {
  readonly result: BroadcastResult = { queued: [], failed: [] }
  private waits: Array<Promise<void>> | undefined

  /** Queues for `peerId` through `queue`, recording whether it was queued or failed. */
  add (peerId: string, queue: QueueOne): void {
    const failed = (error: unknown): void => { this.result.failed.push({ peerId, error: error as Error }) }
    try {
      const wait = queue()
      if (wait === undefined) this.result.queued.push(peerId)
      else (this.waits ??= []).push(wait.then(() => { this.result.queued.push(peerId) }, failed))
    } catch (error) {
      failed(error)
    }
  }

  /** What to wait for before `result` is complete: `undefined` when every peer took the message at once. */
  get pending (): Promise<BroadcastResult> | undefined {
    return this.waits === undefined ? undefined : this.done()
  }

  /** Resolves with the result once every peer's queue has taken the message or failed. */
  async done (): Promise<BroadcastResult> {
    if (this.waits !== undefined) await Promise.all(this.waits)
    return this.result
  }
}

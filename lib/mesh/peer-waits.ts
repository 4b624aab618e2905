/**
 * Waiting on a node for a condition on its peers: `check()` is tried at
 * once and after every `peer:connect`, and the wait ends with its first
 * value that is not `undefined`. It fails with `NotRunningError` when the
 * node stops, `TimeoutError` after `timeout` ms and `AbortedError` when
 * `signal` aborts; its listeners and timer go with it, however it ends.
 */
import type { EventEmitter } from 'node:events'
import type { MeshEvents } from './events.js'
import { AbortedError, NotRunningError, TimeoutError } from '../errors.js'

export interface PeerWaitOptions {
  /** What is awaited, for the errors' messages. */
  what: string
  timeout?: number | undefined
  signal?: AbortSignal | undefined
}

export async function untilPeers<T> (events: EventEmitter<MeshEvents>, check: () => T | undefined, { what, timeout, signal }: PeerWaitOptions): Promise<T> {
  const now = check()
  if (now !== undefined) return now
  return await new Promise<T>((resolve, reject) => {
    const finish = (settle: () => void): void => {
      clearTimeout(timer)
      events.off('peer:connect', onConnect)
      events.off('stopped', onStopped)
      signal?.removeEventListener('abort', onAbort)
      settle()
    }
    const onConnect = (): void => {
      const value = check()
      if (value !== undefined) finish(() => { resolve(value) })
    }
    const onStopped = (): void => { finish(() => { reject(new NotRunningError()) }) }
    const onAbort = (): void => { finish(() => { reject(new AbortedError(what, { cause: signal?.reason })) }) }
    const timer = timeout === undefined ? undefined : setTimeout(() => { finish(() => { reject(new TimeoutError(what, timeout)) }) }, timeout)
    events.on('peer:connect', onConnect)
    events.on('stopped', onStopped)
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted === true) onAbort()
  })
}

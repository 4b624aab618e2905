/**
 * Waiting in tests: whether a promise has settled yet, polling a condition,
 * bounding a wait, sleeping, and counting the timers that keep a process alive.
 */
import assert from 'node:assert/strict'
import { within as bounded } from '../transforms/core/deadline.js'

export const PENDING = Symbol('pending')

/** The promise's value if it has settled by the next macrotask, else PENDING. */
export async function settled<T> (promise: Promise<T>): Promise<T | typeof PENDING> {
  return await Promise.race([promise, new Promise<typeof PENDING>(resolve => { setImmediate(() => { resolve(PENDING) }) })])
}

/** Polls `condition` until it holds; fails, naming `what`, after `ms`. */
export async function waitFor (condition: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(resolve => { setTimeout(resolve, 2) })
  }
}

/** Fails instead of hanging when `promise` does not settle within `ms`; else settles as it does. */
export async function within<T> (promise: Promise<T>, what: string, ms = 3000): Promise<T> {
  return await bounded(promise, ms, () => { throw new assert.AssertionError({ message: `timed out after ${ms} ms waiting for ${what}` }) })
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => { setTimeout(resolve, ms) }) }

/** Timers alive in this process: a transform that leaks one keeps a node from exiting. */
export const activeTimers = (): number => process.getActiveResourcesInfo().filter(r => r === 'Timeout').length

/**
 * Redialling of lost peers: one timer per address, exponential backoff with
 * jitter, a bounded number of attempts and a bounded number of addresses
 * (after hyperswarm's `retry-timer`). The supervisor says what to redial and
 * when a peer is back; this module only decides when to try again.
 */
import { LimitExceededError } from '../errors.js'

export interface ReconnectorOptions {
  /** Attempts per address before it is given up; 0 schedules nothing. */
  attempts: number
  /** Delay before the first attempt, in ms, doubled for every further one. */
  backoff: number
  /** Longest delay before jitter, in ms. */
  maxDelay: number
  /** Addresses being redialled at once, at most. */
  capacity: number
  /**
   * One attempt. Resolves when there is nothing more to do (connected, or
   * pointless to retry); rejects to be tried again later.
   */
  dial: (address: string) => Promise<void>
  /** Told when an address is given up after its last attempt, with that attempt's error. */
  onGiveUp: (address: string, attempts: number, error: unknown) => void
  /** Told when an address is not scheduled because `capacity` addresses already are. */
  onLimit: (error: LimitExceededError) => void
  /** Source of jitter, in [0, 1). @default Math.random */
  random?: () => number
}

/**
 * The delay before attempt `attempt` (from 1): `backoff * 2^(attempt-1)`,
 * at most `maxDelay`, times a jitter factor in [0.5, 1.5) so that the peers
 * of a lost node do not all redial it in the same instant.
 */
export function reconnectDelay (attempt: number, backoff: number, maxDelay: number, random: () => number = Math.random): number {
  return Math.min(backoff * 2 ** (attempt - 1), maxDelay) * (0.5 + random())
}

interface Retry {
  attempt: number
  timer: NodeJS.Timeout | undefined
}

export class Reconnector {
  private readonly retries = new Map<string, Retry>()
  private readonly random: () => number

  constructor (private readonly opts: ReconnectorOptions) {
    this.random = opts.random ?? Math.random
  }

  /** Addresses being redialled. */
  get size (): number {
    return this.retries.size
  }

  has (address: string): boolean {
    return this.retries.has(address)
  }

  /**
   * Starts redialling `address`, unless it already is. With `immediate` the
   * first attempt is made at once (a restarted node rejoining).
   * @returns whether it was scheduled
   */
  schedule (address: string, immediate = false): boolean {
    if (this.opts.attempts === 0 || this.retries.has(address)) return false
    if (this.retries.size >= this.opts.capacity) {
      this.opts.onLimit(new LimitExceededError('maxReconnects', this.opts.capacity))
      return false
    }
    const retry: Retry = { attempt: 0, timer: undefined }
    this.retries.set(address, retry)
    this.next(address, retry, immediate ? 0 : undefined)
    return true
  }

  /** Stops redialling `address`: it is connected again. */
  cancel (address: string): void {
    const retry = this.retries.get(address)
    if (retry === undefined) return
    clearTimeout(retry.timer)
    this.retries.delete(address)
  }

  /** Stops redialling everything. An attempt in flight finishes but schedules nothing more. */
  clear (): void {
    for (const retry of this.retries.values()) clearTimeout(retry.timer)
    this.retries.clear()
  }

  private next (address: string, retry: Retry, delay?: number): void {
    retry.attempt++
    const wait = delay ?? reconnectDelay(retry.attempt, this.opts.backoff, this.opts.maxDelay, this.random)
    retry.timer = setTimeout(() => { void this.attempt(address, retry) }, wait)
  }

  private async attempt (address: string, retry: Retry): Promise<void> {
    retry.timer = undefined
    try {
      await this.opts.dial(address)
      if (this.retries.get(address) === retry) this.retries.delete(address)
    } catch (error) {
      // Cancelled or cleared while the attempt was in flight.
      if (this.retries.get(address) !== retry) return
      if (retry.attempt < this.opts.attempts) {
        this.next(address, retry)
        return
      }
      this.retries.delete(address)
      this.opts.onGiveUp(address, retry.attempt, error)
    }
  }
}

/**
 * The dialler: every outbound connection a node makes. `connect()` for the
 * application (retried with backoff), one shared attempt per address at a
 * time through a bounded queue, redials of lost peers, the rejoin through a
 * peers file, and the jittered dials of discovered addresses. What each
 * attempt teaches goes to the address book.
 */
import PQueue from 'p-queue'
import type { AddressBook, KnownPeer } from './address-book.js'
import { Reconnector, reconnectDelay } from './reconnect.js'
import type { SelfAddresses } from './self-addresses.js'
import { randomSample } from './shuffled.js'
import { AbortedError, DialError, DuplicatePeerError, MaxPeersError, NotRunningError, SelfConnectionError, TimeoutError, type LimitExceededError } from '../errors.js'
import { raceSignal, sleep } from '../../transforms/core/deadline.js'
import { checked, optionalInteger, type OptionTable } from '../../transforms/core/option-table.js'
import type { ResolvedOptions } from '../options/node-options.js'
import type { PeerInfo } from '../types.js'
import { normalizeAddress } from '../../transforms/core/line-protocol.js'

export type DiallerOptions = Pick<ResolvedOptions,
'maxPeers' | 'connectionTimeout' | 'dialConcurrency' | 'dialsPerDiscovery' | 'dialJitter' | 'bootstrapAttempts' | 'bootstrapBackoff' |
'reconnectAttempts' | 'reconnectBackoff' | 'reconnectMaxDelay' | 'maxReconnects'>

/** How one `connect()` call may differ from the node's defaults. */
export interface ConnectOptions {
  /** Dials tried before giving up. @default the node's `bootstrapAttempts` */
  attempts?: number
  /** Time the whole call may take, every attempt and backoff included, in ms; then it fails with a `DialError` whose cause is a `TimeoutError`. @default no limit beyond each attempt's `connectionTimeout` */
  timeout?: number
  /** Aborts the call (not a dial other callers share): it rejects with `AbortedError`. */
  signal?: AbortSignal
}

/** Each `connect()` option's default and range. */
export const CONNECT_OPTIONS = {
  attempts: optionalInteger(1, "the node's bootstrapAttempts"),
  timeout: optionalInteger(1, 'no limit', { unit: 'ms' }),
  signal: checked<AbortSignal | undefined>(undefined, 'an AbortSignal', value => value instanceof AbortSignal, 'none')
} satisfies OptionTable<ConnectOptions>

/** What the dialler needs of its node. */
export interface DiallerHost {
  readonly running: boolean
  /** Aborted when the node stops: every wait of a dial ends then. */
  readonly signal: AbortSignal
  readonly book: AddressBook
  readonly self: SelfAddresses
  /** The connected peer that listens at `address`. */
  peerAt: (address: string) => PeerInfo | undefined
  /** How many peers are connected. */
  peerCount: () => number
  /** One attempt: secures a link to `address` and runs its handshake; resolves with the peer. */
  open: (address: string) => Promise<PeerInfo>
  /** After a successful `connect()`: joins the overlay through the peer, where there is one. */
  joined: (peer: PeerInfo) => Promise<void> | undefined
  /** Resolves with the peer at `address` once it is connected, or `undefined` after `ms` or once the node stops. */
  peerSoonAt: (address: string, ms: number) => Promise<PeerInfo | undefined>
  onDialFailed: (address: string, error: Error) => void
  onLimit: (error: LimitExceededError) => void
  /** Known addresses go undialled because this node is at `maxPeers`. */
  full: () => void
}

export class Dialler {
  private readonly dialing = new Map<string, Promise<PeerInfo>>()
  private readonly queue: PQueue
  /** Discovered addresses whose dial waits out its jitter. */
  private readonly scheduled = new Set<string>()
  private readonly reconnector: Reconnector

  constructor (private readonly opts: DiallerOptions, private readonly host: DiallerHost) {
    this.queue = new PQueue({ concurrency: opts.dialConcurrency })
    this.reconnector = new Reconnector({
      attempts: opts.reconnectAttempts,
      backoff: opts.reconnectBackoff,
      maxDelay: opts.reconnectMaxDelay,
      capacity: opts.maxReconnects,
      dial: async address => { await this.redial(address) },
      onGiveUp: (address, attempts, cause) => { host.onDialFailed(address, new DialError(address, attempts, { cause })) },
      onLimit: host.onLimit
    })
  }

  /** Dials in flight or queued, waiting out their jitter, and being redialled. */
  get sizes (): { dialing: number, scheduledDials: number, reconnecting: number } {
    return { dialing: this.dialing.size, scheduledDials: this.scheduled.size, reconnecting: this.reconnector.size }
  }

  /** Whether this node is dialling `address` right now. */
  isDialing (address: string): boolean {
    return this.dialing.has(address)
  }

  /**
   * Connects to `address`, retrying with exponential backoff and jitter up
   * to `attempts` times, within `timeout` and until `signal` aborts. See
   * `MeshNode.connect()`.
   */
  async connect (address: string, { attempts = this.opts.bootstrapAttempts, timeout, signal }: ConnectOptions = {}): Promise<PeerInfo> {
    const target = normalizeAddress(address)
    const expired = timeout === undefined ? undefined : new TimeoutError(`connect to ${target}`, timeout)
    const deadline = new AbortController()
    const timer = expired === undefined ? undefined : setTimeout(() => { deadline.abort(expired) }, timeout)
    const waits = AbortSignal.any([this.host.signal, deadline.signal, ...(signal === undefined ? [] : [signal])])
    let lastError: unknown
    let attempt = 0
    try {
      while (attempt < attempts) {
        attempt++
        try {
          const peer = await raceSignal(this.dial(target), waits)
          await this.host.joined(peer)
          return peer
        } catch (err) {
          lastError = err
          // Lost a simultaneous-dial tie-break: the other connection to this peer is the one kept,
          // and when the peer refused us because it is dialling us, that connection is moments away.
          const kept = err instanceof DuplicatePeerError
            ? await raceSignal(this.host.peerSoonAt(target, this.opts.connectionTimeout), waits).catch(() => undefined)
            : undefined
          if (kept !== undefined) return kept
          if (waits.aborted || err instanceof SelfConnectionError || err instanceof NotRunningError || err instanceof MaxPeersError || err instanceof DuplicatePeerError) break
          if (attempt < attempts) await sleep(reconnectDelay(attempt, this.opts.bootstrapBackoff, Infinity), waits).catch(() => {})
          if (waits.aborted) break
        }
      }
    } finally {
      clearTimeout(timer)
    }
    // Stopping the node and the caller's abort are no failures of the address.
    if (this.host.signal.aborted || lastError instanceof NotRunningError) throw new NotRunningError()
    if (signal?.aborted === true) throw new AbortedError(`connect to ${target}`, { cause: signal.reason })
    // The cause is the last attempt's own error, not its single-attempt DialError wrapper.
    const cause = deadline.signal.aborted ? expired : lastError instanceof DialError && lastError.cause !== undefined ? lastError.cause : lastError
    const error = new DialError(target, attempt, { cause })
    this.host.onDialFailed(target, error)
    throw error
  }

  /** A single dial attempt, shared by everyone who asks for the same address meanwhile. */
  dial (address: string): Promise<PeerInfo> {
    const { host } = this
    if (!host.running) return Promise.reject(new NotRunningError())
    if (host.self.has(address)) return Promise.reject(new SelfConnectionError())
    const connected = host.peerAt(address)
    if (connected !== undefined) return Promise.resolve(connected)
    const inFlight = this.dialing.get(address)
    if (inFlight !== undefined) return inFlight
    const attempt = this.queue.add(async () => await host.open(address), { signal: host.signal })
      .finally(() => { this.dialing.delete(address) })
    attempt.catch((err: unknown) => {
      if (!(err instanceof SelfConnectionError)) {
        // Whatever answered there last may have changed: the next dial tries Noise again first.
        host.book.setSecurity(address, undefined)
        // An address that keeps failing is forgotten until someone mentions it again.
        if (host.book.recordFailure(address) >= Math.max(1, this.opts.reconnectAttempts)) host.book.remove(address)
        return
      }
      // Another name for this node: never dial or share it again.
      host.self.learn(address)
      host.book.remove(address)
    })
    this.dialing.set(address, attempt)
    return attempt
  }

  /** Redials a lost peer that this node had dialled, with backoff, until `reconnectAttempts`. */
  redialLater (address: string): void {
    this.reconnector.schedule(address)
  }

  /** A peer at `address` is connected again: no redial is needed. */
  connected (address: string): void {
    this.reconnector.cancel(address)
  }

  /** Rejoins through the addresses remembered by an earlier run, most recently dialled first. */
  rejoin (remembered: readonly string[]): void {
    const { book } = this.host
    for (const address of remembered) {
      book.add(address)
      book.markDialed(address, 0)
    }
    for (const address of remembered.slice(0, this.opts.maxReconnects)) this.reconnector.schedule(address, true)
  }

  /**
   * Dials a few random unconnected addresses, while there is room for more
   * peers. Dials still waiting out their jitter count against the room, so
   * a flood of `PEERS:` lists cannot pile up timers.
   */
  dialSome (): void {
    const { host } = this
    if (!host.running) return
    const room = this.opts.maxPeers - host.peerCount() - this.dialing.size - this.scheduled.size
    const idle = (known: KnownPeer): boolean => !this.dialing.has(known.address) && !this.scheduled.has(known.address) &&
      !this.reconnector.has(known.address) && !host.self.has(known.address)
    const dialable = host.book.dialable()
    if (room <= 0) {
      if (host.peerCount() >= this.opts.maxPeers && dialable.some(idle)) host.full()
      return
    }
    const candidates = randomSample(dialable, Math.min(room, this.opts.dialsPerDiscovery), idle)
    for (const { address } of candidates) {
      const jitter = Math.random() * this.opts.dialJitter
      const signal = host.signal
      this.scheduled.add(address)
      void sleep(jitter, signal)
        .finally(() => { this.scheduled.delete(address) })
        .then(async () => await this.dial(address))
        .catch((error: Error) => {
          if (!signal.aborted) host.onDialFailed(address, error)
        })
    }
  }

  /** Stops redialling; dials in flight end with the node's signal. Resolves once the queue is idle. */
  async stop (): Promise<void> {
    this.reconnector.clear()
    await this.queue.onIdle()
  }

  /** One redial attempt; resolves when there is nothing more to do, rejects to be tried again. */
  private async redial (address: string): Promise<void> {
    const { host } = this
    if (host.peerAt(address) !== undefined || !host.running) return
    if (host.peerCount() >= this.opts.maxPeers) throw new MaxPeersError('this node is at maxPeers')
    try {
      await this.dial(address)
    } catch (err) {
      if (err instanceof SelfConnectionError || err instanceof NotRunningError) return
      if (err instanceof DuplicatePeerError && host.peerAt(address) !== undefined) return
      throw err
    }
  }
}

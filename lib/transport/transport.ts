/**
 * The transport contract: how a node gets byte duplexes to and from other
 * nodes. TCP is the default; the in-memory transport passes the same
 * contract tests and lets one process simulate many nodes.
 */
import { DialError } from '../errors.js'
import type { ByteChunk } from '../../transforms/core/bytes.js'

export type { ByteChunk }

/** Connections the kernel queues for a TCP listener before they are accepted (Node's own default). */
export const DEFAULT_LISTEN_BACKLOG = 511

/** Bytes read from a socket and not yet consumed before it is paused. */
export const DEFAULT_READ_HIGH_WATER_MARK = 256 * 1024

/** Bytes a socket's writer writes back to back before it lets the event loop turn: about a quarter of a millisecond on loopback. */
export const DEFAULT_WRITE_BURST_BYTES = 1024 * 1024

/** One connection's bytes, both directions, as async iterables. */
export interface Transport {
  /** Bytes from the peer. Reading slowly slows the peer down; it never buffers without bound. */
  readonly source: AsyncIterable<ByteChunk>
  /** Writes every chunk of `source` to the peer, waiting whenever the peer is not ready; then ends the write side. */
  sink: (source: AsyncIterable<ByteChunk>) => Promise<void>
  /** The other end's address as `host:port`. */
  readonly remoteAddress: string
  /** The other end's host. */
  readonly remoteHost: string
  /** This end's host, as the peer sees it. */
  readonly localHost: string
  /** Closes both directions at once; pending reads end and pending writes fail. */
  close: () => void
  /** Resolves once the connection is fully closed. */
  readonly closed: Promise<void>
}

export interface DialOptions {
  /** Give up after this long, in ms. */
  timeout: number
  signal?: AbortSignal
}

/** A listening endpoint. */
export interface TransportListener {
  /** The bound host and port (the port is real even when 0 was asked for). */
  readonly host: string
  readonly port: number
  /** Stops accepting new connections; resolves once the ones it accepted have closed too. */
  close: () => Promise<void>
}

/** Opens and accepts connections. */
export interface TransportFactory {
  dial: (host: string, port: number, opts: DialOptions) => Promise<Transport>
  listen: (host: string, port: number, onConnection: (transport: Transport) => void) => Promise<TransportListener>
}

/**
 * Waits for a connection being dialled to `address` to open, within the
 * dial's `timeout` and until its `signal`: `opened(signal)` resolves once
 * it is open, rejects on its error, and stops waiting when `signal` aborts.
 * @throws DialError, its cause the connection's error, the timeout or the abort, once `abandon()` has closed the connection
 */
export async function whenOpen (opened: (signal: AbortSignal) => Promise<unknown>, address: string, opts: DialOptions, abandon: () => void): Promise<void> {
  const timeout = AbortSignal.timeout(opts.timeout)
  const signal = opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout])
  try {
    await opened(signal)
  } catch (err) {
    abandon()
    throw new DialError(address, 1, { cause: err })
  }
}

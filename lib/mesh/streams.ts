/**
 * A node's protocol streams: the handlers registered for each protocol,
 * opening streams to connected peers, and request/response on top. The
 * streams themselves live in each connection's `StreamMux`; this is where
 * the node's API meets them.
 */
import type { EventEmitter } from 'node:events'
import { isUint8ArrayList, type Uint8ArrayList } from 'uint8arraylist'
import type { MeshEvents } from './events.js'
import { AbortedError, DuplicateHandlerError, InvalidMessageError, TimeoutError } from '../errors.js'
import type { ProtocolStream, StreamChunk } from '../connection/protocol-stream.js'
import { exchange, respond } from '../connection/request-response.js'
import type { AcceptStream, StreamMux } from '../connection/stream-mux.js'
import { MAX_PROTOCOL_LENGTH } from '../connection/stream-protocol.js'
import { applyTable, checkArgument, checked, isFunction, optionalInteger, type OptionTable } from '../../transforms/core/option-table.js'
import type { PeerInfo } from '../types.js'

/** What a stream handler is given: the stream, the peer that opened it, and the protocol it was opened for. */
export interface IncomingStream {
  stream: ProtocolStream
  peer: PeerInfo
  protocol: string
}

/** Takes a stream a peer opened. What it throws or rejects with resets the stream and is reported as `stream:error`. */
export type StreamHandler = (incoming: IncomingStream) => void | Promise<void>

/** Answers one request's bytes with the response's. What it throws resets the stream: the requester gets a `StreamResetError`. */
export type RequestHandler = (request: Uint8Array, peer: PeerInfo) => Uint8Array | Uint8ArrayList | Promise<Uint8Array | Uint8ArrayList>

export interface OpenStreamOptions {
  /** In ms, until the remote accepted; then it rejects with `TimeoutError`. @default the node's connectionTimeout */
  timeout?: number
  /** Rejects it with `AbortedError` (and resets a stream the remote may be accepting). */
  signal?: AbortSignal
}

export interface RequestOptions extends OpenStreamOptions {
  /** In ms, for the whole exchange. @default the node's connectionTimeout */
  timeout?: number
  /** Largest response read, in bytes; a longer one resets the stream and rejects with `LimitExceededError`. @default the node's maxBytesPerMessage */
  maxResponseBytes?: number
}

export interface RequestHandlerOptions {
  /** Largest request read, in bytes; a longer one resets the stream. @default the node's maxBytesPerMessage */
  maxRequestBytes?: number
}

const signalOption = checked<AbortSignal | undefined>(undefined, 'an AbortSignal', value => value instanceof AbortSignal, 'none')

export const OPEN_STREAM_OPTIONS = {
  timeout: optionalInteger(1, "the node's connectionTimeout", { unit: 'ms' }),
  signal: signalOption
} satisfies OptionTable<OpenStreamOptions>

export const REQUEST_OPTIONS = {
  ...OPEN_STREAM_OPTIONS,
  maxResponseBytes: optionalInteger(0, "the node's maxBytesPerMessage", { unit: 'bytes' })
} satisfies OptionTable<RequestOptions>

export const REQUEST_HANDLER_OPTIONS = {
  maxRequestBytes: optionalInteger(0, "the node's maxBytesPerMessage", { unit: 'bytes' })
} satisfies OptionTable<RequestHandlerOptions>

/** What the streams need of their node. */
export interface ProtocolStreamsHost {
  readonly events: EventEmitter<MeshEvents>
  /** The stream mux of the connected peer `peerId`. @throws PeerNotFoundError, NotRunningError */
  streamsOf: (peerId: string) => StreamMux
  connectionTimeout: number
  maxBytesPerMessage: number
}

const utf8 = new TextEncoder()

/** Whether `value` can name a protocol: 1 to `MAX_PROTOCOL_LENGTH` UTF-8 bytes, no control characters. */
function isProtocolName (value: unknown): boolean {
  // eslint-disable-next-line no-control-regex
  return typeof value === 'string' && value.length > 0 && utf8.encode(value).length <= MAX_PROTOCOL_LENGTH && !/[\u0000-\u001f\u007f]/.test(value)
}

const PROTOCOL_NAME = `a protocol name of 1 to ${MAX_PROTOCOL_LENGTH} bytes without control characters (such as "/chat/1.0.0")`

export class ProtocolStreams {
  private readonly handlers = new Map<string, StreamHandler>()

  constructor (private readonly host: ProtocolStreamsHost) {}

  /**
   * Takes every stream peers open for `protocol`.
   * @returns a function that removes the handler; streams already open go on
   * @throws InvalidArgumentError, DuplicateHandlerError
   */
  handle (protocol: string, handler: StreamHandler): () => void {
    checkArgument('protocol', PROTOCOL_NAME, protocol, isProtocolName)
    checkArgument('handler', 'a function ({ stream, peer, protocol })', handler, isFunction)
    if (this.handlers.has(protocol)) throw new DuplicateHandlerError(protocol, 'protocol')
    this.handlers.set(protocol, handler)
    return () => { if (this.handlers.get(protocol) === handler) this.handlers.delete(protocol) }
  }

  /** Answers every request peers send for `protocol` with what `handler` returns. See `handle()`. */
  handleRequests (protocol: string, handler: RequestHandler, options?: RequestHandlerOptions): () => void {
    checkArgument('handler', 'a function (request, peer) returning bytes', handler, isFunction)
    const maxRequestBytes = applyTable(REQUEST_HANDLER_OPTIONS, options).maxRequestBytes ?? this.host.maxBytesPerMessage
    return this.handle(protocol, async ({ stream, peer }) => {
      await respond(stream, async request => {
        const response = await handler(request, peer)
        if (!(response instanceof Uint8Array) && !isUint8ArrayList(response)) {
          throw new InvalidMessageError(`request handler for ${protocol} returned ${typeof response}, not a Uint8Array or Uint8ArrayList`)
        }
        return response
      }, maxRequestBytes, `request handler for ${protocol} failed`)
    })
  }

  /** How the connection with `peer` takes a stream opened for `protocol`; `undefined` refuses it. */
  accept (protocol: string, peerOf: () => PeerInfo | undefined): AcceptStream | undefined {
    const handler = this.handlers.get(protocol)
    const peer = peerOf()
    if (handler === undefined || peer === undefined) return undefined
    const info = { ...peer }
    return stream => {
      const failed = (error: unknown): void => {
        // A stream reset meanwhile (by the peer, or its link closing) is no fault of the handler.
        if (error === stream.error) return
        stream.abort(new Error(`handler for ${protocol} failed`))
        this.host.events.emit('stream:error', { error: error as Error, peer: info, protocol })
      }
      try {
        handler({ stream, peer: info, protocol })?.catch(failed)
      } catch (error) {
        failed(error)
      }
    }
  }

  /**
   * Opens a stream to a connected peer; resolves once the peer accepted it.
   * @throws PeerNotFoundError, StreamsUnsupportedError, ProtocolUnsupportedError, TooManyStreamsError, TimeoutError, AbortedError
   */
  async open (peerId: string, protocol: string, options?: OpenStreamOptions): Promise<ProtocolStream> {
    checkArgument('peerId', 'a peer id string', peerId, value => typeof value === 'string')
    checkArgument('protocol', PROTOCOL_NAME, protocol, isProtocolName)
    const { timeout, signal } = applyTable(OPEN_STREAM_OPTIONS, options)
    return await this.host.streamsOf(peerId).open(protocol, { timeout: timeout ?? this.host.connectionTimeout, signal })
  }

  /**
   * Sends `request` on a new stream and resolves with the response. The
   * request is written without waiting for the stream to be accepted, so an
   * exchange takes one round trip.
   * @throws what `open()` throws; StreamResetError (the handler failed, or the connection closed); LimitExceededError; TimeoutError
   */
  async request (peerId: string, protocol: string, request: StreamChunk, options?: RequestOptions): Promise<Uint8Array> {
    checkArgument('peerId', 'a peer id string', peerId, value => typeof value === 'string')
    checkArgument('protocol', PROTOCOL_NAME, protocol, isProtocolName)
    checkArgument('request', 'a Uint8Array or Uint8ArrayList', request, value => value instanceof Uint8Array || isUint8ArrayList(value))
    const { timeout, signal, maxResponseBytes } = applyTable(REQUEST_OPTIONS, options)
    const limit = timeout ?? this.host.connectionTimeout
    const started = performance.now()
    const stream = await this.host.streamsOf(peerId).open(protocol, { timeout: limit, signal, early: true })
    // One timer and one listener for the whole exchange: each ends it by aborting the stream with why.
    let ended: Error | undefined
    const end = (error: Error): void => {
      ended ??= error
      stream.abort(error)
    }
    const timer = setTimeout(() => { end(new TimeoutError(`request on ${protocol}`, limit)) }, Math.max(1, limit - (performance.now() - started)))
    const onAbort = (): void => { end(new AbortedError(`request on ${protocol}`, { cause: signal?.reason })) }
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await exchange(stream, request, maxResponseBytes ?? this.host.maxBytesPerMessage)
    } catch (err) {
      throw ended ?? err
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }
}

/**
 * One connection: a transport and two pipelines, and the protocol streams
 * multiplexed over them.
 *
 *   inbound:  transport.source -> messageDecoder -> protocol stages... -> streams -> inbound stages... -> deliver
 *   outbound: queue -> outbound stages... -> encoder -> transport.sink
 *
 * Inbound stages, and the streams, answer the peer only through the
 * connection's queue (the `Link`). Closing is explicit: with a reason, flushing what is queued for at
 * most `lingerTimeout`, then the transport is closed and `done` resolves.
 *
 * Until `established()` is called, what the remote sends is counted against
 * `maxHandshakeBytes`: the frame decoder would otherwise buffer a whole
 * `BYTES` payload for a peer that has not even said who it is.
 */
import { pipe } from 'it-pipe'
import { OutboundQueue } from './outbound-queue.js'
import { StreamMux, type StreamMuxOptions } from './stream-mux.js'
import { ConnectionClosedError, HandshakeTooLargeError, SlowPeerError } from '../errors.js'
import type { ByteChunk, Transport } from '../transport/transport.js'
import type { HandshakeRole } from '../../transforms/classifier.js'
import { encoder } from '../../transforms/encoder.js'
import type { FrameDecoderOptions } from '../../transforms/frame-decoder.js'
import { messageDecoder } from '../../transforms/message-decoder.js'
import { composeTransforms, type ConnectionContext, type Link, type MessageTransform } from '../../transforms/core/link.js'
import type { Message } from '../../transforms/core/line-protocol.js'
import type { TrafficCounters } from './traffic.js'
import { DEFAULT_MAX_BYTES_PER_MESSAGE } from '../../transforms/core/limits.js'

/** What the connection's stream mux is given beyond the connection's own role, link and payload limit. */
export type StreamSettings = Omit<StreamMuxOptions, 'role' | 'link' | 'maxBytesPerMessage'>

export interface ConnectionOptions extends FrameDecoderOptions {
  transport: Transport
  role: Exclude<HandshakeRole, 'none'>
  /** Bytes the outbound queue holds before senders wait. */
  maxQueuedBytes: number
  /** Bytes the remote may send before `established()`; unlimited when not set. */
  maxHandshakeBytes?: number
  /** How long senders may make no progress before the peer is closed as slow, in ms. */
  slowPeerTimeout: number
  /** How long a graceful close may spend flushing the queue, in ms. */
  lingerTimeout: number
  /** What the stages are told of this connection. */
  context: ConnectionContext
  /** Builds the line protocol's stages that follow the classifier, given this connection's link. */
  protocol: (link: Link) => MessageTransform[]
  /** Protocol streams over this connection; none when not set. */
  streams?: StreamSettings
  /** Inbound stages after the protocol's and the streams'. */
  inbound: MessageTransform[]
  /** Outbound stages, before the encoder. */
  outbound: MessageTransform[]
  /** The end of the inbound pipeline: consumes every batch. */
  deliver: (source: AsyncIterable<Message[]>) => Promise<void>
  /** Told once, synchronously, when the connection starts closing. */
  onClose: (reason: Error) => void
  /** Counts every message queued on this connection; none when not set. */
  traffic?: TrafficCounters
}

/** A stage for it-pipe, which passes a source only: `transform` with this connection's context. */
function withContext (transform: MessageTransform, context: ConnectionContext): (source: AsyncIterable<Message[]>) => AsyncIterable<Message[]> {
  return source => transform(source, context)
}

export class Connection implements Link {
  readonly transport: Transport
  readonly role: Exclude<HandshakeRole, 'none'>
  /** Why the connection closed (or is closing); `undefined` while open. */
  closeReason: Error | undefined
  /** Resolves when both pipelines have ended and the transport is closed. */
  readonly done: Promise<void>
  /** The protocol streams carried by this connection, if it has them. */
  readonly streams: StreamMux | undefined
  private readonly queue: OutboundQueue
  private readonly lingerTimeout: number
  private readonly onClose: (reason: Error) => void
  private readonly traffic: TrafficCounters | undefined
  private lingerTimer: NodeJS.Timeout | undefined
  private handshaking = true

  constructor (opts: ConnectionOptions) {
    this.transport = opts.transport
    this.role = opts.role
    this.lingerTimeout = opts.lingerTimeout
    this.onClose = opts.onClose
    this.traffic = opts.traffic
    this.queue = new OutboundQueue({
      maxQueuedBytes: opts.maxQueuedBytes,
      slowPeerTimeout: opts.slowPeerTimeout,
      onSlow: err => { this.close(err) },
      traffic: opts.traffic
    })

    const link = this.stageLink()
    this.streams = opts.streams === undefined
      ? undefined
      : new StreamMux({ ...opts.streams, role: opts.role, link, maxBytesPerMessage: opts.maxBytesPerMessage ?? DEFAULT_MAX_BYTES_PER_MESSAGE, traffic: opts.traffic })
    const stages = [...opts.protocol(link), ...(this.streams === undefined ? [] : [this.streams.inbound]), ...opts.inbound]
    const handshakeLimit = opts.maxHandshakeBytes ?? Infinity
    const inbound = pipe(
      this.transport.source,
      messageDecoder({
        maxLineLength: opts.maxLineLength,
        maxBytesPerMessage: opts.maxBytesPerMessage,
        role: opts.role,
        onChunk: chunk => { this.meter(chunk, handshakeLimit) }
      }),
      withContext(composeTransforms(stages), opts.context),
      opts.deliver
    ).then(
      () => { this.close(new ConnectionClosedError('remote closed the connection')) },
      (err: Error) => { this.close(err) }
    )
    const outbound = pipe(
      this.queue,
      withContext(composeTransforms(opts.outbound), opts.context),
      encoder(),
      this.transport.sink
    ).catch((err: Error) => { this.close(err) })

    this.done = Promise.all([inbound, outbound]).then(async () => {
      clearTimeout(this.lingerTimer)
      // Nothing will be written any more: senders still waiting for room are told so, and the slow-peer clock stops.
      this.queue.abort(new ConnectionClosedError(this.closeReason?.message))
      this.transport.close()
      await this.transport.closed
    })
  }

  /** Marks the handshake complete: from now on the remote may send any amount. */
  established (): void {
    this.handshaking = false
  }

  /** Queues a message, waiting while the queue is full. Rejects once the connection is closing. */
  send (msg: Message): Promise<void> {
    this.traffic?.countSent(msg)
    return this.queue.push(msg)
  }

  /** Queues a message at once if there is room, else waits in line; see `OutboundQueue.enqueue`. */
  enqueue (msg: Message): Promise<void> | undefined {
    this.traffic?.countSent(msg)
    return this.queue.enqueue(msg)
  }

  /** Bytes of the line protocol received on this connection (on a Noise link, as decrypted). */
  bytesReceived = 0

  /** Bytes of the line protocol taken from the queue for writing on this connection (see `wireSize`). */
  get bytesSent (): number {
    return this.queue.sentBytes
  }

  /** Bytes queued and not yet written, counted as the queue counts them. */
  get queuedBytes (): number {
    return this.queue.queuedBytes
  }

  /**
   * The link the inbound stages answer through. Once the connection is
   * closing, an answer (`PONG`, `PEERS:`) can no longer go out; it is dropped
   * instead of failing the stage, because a failed stage would end the
   * inbound pipeline and lose what the peer still sends before it closes its
   * side (a connection superseded by a simultaneous one is read to its end).
   */
  private stageLink (): Link {
    return {
      send: async msg => {
        await this.send(msg).catch((err: unknown) => { if (this.closeReason === undefined) throw err })
      },
      close: reason => { this.close(reason) }
    }
  }

  /**
   * Counts what arrives, and bounds it by `handshakeLimit` until the
   * handshake is done. A chunk is refused only when the bytes before it
   * already reach the limit, so the chunk that completes a handshake may
   * carry the peer's first messages along.
   */
  private meter (chunk: ByteChunk, handshakeLimit: number): void {
    if (this.handshaking && this.bytesReceived >= handshakeLimit) throw new HandshakeTooLargeError(handshakeLimit)
    this.bytesReceived += chunk.byteLength
  }

  /**
   * Closes the connection with `reason`. What is queued is still flushed,
   * for at most `lingerTimeout`, unless the peer is slow (then at once).
   */
  close (reason: Error): void {
    if (this.closeReason !== undefined) return
    this.closeReason = reason
    this.onClose(reason)
    // Before the queue ends, so that each stream's RESET still goes out.
    this.streams?.close(reason)
    if (reason instanceof SlowPeerError) {
      this.queue.abort(reason)
      this.transport.close()
      return
    }
    this.queue.end(new ConnectionClosedError(reason.message))
    this.lingerTimer = setTimeout(() => {
      this.queue.abort(reason)
      this.transport.close()
    }, this.lingerTimeout)
  }
}

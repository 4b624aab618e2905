/**
 * Protocol streams over one connection: many independent, flow-controlled
 * duplex streams carried in `BYTES` frames under `STREAM_PREFIX`, each
 * opened for a named protocol that the remote accepts or refuses.
 *
 *   inbound:  ...classifier, handshake... -> mux.inbound (takes stream frames out) -> the user's stages
 *   outbound: stream writes -> the connection's queue (the `Link`)
 *
 * Taking frames in never waits: a stream buffers at most the window it
 * granted, so a stream whose reader stalls holds back nobody else. A frame
 * that breaks the protocol resets only the stream it names; only a frame too
 * short to name one is a connection error.
 *
 * Stream frames go only to a peer known to be a meshline node: one that
 * sent this node a meshline sub-protocol frame, or answered `probe()` within
 * `capabilityTimeout`. A line-protocol peer is never sent one.
 */
import type { Uint8ArrayList } from 'uint8arraylist'
import { AbortedError, ProtocolUnsupportedError, StreamResetError, StreamsUnsupportedError, StreamFrameError, TimeoutError, TooManyStreamsError } from '../errors.js'
import { integer, type OptionTable } from '../../transforms/core/option-table.js'
import { staged, type Link, type StagedTransform } from '../../transforms/core/link.js'
import type { Message } from '../../transforms/core/line-protocol.js'
import { ProtocolStream, type StreamCarrier } from './protocol-stream.js'
import { BASE_WINDOW, EARLY_MAX_FRAME, MAX_STREAM_ID, ResetCode, resetReason, STREAM_HEADER_LENGTH, decodeStreamFrame, encodeStreamFrame, isStreamPayload, type StreamFrame } from './stream-protocol.js'
import type { TrafficCounters } from './traffic.js'

export interface StreamOptions {
  /** Streams open with one peer at most, in each direction; a peer that opens more is refused with `TooManyStreamsError`. */
  maxStreamsPerPeer?: number
  /** Bytes a stream's remote may send before the reader has read any (its first receive window). */
  streamWindow?: number
  /** Bytes a stream buffers at most for its reader: its receive window grows up to this while the reader keeps up. */
  maxStreamWindow?: number
  /** Bytes by which the receive windows of one peer's streams may grow in total past `streamWindow` each. */
  maxStreamGrowthPerPeer?: number
}

/** Each stream option's default, range and unit. */
export const STREAM_OPTIONS = {
  maxStreamsPerPeer: integer(256, 1, { max: 65_536 }),
  streamWindow: integer(256 * 1024, BASE_WINDOW, { max: 0xffff_ffff, unit: 'bytes' }),
  maxStreamWindow: integer(64 * 1024 * 1024, BASE_WINDOW, { max: 0xffff_ffff, unit: 'bytes' }),
  maxStreamGrowthPerPeer: integer(64 * 1024 * 1024, 0, { unit: 'bytes' })
} satisfies OptionTable<StreamOptions>

/** Largest `DATA` payload in one frame, in bytes: big enough for full-speed writes, small enough that streams interleave. */
const MAX_DATA_FRAME = 256 * 1024

/** What the remote is, as far as streams go. */
export type RemoteKind = 'unknown' | 'meshline' | 'line-protocol'

/** A stream the remote opened and this node accepted. */
export type AcceptStream = (stream: ProtocolStream) => void

export interface StreamMuxOptions extends Required<StreamOptions> {
  /** `dialer` numbers its streams odd, `listener` even. */
  role: 'dialer' | 'listener'
  /** The connection's largest `BYTES` payload, in bytes: a `DATA` frame and its header fit in it. */
  maxBytesPerMessage: number
  /** How long the remote has to answer `probe()`, in ms. */
  capabilityTimeout: number
  /** The connection the frames go through. */
  link: Pick<Link, 'send'>
  /** The remote's id, for errors. */
  remoteId: () => string
  /** Asks the remote to show it is a meshline node (it then sends a meshline sub-protocol frame). */
  probe: () => Promise<void>
  /** How a stream the remote opens for `protocol` is taken; `undefined` refuses it. */
  accept: (protocol: string) => AcceptStream | undefined
  /** Where streams opened and refused are counted. */
  traffic?: TrafficCounters | undefined
}

/** How long `open()` may wait, and what may end it sooner. */
export interface OpenOptions {
  /** In ms; then it rejects with `TimeoutError`. */
  timeout: number
  signal?: AbortSignal | undefined
  /**
   * Resolve as soon as the `OPEN` is queued, not once it is accepted: the
   * stream may be written at once (early data), and fails with the refusal
   * if there is one.
   */
  early?: boolean
}

export class StreamMux {
  /** Open streams by id, both directions, from their `OPEN`. */
  private readonly streams = new Map<number, ProtocolStream>()
  private nextId: number
  private inboundCount = 0
  private outboundCount = 0
  /** Bytes the receive windows grew by, over every stream still receiving. */
  private growth = 0
  private remote: RemoteKind = 'unknown'
  private knownWaiters: Array<() => void> = []
  private probing: Promise<void> | undefined
  private closedBy: Error | undefined
  private readonly maxFrame: number
  private readonly carrier: StreamCarrier

  constructor (private readonly opts: StreamMuxOptions) {
    this.nextId = opts.role === 'dialer' ? 1 : 2
    this.maxFrame = Math.min(MAX_DATA_FRAME, opts.maxBytesPerMessage - STREAM_HEADER_LENGTH)
    this.carrier = {
      send: async frame => { await this.sendFrame(frame) },
      finished: stream => { this.forget(stream) },
      grow: extra => {
        const granted = extra < 0 ? extra : Math.min(extra, Math.max(0, this.opts.maxStreamGrowthPerPeer - this.growth))
        this.growth += granted
        return granted
      }
    }
  }

  /** What the remote is known to be. */
  get remoteKind (): RemoteKind {
    return this.remote
  }

  /** Streams open now, in each direction. */
  get sizes (): { inbound: number, outbound: number } {
    return { inbound: this.inboundCount, outbound: this.outboundCount }
  }

  /** The remote showed it is a meshline node (it sent a meshline sub-protocol frame). */
  remoteIsMeshline (): void {
    if (this.remote === 'meshline') return
    this.remote = 'meshline'
    for (const wake of this.knownWaiters.splice(0)) wake()
  }

  /** The inbound stage: takes stream frames out of the batches, passes the rest on. */
  readonly inbound: StagedTransform = staged(() => ({ step: batch => this.takeFrames(batch) }))

  private takeFrames (batch: Message[]): Message[] {
    // One look at each message; a batch without stream frames passes as it is, not copied.
    let rest: Message[] | undefined
    for (let i = 0; i < batch.length; i++) {
      const msg = batch[i] as Message
      if (isStreamMessage(msg)) {
        rest ??= batch.slice(0, i)
        this.receive(msg.data as Uint8ArrayList)
      } else {
        rest?.push(msg)
      }
    }
    return rest ?? batch
  }

  /**
   * Opens a stream for `protocol`; resolves once the remote accepted it
   * (or, `early`, once its `OPEN` is queued).
   * @throws StreamsUnsupportedError, ProtocolUnsupportedError, TooManyStreamsError, TimeoutError, AbortedError, StreamResetError (the connection closed)
   */
  async open (protocol: string, { timeout, signal, early = false }: OpenOptions): Promise<ProtocolStream> {
    if (signal?.aborted === true) throw new AbortedError(`opening a ${JSON.stringify(protocol)} stream`, { cause: signal.reason })
    // The common case of a request, early to a known meshline node, waits for nothing: no timer.
    if (early && this.remote === 'meshline') return this.start(protocol)
    const what = `opening a ${JSON.stringify(protocol)} stream`
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    let stream: ProtocolStream | undefined
    const ended = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new TimeoutError(what, timeout)) }, timeout)
      onAbort = () => { reject(new AbortedError(what, { cause: signal?.reason })) }
      signal?.addEventListener('abort', onAbort, { once: true })
    })
    ended.catch(() => {})
    try {
      await Promise.race([this.whenMeshline(), ended])
      stream = this.start(protocol)
      if (!early) await Promise.race([stream.ready, ended])
      return stream
    } catch (err) {
      // The remote may accept it yet: it is reset, so that it does not stay open there.
      if (err !== stream?.error) stream?.abort(err as Error)
      throw err
    } finally {
      clearTimeout(timer)
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
    }
  }

  /**
   * A new outbound stream, its `OPEN` queued: frames queue in order, so
   * whatever is written next follows it, whether or not this send waits.
   */
  private start (protocol: string): ProtocolStream {
    if (this.closedBy !== undefined) throw this.closedError(this.closedBy)
    if (this.maxFrame < EARLY_MAX_FRAME) throw new StreamsUnsupportedError(this.opts.remoteId(), `this node's maxBytesPerMessage is below ${EARLY_MAX_FRAME + STREAM_HEADER_LENGTH} bytes`)
    if (this.outboundCount >= this.opts.maxStreamsPerPeer) throw new TooManyStreamsError('local', this.opts.maxStreamsPerPeer)
    const id = this.takeId()
    const stream = this.track(id, protocol, 'outbound', undefined)
    if (this.opts.traffic !== undefined) this.opts.traffic.streamsOpened.outbound++
    this.sendFrame({ type: 'open', id, window: this.opts.streamWindow, maxFrame: this.maxFrame, protocol }).catch((err: Error) => {
      stream.terminate(this.closedError(err))
    })
    return stream
  }

  /** Takes one stream frame in; never waits. */
  receive (data: Uint8ArrayList): void {
    this.remoteIsMeshline()
    let frame: StreamFrame
    try {
      frame = decodeStreamFrame(data)
    } catch (err) {
      const error = err as StreamFrameError
      // A frame that names its stream costs that stream; one that names none, the connection.
      if (error.streamId === undefined) throw error
      this.resetStream(error.streamId, error)
      return
    }
    switch (frame.type) {
      case 'open': return this.opened(frame)
      case 'accept': return this.outbound(frame.id)?.accepted(frame.window, frame.maxFrame)
      case 'refuse': return this.outbound(frame.id)?.terminate(this.refusal(frame))
      default: this.streams.get(frame.id)?.receive(frame)
    }
  }

  /**
   * The connection is closing: the remote is told with a `RESET` per stream
   * (sent if frames can still be queued), and every stream's reads and
   * writes fail with a `StreamResetError` naming `reason`.
   */
  close (reason: Error): void {
    if (this.closedBy !== undefined) return
    this.closedBy = reason
    for (const stream of [...this.streams.values()]) stream.reset('closing', reason.message, reason)
    for (const wake of this.knownWaiters.splice(0)) wake()
  }

  private closedError (reason: Error): StreamResetError {
    return new StreamResetError('local', 'closing', reason.message, { cause: reason })
  }

  /** Resolves once the remote is known to be a meshline node, probing it first if nobody has. */
  private async whenMeshline (): Promise<void> {
    if (this.remote === 'unknown' && this.closedBy === undefined) {
      this.probing ??= this.probe()
      await this.probing
    }
    if (this.remoteKind === 'meshline' || this.closedBy !== undefined) return
    throw new StreamsUnsupportedError(this.opts.remoteId(), `no meshline answer to the capability probe within ${this.opts.capabilityTimeout} ms`)
  }

  private async probe (): Promise<void> {
    const known = new Promise<void>(resolve => { this.knownWaiters.push(resolve) })
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<void>(resolve => { timer = setTimeout(resolve, this.opts.capabilityTimeout) })
    try {
      await this.opts.probe()
      await Promise.race([known, timedOut])
    } catch {
      // The probe could not be queued: the connection is closing, which close() reports.
    } finally {
      clearTimeout(timer)
      this.probing = undefined
    }
    if (this.remote === 'unknown' && this.closedBy === undefined) this.remote = 'line-protocol'
  }

  private takeId (): number {
    const id = this.nextId
    if (id > MAX_STREAM_ID) throw new TooManyStreamsError('local', this.opts.maxStreamsPerPeer)
    this.nextId += 2
    return id
  }

  /** Whether `id` is in this side's numbering. */
  private ours (id: number): boolean {
    return (id % 2 === 1) === (this.opts.role === 'dialer')
  }

  /** The open stream `id` if this node opened it. */
  private outbound (id: number): ProtocolStream | undefined {
    return this.ours(id) ? this.streams.get(id) : undefined
  }

  private refusal (frame: Extract<StreamFrame, { type: 'refuse' }>): Error {
    const stream = this.streams.get(frame.id) as ProtocolStream
    if (frame.code === ResetCode.unsupported) return new ProtocolUnsupportedError(this.opts.remoteId(), stream.protocol)
    if (frame.code === ResetCode.tooManyStreams) return new TooManyStreamsError('remote')
    return new StreamResetError('remote', resetReason(frame.code), frame.reason)
  }

  private opened (frame: Extract<StreamFrame, { type: 'open' }>): void {
    const { id } = frame
    if (this.ours(id) || this.streams.has(id)) {
      this.resetStream(id, new StreamFrameError(this.ours(id) ? 'OPEN with an id of this side\'s numbering' : 'OPEN for a stream already open', id))
      return
    }
    if (this.closedBy !== undefined) {
      this.refuse(id, ResetCode.closing, this.closedBy.message)
      return
    }
    if (this.maxFrame < EARLY_MAX_FRAME) {
      this.refuse(id, ResetCode.protocol, 'this node takes no protocol streams (its maxBytesPerMessage is too small)')
      return
    }
    if (this.inboundCount >= this.opts.maxStreamsPerPeer) {
      this.refuse(id, ResetCode.tooManyStreams, `maxStreamsPerPeer (${this.opts.maxStreamsPerPeer}) streams open`)
      return
    }
    const accept = this.opts.accept(frame.protocol)
    if (accept === undefined) {
      this.refuse(id, ResetCode.unsupported, frame.protocol)
      return
    }
    const stream = this.track(id, frame.protocol, 'inbound', frame)
    if (this.opts.traffic !== undefined) this.opts.traffic.streamsOpened.inbound++
    this.sendFrame({ type: 'accept', id, window: this.opts.streamWindow, maxFrame: this.maxFrame }).catch(() => {})
    accept(stream)
  }

  private track (id: number, protocol: string, direction: 'inbound' | 'outbound', remote: { window: number, maxFrame: number } | undefined): ProtocolStream {
    const stream = new ProtocolStream(id, protocol, direction, {
      receiveWindow: this.opts.streamWindow,
      maxReceiveWindow: Math.max(this.opts.streamWindow, this.opts.maxStreamWindow),
      maxFrame: this.maxFrame,
      remote
    }, this.carrier)
    this.streams.set(id, stream)
    if (direction === 'inbound') this.inboundCount++
    else this.outboundCount++
    return stream
  }

  private forget (stream: ProtocolStream): void {
    if (this.streams.get(stream.id) !== stream) return
    this.streams.delete(stream.id)
    if (stream.direction === 'inbound') this.inboundCount--
    else this.outboundCount--
  }

  private resetStream (id: number, error: StreamFrameError): void {
    const stream = this.streams.get(id)
    if (stream !== undefined) stream.reset('protocol', error.message, error)
    else this.sendFrame({ type: 'reset', id, code: ResetCode.protocol, reason: error.message }).catch(() => {})
  }

  private refuse (id: number, code: ResetCode, reason: string): void {
    if (this.opts.traffic !== undefined) this.opts.traffic.streamsRefused++
    this.sendFrame({ type: 'refuse', id, code, reason }).catch(() => {})
  }

  private async sendFrame (frame: StreamFrame): Promise<void> {
    await this.opts.link.send({ type: 'bytes', data: encodeStreamFrame(frame) })
  }
}

function isStreamMessage (msg: Message): msg is Extract<Message, { type: 'bytes' }> {
  return msg.type === 'bytes' && isStreamPayload(msg.data)
}

/**
 * One protocol stream: an it-stream-types style duplex (`source`, `sink`)
 * carried by a connection's `StreamMux`, with yamux-style flow control.
 *
 * Receiving, the stream holds at most its receive window: the remote may
 * send only what it was granted, and credit goes back (a `WINDOW` frame) as
 * the reader takes data, once half a window has been read. A reader that
 * keeps up (less than half a window left unread when credit goes back) has
 * its window doubled, up to `maxStreamWindow` and within what the
 * connection's streams may grow by together, so a fast stream is not held
 * back by round trips while a stalled one never holds more than its window.
 * Sending, a write waits for credit, so a stalled remote reader stalls this
 * stream alone.
 *
 * An opener may write before the remote accepted (within `BASE_WINDOW`):
 * a request then costs one round trip, not two. If the remote refuses, the
 * stream fails with the refusal.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { StreamClosedError, StreamResetError, StreamWindowExceededError, type StreamResetReason } from '../errors.js'
import { BASE_WINDOW, EARLY_MAX_FRAME, RESET_CODE, resetReason, type StreamFrame } from './stream-protocol.js'
import { WakeUp } from '../../transforms/core/wake-up.js'

/** What a stream sends through, and tells when it is done. */
export interface StreamCarrier {
  /** Queues a frame on the connection; resolves once queued. */
  send: (frame: StreamFrame) => Promise<void>
  /** The stream has ended both ways, or was reset: forget it. */
  finished: (stream: ProtocolStream) => void
  /** Asks to grow a receive window by `extra` bytes (or gives back `-extra`); returns how much it may (the connection's streams share a budget). */
  grow: (extra: number) => number
}

export interface StreamWindows {
  /** The window this side grants at first, in bytes. */
  receiveWindow: number
  /** The most the receive window grows to, in bytes. */
  maxReceiveWindow: number
  /** The largest `DATA` payload this side sends, before the remote said what it takes. */
  maxFrame: number
  /** For a stream the remote opened: the window and largest frame its `OPEN` announced. */
  remote?: { window: number, maxFrame: number }
}

/** Byte items a stream's sink accepts. */
export type StreamChunk = Uint8Array | Uint8ArrayList

export class ProtocolStream {
  /** Data from the remote, in order: ends after the remote's half-close, throws once the stream failed (after what arrived before). */
  readonly source: AsyncGenerator<Uint8ArrayList, void, undefined>
  /** Resolves once the remote accepted the stream (at once for one it opened); rejects with why it did not. */
  readonly ready: Promise<void>
  /** Why the stream failed (`StreamResetError`, or the refusal of an early-written stream); `undefined` while it did not. */
  error: Error | undefined

  private readonly chunks: Uint8ArrayList[] = []
  private buffered = 0
  private receiveWindow: number
  /** Bytes the remote may still send before it needs more credit. */
  private receiveCredit: number
  /** Bytes read since credit last went back. */
  private consumed = 0
  private remoteEnded = false
  /** The reader stopped early: what arrives is dropped, its credit given back. */
  private readerGone = false
  private readonly reader = new WakeUp()

  private sendCredit: number
  private sendMaxFrame: number
  private writing = false
  private writeEnded = false
  private readonly writer = new WakeUp()
  private done = false
  private settleReady: { resolve: () => void, reject: (err: Error) => void } | undefined

  constructor (
    readonly id: number,
    readonly protocol: string,
    /** `outbound` when this node opened the stream. */
    readonly direction: 'inbound' | 'outbound',
    private readonly windows: StreamWindows,
    private readonly carrier: StreamCarrier
  ) {
    this.receiveWindow = windows.receiveWindow
    this.receiveCredit = windows.receiveWindow
    const { remote } = windows
    this.sendCredit = remote?.window ?? BASE_WINDOW
    this.sendMaxFrame = Math.min(windows.maxFrame, remote?.maxFrame ?? EARLY_MAX_FRAME)
    this.ready = remote !== undefined
      ? Promise.resolve()
      : new Promise((resolve, reject) => { this.settleReady = { resolve, reject } })
    // Nobody need await it: a failure also shows in reads and writes.
    this.ready.catch(() => {})
    this.source = this.read()
  }

  /** Bytes by which the receive window grew past its first size. */
  get growth (): number {
    return this.receiveWindow - this.windows.receiveWindow
  }

  /**
   * Writes every chunk of `source`, then half-closes: the remote's reader
   * ends, and this stream's `source` still reads what the remote sends. If
   * `source` throws, the stream is reset with that error's message.
   * @throws StreamResetError (or the refusal) when the stream failed meanwhile, StreamClosedError when writing had ended
   */
  readonly sink = async (source: AsyncIterable<StreamChunk> | Iterable<StreamChunk>): Promise<void> => {
    this.claimWriter()
    try {
      for await (const chunk of source) await this.writeChunk(chunk)
    } catch (err) {
      if (err !== this.error) this.abort(err as Error)
      throw err
    } finally {
      this.writing = false
    }
    await this.closeWrite()
  }

  /**
   * Writes one chunk, waiting for credit and for room in the connection's
   * queue. For code that writes as it goes rather than from a source.
   * @throws StreamResetError (or the refusal), StreamClosedError
   */
  async write (chunk: StreamChunk): Promise<void> {
    this.claimWriter()
    try {
      await this.writeChunk(chunk)
    } finally {
      this.writing = false
    }
  }

  /**
   * Half-closes: tells the remote nothing more will be written. Calling it again does nothing.
   * @throws StreamResetError (or the refusal) when the stream failed before
   */
  async closeWrite (): Promise<void> {
    if (this.writeEnded) return
    if (this.error !== undefined) throw this.error
    this.writeEnded = true
    await this.send({ type: 'fin', id: this.id })
    this.finishIfDone()
  }

  /** Ends the stream gracefully: half-closes (unless it failed), and stops reading (what still arrives is dropped). */
  async close (): Promise<void> {
    this.stopReading()
    if (this.error === undefined) await this.closeWrite()
  }

  /** Resets the stream: both sides' reads and writes fail with `StreamResetError`, the remote's carrying `reason.message`. */
  abort (reason: Error): void {
    if (this.done) return
    this.sendReset('aborted', reason.message)
    this.terminate(new StreamResetError('local', 'aborted', reason.message, { cause: reason }))
  }

  /** The remote accepted a stream this node opened, announcing its window and largest frame. */
  accepted (window: number, maxFrame: number): void {
    if (this.settleReady === undefined) return
    // What was written early counts against the window the remote now announces.
    this.sendCredit += window - BASE_WINDOW
    this.sendMaxFrame = Math.min(this.windows.maxFrame, maxFrame)
    this.settleReady.resolve()
    this.settleReady = undefined
    this.writer.notify()
  }

  /** The frames the mux routes to this stream. */
  receive (frame: Extract<StreamFrame, { type: 'data' | 'window' | 'fin' | 'reset' }>): void {
    if (this.done) return
    switch (frame.type) {
      // Decoded frames carry lists; a bare array only comes from code that builds frames itself.
      case 'data': return this.receiveData(frame.data instanceof Uint8Array ? new Uint8ArrayList(frame.data) : frame.data)
      case 'window':
        this.sendCredit += frame.credit
        this.writer.notify()
        return
      case 'fin':
        this.remoteEnded = true
        this.releaseGrowth()
        this.reader.notify()
        this.finishIfDone()
        return
      case 'reset':
        this.terminate(new StreamResetError('remote', resetReason(frame.code), frame.reason))
    }
  }

  /** Resets the stream from this side for `reason`, telling the remote, as for a window overrun or a node stopping. */
  reset (reason: Exclude<StreamResetReason, 'aborted'>, detail: string, cause?: Error): void {
    if (this.done) return
    this.sendReset(reason, detail)
    this.terminate(new StreamResetError('local', reason, detail, { cause }))
  }

  /** Ends the stream without telling the remote: pending reads and writes fail with `error`. */
  terminate (error: Error): void {
    if (this.done) return
    this.done = true
    this.error = error
    this.releaseGrowth()
    this.settleReady?.reject(error)
    this.settleReady = undefined
    this.reader.notify()
    this.writer.notify()
    this.carrier.finished(this)
  }

  private receiveData (data: Uint8ArrayList): void {
    const length = data.byteLength
    if (length > this.receiveCredit) {
      const overrun = new StreamWindowExceededError(this.id, length, this.receiveCredit)
      this.reset('window-exceeded', overrun.message, overrun)
      return
    }
    if (this.remoteEnded) {
      this.reset('protocol', 'DATA after FIN')
      return
    }
    this.receiveCredit -= length
    if (this.readerGone) {
      this.consumed += length
      this.returnCredit(false)
      return
    }
    this.chunks.push(data)
    this.buffered += length
    this.reader.notify()
  }

  private async * read (): AsyncGenerator<Uint8ArrayList, void, undefined> {
    try {
      while (true) {
        // Everything buffered goes out as one list: one step for the reader per burst, not per frame.
        const chunk = this.chunks.length > 1 ? new Uint8ArrayList(...this.chunks.splice(0)) : this.chunks.shift()
        if (chunk !== undefined) {
          this.buffered -= chunk.byteLength
          this.consumed += chunk.byteLength
          this.returnCredit(this.buffered < this.receiveWindow / 2)
          yield chunk
        } else if (this.remoteEnded) {
          return
        } else if (this.error !== undefined) {
          throw this.error
        } else {
          await this.reader.wait()
        }
      }
    } finally {
      this.stopReading()
    }
  }

  /** Gives credit back once half a window was read; a reader that `keepsUp` gets a bigger window if the budget allows. */
  private returnCredit (keepsUp: boolean): void {
    if (this.done || this.remoteEnded || this.consumed < this.receiveWindow / 2) return
    let credit = this.consumed
    if (keepsUp && this.receiveWindow < this.windows.maxReceiveWindow) {
      const extra = this.carrier.grow(Math.min(this.receiveWindow, this.windows.maxReceiveWindow - this.receiveWindow))
      credit += extra
      this.receiveWindow += extra
    }
    this.consumed = 0
    this.receiveCredit += credit
    this.send({ type: 'window', id: this.id, credit }).catch(() => {})
  }

  /** Nothing more will be received: what the window grew by goes back to the connection's budget. */
  private releaseGrowth (): void {
    this.carrier.grow(-this.growth)
    this.receiveWindow = this.windows.receiveWindow
  }

  private stopReading (): void {
    if (this.readerGone) return
    this.readerGone = true
    this.consumed += this.buffered
    this.chunks.length = 0
    this.buffered = 0
    this.returnCredit(false)
    this.finishIfDone()
  }

  private claimWriter (): void {
    if (this.error !== undefined) throw this.error
    if (this.writeEnded) throw new StreamClosedError(`stream ${this.id} (${this.protocol}): writing has ended`)
    if (this.writing) throw new StreamClosedError(`stream ${this.id} (${this.protocol}): another write or sink is in progress`)
    this.writing = true
  }

  private async writeChunk (chunk: StreamChunk): Promise<void> {
    const length = chunk.byteLength
    let offset = 0
    while (offset < length) {
      if (this.error !== undefined) throw this.error
      if (this.sendCredit <= 0) {
        await this.writer.wait()
        continue
      }
      const size = Math.min(length - offset, this.sendCredit, this.sendMaxFrame)
      const piece = chunk instanceof Uint8Array ? chunk.subarray(offset, offset + size) : chunk.sublist(offset, offset + size)
      this.sendCredit -= size
      offset += size
      await this.send({ type: 'data', id: this.id, data: piece })
    }
  }

  private async send (frame: StreamFrame): Promise<void> {
    try {
      await this.carrier.send(frame)
    } catch (err) {
      // The connection is closing: the mux fails every stream with why.
      throw this.error ?? new StreamResetError('local', 'closing', (err as Error).message, { cause: err })
    }
  }

  private sendReset (reason: StreamResetReason, detail: string): void {
    this.carrier.send({ type: 'reset', id: this.id, code: RESET_CODE[reason], reason: detail }).catch(() => {})
  }

  /** Both halves ended: the stream is forgotten (a stream whose reader left early ends with the remote's half-close). */
  private finishIfDone (): void {
    if (!this.done && this.writeEnded && this.remoteEnded && (this.chunks.length === 0 || this.readerGone)) {
      this.done = true
      this.carrier.finished(this)
    }
  }
}

/**
 * The encoder: typed messages in, bytes out. All messages that are ready
 * together (one batch) become as few writes as possible: small frames are
 * packed back to back into a pool buffer shared by every encoder of the
 * process, while large payloads are passed by reference so they are never
 * copied.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { COALESCE_COPY_LIMIT } from './core/limits.js'
import { BYTES_PREFIX, assertChatText, isCheckedChat, messageLine, type Message } from './core/line-protocol.js'
import { forEachPiece } from './core/bytes.js'
import { syncTransform, type BatchKind } from './core/sync-transform.js'
import { applyTable, checkArgument, integer, type OptionTable } from './core/option-table.js'

export interface EncoderOptions {
  /**
   * `BYTES` payloads at least this long are written by reference instead of
   * being copied into the coalesced buffer, in bytes.
   * @default 16384 (16 KiB)
   */
  copyLimit?: number
}

/** The encoder's options: default and range of each. */
export const ENCODER_OPTIONS = {
  copyLimit: integer(COALESCE_COPY_LIMIT, 0, { unit: 'bytes' })
} satisfies OptionTable<EncoderOptions>

/** Size of each pool buffer that small frames are packed into, in bytes. */
const POOL_SIZE = 64 * 1024
/** Worst case UTF-8 bytes per UTF-16 code unit. */
const MAX_UTF8_PER_UNIT = 3
const LINE_END = '\n'

/**
 * The pool and how much of it is used, shared by every encoder as Node
 * shares its small-Buffer pool: a pool per connection would cost 64 KiB
 * each, 1.5 GB for a 200-node full mesh in one process (bench:scale).
 * Sharing is safe because `encode()` is synchronous and hands out all it
 * wrote before it returns.
 */
const shared = { pool: Buffer.allocUnsafe(POOL_SIZE), used: 0 }
/** What an encoder holds between calls, so that an idle connection pins no pool. */
const NO_POOL = Buffer.alloc(0)

/**
 * Node's native UTF-8 writer, without `write()`'s argument checks, which
 * took a tenth of a chat sender's time; the browser build's Buffer lacks it.
 */
const utf8Write = (Buffer.prototype as unknown as { utf8Write?: (this: Buffer, text: string, offset: number) => number }).utf8Write ??
  function (this: Buffer, text: string, offset: number): number { return this.write(text, offset, 'utf8') }

/**
 * Synchronous core. Frames are written forward into the pool and handed out
 * as views of it; a region once handed out is never written again, so no
 * copy is needed and the pool is only replaced when full.
 */
export class FrameEncoder {
  readonly copyLimit: number
  /** The shared pool and its use, borrowed into fields while `encode()` runs (the hot path reads them per frame). */
  private pool = NO_POOL
  /** Start of the region not yet handed out, and end of the written bytes. */
  private start = 0
  private used = 0
  /**
   * Lines not yet written, `\n` included, and the most bytes they can take:
   * consecutive lines go to the native writer in one call, as a call per
   * line cost more than the line (a string joined by `+` is only copied
   * once, when written).
   */
  private pending = ''
  private pendingWorstCase = 0

  constructor (opts: EncoderOptions = {}) {
    this.copyLimit = applyTable(ENCODER_OPTIONS, opts).copyLimit
  }

  /**
   * Encodes a batch of messages into one list of chunks, in order.
   * @throws InvalidMessageError for chat text that would not arrive as that chat line
   */
  encode (batch: readonly Message[]): Uint8ArrayList {
    const out = new Uint8ArrayList()
    this.encodeInto(batch, out)
    return out
  }

  /**
   * Encodes a batch of messages into `out`, an empty list, in order.
   * @throws InvalidMessageError for chat text that would not arrive as that chat line; `out` is left empty
   */
  encodeInto (batch: readonly Message[], out: Uint8ArrayList): void {
    this.pool = shared.pool
    this.start = this.used = shared.used
    try {
      for (const msg of batch) {
        if (msg.type === 'bytes') this.writeBytes(msg.data, out)
        else {
          const line = messageLine(msg) as string
          // Transforms after the API's checks may build chat too: a bad one must not reach the wire.
          if (msg.type === 'chat' && !isCheckedChat(msg)) assertChatText(line)
          this.writeLine(line, out)
        }
      }
      this.writePending()
      this.flush(out)
    } catch (err) {
      // A refused batch is sent not at all: drop what it wrote, or the next batch would carry it.
      this.pending = ''
      this.pendingWorstCase = 0
      this.used = this.start
      out.consume(out.byteLength)
      throw err
    } finally {
      shared.pool = this.pool
      shared.used = this.used
      this.pool = NO_POOL
    }
  }

  /** Adds a line to the pending ones; they are written first when the pool could not take them all with it. */
  private writeLine (line: string, out: Uint8ArrayList): void {
    const worstCase = line.length * MAX_UTF8_PER_UNIT + 1
    if (this.pendingWorstCase + worstCase > this.pool.length - this.used) {
      this.writePending()
      this.reserve(worstCase, out)
    }
    this.pending = this.pendingWorstCase === 0 ? line + LINE_END : this.pending + line + LINE_END
    this.pendingWorstCase += worstCase
  }

  /** Writes the pending lines into the pool, which `writeLine` kept room for. */
  private writePending (): void {
    if (this.pendingWorstCase === 0) return
    this.used += utf8Write.call(this.pool, this.pending, this.used)
    this.pending = ''
    this.pendingWorstCase = 0
  }

  private writeBytes (data: Uint8Array | Uint8ArrayList, out: Uint8ArrayList): void {
    const length = data.byteLength
    this.writeLine(BYTES_PREFIX + String(length), out)
    this.writePending()
    if (length >= this.copyLimit) {
      this.flush(out)
      out.append(data)
      return
    }
    this.reserve(length, out)
    forEachPiece(data, piece => {
      this.pool.set(piece, this.used)
      this.used += piece.length
    })
  }

  /** Makes room for `bytes` more in the pool, handing out what is written first. */
  private reserve (bytes: number, out: Uint8ArrayList): void {
    if (this.pool.length - this.used >= bytes) return
    this.flush(out)
    this.pool = Buffer.allocUnsafe(Math.max(POOL_SIZE, bytes))
    this.start = 0
    this.used = 0
  }

  private flush (out: Uint8ArrayList): void {
    if (this.used === this.start) return
    out.append(this.pool.subarray(this.start, this.used))
    this.start = this.used
  }
}

/** Output batches as byte lists: what one batch of messages is written as. */
const BYTE_LISTS: BatchKind<Uint8ArrayList> = { create: () => new Uint8ArrayList(), isEmpty: list => list.byteLength === 0 }

/** A transform from batches of messages to bytes: one `Uint8ArrayList` per batch. */
export function encoder (opts: EncoderOptions = {}): (source: AsyncIterable<readonly Message[]>) => AsyncGenerator<Uint8ArrayList> {
  const resolved = applyTable(ENCODER_OPTIONS, opts)
  return syncTransform(() => {
    const core = new FrameEncoder(resolved)
    return {
      step: (batch: readonly Message[], out: Uint8ArrayList) => {
        // A single message where a batch belongs would otherwise be read as an empty batch.
        checkArgument('batch', 'an array of messages', batch, Array.isArray)
        core.encodeInto(batch, out)
      }
    }
  }, BYTE_LISTS)
}

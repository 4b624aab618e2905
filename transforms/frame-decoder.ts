/**
 * The BYTES length decoder: line framing plus the protocol's one binary
 * escape. After a `BYTES:<len>` header line exactly `<len>` raw bytes follow
 * (they may hold `\n` and arrive in any number of chunks) and form one binary
 * frame; then line framing resumes.
 */
import type { Uint8ArrayList } from 'uint8arraylist'
import { DEFAULT_MAX_BYTES_PER_MESSAGE } from './core/limits.js'
import { InvalidLengthError, MessageTooLargeError, TruncatedFrameError } from './core/errors.js'
import { decodeLine, LINE_FRAMER_OPTIONS, LineSplitter, LineTexts, type LineFramerOptions } from './line-framer.js'
import { applyTable, integer, type OptionTable } from './core/option-table.js'
import { BYTES_PREFIX, isAsciiSpace, type Frame } from './core/line-protocol.js'
import { arrays, syncTransform } from './core/sync-transform.js'
import type { ByteChunk } from './core/bytes.js'

export interface FrameDecoderOptions extends LineFramerOptions {
  /**
   * Largest `BYTES` payload accepted, in bytes. A longer header is rejected
   * before anything is allocated for it.
   * @default 16777216 (16 MiB)
   */
  maxBytesPerMessage?: number
}

/** The frame decoder's options: default and range of each. */
export const FRAME_DECODER_OPTIONS = {
  ...LINE_FRAMER_OPTIONS,
  maxBytesPerMessage: integer(DEFAULT_MAX_BYTES_PER_MESSAGE, 0, { unit: 'bytes' })
} satisfies OptionTable<FrameDecoderOptions>

const DECIMAL = /^[0-9]+$/
const NEGATIVE_DECIMAL = /^-[0-9]+$/
/** Digits of Number.MAX_SAFE_INTEGER minus one: any shorter decimal is exact. */
const MAX_SAFE_DIGITS = 15

/**
 * Reads the length of a `BYTES:` header line.
 * @throws InvalidLengthError, MessageTooLargeError
 */
export function parseBytesLength (line: string, maxBytesPerMessage: number): number {
  const digits = line.slice(BYTES_PREFIX.length)
  if (!DECIMAL.test(digits)) {
    throw new InvalidLengthError(line, NEGATIVE_DECIMAL.test(digits) ? 'negative' : 'not a decimal integer')
  }
  const significant = digits.replace(/^0+(?=.)/, '')
  if (significant.length > MAX_SAFE_DIGITS) throw new InvalidLengthError(line, 'overflow')
  const length = Number(significant)
  if (length > maxBytesPerMessage) throw new MessageTooLargeError(length, maxBytesPerMessage)
  return length
}

const BYTES_PREFIX_BYTES = new TextEncoder().encode(BYTES_PREFIX)
/** Returned by {@link readBytesHeader} for a line that is not a `BYTES:` header. */
const NOT_A_HEADER = -1

/**
 * Reads a raw line as a `BYTES:` header. A plain in-range length is read
 * from the bytes, so that the frame path makes no string; any other header is
 * decoded and left to {@link parseBytesLength}, which throws the right error.
 * @returns the payload length, or `NOT_A_HEADER`
 * @throws InvalidLengthError, MessageTooLargeError, InvalidUtf8Error, NulByteError
 */
function readBytesHeader (raw: Uint8Array, start: number, end: number, maxBytesPerMessage: number): number {
  while (start < end && isAsciiSpace(raw[start] as number)) start++
  if (end - start < BYTES_PREFIX_BYTES.length) return NOT_A_HEADER
  for (let i = 0; i < BYTES_PREFIX_BYTES.length; i++) {
    if (raw[start + i] !== BYTES_PREFIX_BYTES[i]) return NOT_A_HEADER
  }
  while (isAsciiSpace(raw[end - 1] as number)) end--
  const digits = start + BYTES_PREFIX_BYTES.length
  if (end > digits && end - digits <= MAX_SAFE_DIGITS) {
    let length = 0
    let i = digits
    for (; i < end; i++) {
      const digit = (raw[i] as number) - 0x30
      if (digit < 0 || digit > 9) break
      length = length * 10 + digit
    }
    if (i === end && length <= maxBytesPerMessage) return length
  }
  return parseBytesLength(decodeLine(raw, start, end), maxBytesPerMessage)
}

/**
 * Synchronous core: `decode(chunk)` appends a chunk and yields every frame it
 * completes; `end()` checks that the input did not stop inside a frame.
 */
export class FrameDecoder {
  readonly maxBytesPerMessage: number
  private readonly lines: LineSplitter
  private readonly texts = new LineTexts()
  /** Length of the `BYTES` payload being read, or -1 while reading lines. */
  private payloadLength = -1

  constructor (opts: FrameDecoderOptions = {}) {
    const { maxLineLength, maxBytesPerMessage } = applyTable(FRAME_DECODER_OPTIONS, opts)
    this.maxBytesPerMessage = maxBytesPerMessage
    this.lines = new LineSplitter({ maxLineLength })
  }

  /** Appends `piece` and adds every frame it completes to `out`. */
  decodeInto (piece: Uint8Array, out: Frame[]): void {
    const lines = this.lines
    lines.push(piece)
    try {
      for (;;) {
        if (this.payloadLength >= 0) {
          const payload: Uint8ArrayList | undefined = lines.takeBytes(this.payloadLength)
          if (payload === undefined) return
          this.payloadLength = -1
          out.push(payload)
          continue
        }
        if (!lines.nextLineSpan()) return
        const { line, lineStart, lineEnd } = lines
        const length = readBytesHeader(line, lineStart, lineEnd, this.maxBytesPerMessage)
        if (length === NOT_A_HEADER) out.push(this.texts.decode(line, lineStart, lineEnd))
        else this.payloadLength = length
      }
    } finally {
      this.texts.release()
    }
  }

  /** Appends a chunk and adds every frame it completes to `out`. */
  decodeChunk (chunk: ByteChunk, out: Frame[]): void {
    if (chunk instanceof Uint8Array) this.decodeInto(chunk, out)
    else for (const piece of chunk) this.decodeInto(piece, out)
  }

  /** Appends a chunk and yields every frame it completes. */
  * decode (chunk: ByteChunk): Generator<Frame> {
    const out: Frame[] = []
    try {
      this.decodeChunk(chunk, out)
    } catch (err) {
      // Frames completed before the offending bytes are still delivered.
      yield * out
      throw err
    }
    yield * out
  }

  /**
   * Declares the end of input.
   * @throws TruncatedFrameError when it ended inside a frame
   */
  end (): void {
    if (this.payloadLength >= 0) {
      throw new TruncatedFrameError(`inside a BYTES payload (${this.lines.bufferedBytes} of ${this.payloadLength} bytes received)`)
    }
    this.lines.end()
  }
}

/**
 * A transform from bytes to frames: trimmed lines (strings) and `BYTES`
 * payloads (`Uint8ArrayList` views). Yields one batch per input chunk that
 * completes at least one frame.
 */
export function frameDecoder (opts: FrameDecoderOptions = {}): (source: AsyncIterable<ByteChunk>) => AsyncGenerator<Frame[]> {
  const resolved = applyTable(FRAME_DECODER_OPTIONS, opts)
  return syncTransform(() => {
    const decoder = new FrameDecoder(resolved)
    return {
      step: (chunk: ByteChunk, frames: Frame[]) => { decoder.decodeChunk(chunk, frames) },
      end: () => { decoder.end() }
    }
  }, arrays<Frame>())
}

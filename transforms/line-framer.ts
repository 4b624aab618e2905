/**
 * Line framing: bytes in, lines out. Lines end with `\n`, are trimmed of ASCII
 * whitespace (so `\r\n` and stray spaces are tolerated) and decoded as strict
 * UTF-8. The core, {@link LineSplitter}, is synchronous and also hands out raw
 * byte runs, which is how the BYTES decoder cooperates with it.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { DEFAULT_MAX_LINE_LENGTH } from './core/limits.js'
import { InvalidUtf8Error, LineTooLongError, NulByteError, TruncatedFrameError } from './core/errors.js'
import { NEWLINE, isAsciiSpace } from './core/line-protocol.js'
import { forEachPiece, type ByteChunk } from './core/bytes.js'
import { arrays, syncTransform } from './core/sync-transform.js'
import { isPlainAscii } from './core/plain-ascii.js'
import { applyTable, integer, type OptionTable } from './core/option-table.js'

export interface LineFramerOptions {
  /**
   * Longest line accepted, in bytes, excluding its `\n`.
   * @default 65536 (64 KiB)
   */
  maxLineLength?: number
}

/** The line framer's options: default and range of each. */
export const LINE_FRAMER_OPTIONS = {
  maxLineLength: integer(DEFAULT_MAX_LINE_LENGTH, 1, { unit: 'bytes' })
} satisfies OptionTable<LineFramerOptions>

// ignoreBOM keeps a leading U+FEFF as text: it is part of the line, not a stream marker.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Byte search backed by memchr, called on plain `Uint8Array`s: several times
 * faster than `TypedArray#indexOf`, which scans about one byte per ns.
 */
const { indexOf: indexOfByte } = Buffer.prototype
/**
 * Bytes to text, one character per byte: for ASCII, the same as decoding
 * UTF-8, and much cheaper for a short line. Node's Buffer has it natively;
 * the browser build's Buffer does not, so there the char codes are taken
 * as they are.
 */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice?: (this: Uint8Array, start: number, end: number) => string }).latin1Slice ??
  function (this: Uint8Array, start: number, end: number): string { return String.fromCharCode(...this.subarray(start, end)) }
/** Lines up to this long are checked byte by byte in JavaScript; longer ones by the native search and decoder. */
const SHORT_LINE = 256

/**
 * Turns a raw line (without its `\n`) into its text: trims ASCII whitespace
 * and decodes strict UTF-8. `start` and `end` bound the line within `bytes`,
 * so a caller need not make a view of it.
 * @throws InvalidUtf8Error, NulByteError
 */
export function decodeLine (bytes: Uint8Array, start = 0, end = bytes.length): string {
  while (start < end && isAsciiSpace(bytes[start] as number)) start++
  while (end > start && isAsciiSpace(bytes[end - 1] as number)) end--
  if (start === end) return ''
  // Most lines are short ASCII (chat, control words): one pass, and no decoder or view to make.
  if (end - start <= SHORT_LINE && isAscii(bytes, start, end)) return latin1Slice.call(bytes, start, end)
  return decodeUtf8(bytes, start, end)
}

/** Whether `bytes` from `start` to `end` are all ASCII. @throws NulByteError */
function isAscii (bytes: Uint8Array, start: number, end: number): boolean {
  let ascii = true
  for (let i = start; i < end; i++) {
    const byte = bytes[i] as number
    if (byte === 0) throw new NulByteError()
    if (byte >= 0x80) ascii = false
  }
  return ascii
}

/** @throws InvalidUtf8Error, NulByteError */
function decodeUtf8 (bytes: Uint8Array, start: number, end: number): string {
  const text = bytes.subarray(start, end)
  if (indexOfByte.call(text, 0) >= 0) throw new NulByteError()
  try {
    return utf8.decode(text)
  } catch {
    throw new InvalidUtf8Error()
  }
}

/**
 * Bytes of its chunk that a short ASCII line may keep alive. Making a
 * string per line costs a native call (about 50 ns); slicing lines out of
 * one string made per this many bytes costs a fifth of that, but V8 keeps
 * each slice as a view of that string, so a line a reader keeps keeps up
 * to this much text with it.
 */
export const TEXT_WINDOW = 1024

/**
 * Decodes the lines of one chunk as `decodeLine` does, slicing short ASCII
 * lines out of one string per `TEXT_WINDOW` bytes. A window that is plain
 * ASCII as a whole, checked in one pass, spares its lines their own check.
 * `release()` once the chunk is read: a window is never used for other
 * bytes, nor kept.
 */
export class LineTexts {
  private bytes: Uint8Array | undefined
  private windowStart = 0
  private windowEnd = 0
  /** The window as text, made when a line is first sliced from it: a window of lines that are not ASCII needs none. */
  private text: string | undefined
  /** Whether the whole window is plain ASCII (no NUL). */
  private plain = false

  /** The text of the line from `start` to `end` of `bytes`. @throws InvalidUtf8Error, NulByteError */
  decode (bytes: Uint8Array, start: number, end: number): string {
    while (start < end && isAsciiSpace(bytes[start] as number)) start++
    while (end > start && isAsciiSpace(bytes[end - 1] as number)) end--
    if (start === end) return ''
    if (end - start > SHORT_LINE) return decodeUtf8(bytes, start, end)
    if (bytes !== this.bytes || start < this.windowStart || end > this.windowEnd) this.open(bytes, start, end)
    if (!this.plain && !isAscii(bytes, start, end)) return decodeUtf8(bytes, start, end)
    this.text ??= latin1Slice.call(bytes, this.windowStart, this.windowEnd)
    return this.text.slice(start - this.windowStart, end - this.windowStart)
  }

  /** Makes the window that starts with the line from `start` to `end`. */
  private open (bytes: Uint8Array, start: number, end: number): void {
    this.bytes = bytes
    this.windowStart = start
    this.windowEnd = Math.max(end, Math.min(bytes.length, start + TEXT_WINDOW))
    this.text = undefined
    this.plain = isPlainAscii(bytes, start, this.windowEnd)
  }

  /** Forgets the chunk and its window. */
  release (): void {
    this.bytes = undefined
    this.text = undefined
  }
}

/**
 * Splits a byte stream into lines and raw runs. Feed it with `push()`, then
 * drain with `nextLine()` / `takeBytes()` until they return `undefined`
 * (meaning: more input needed). Bytes are scanned in the chunk they arrived
 * in; only a line or payload that spans chunks is held in a
 * `Uint8ArrayList`, and only a line that spans chunks is copied.
 */
export class LineSplitter {
  readonly maxLineLength: number
  /** The chunk being read and the read position in it. */
  private chunk: Uint8Array = new Uint8Array(0)
  private pos = 0
  /** Bytes of an unfinished line or payload carried over from earlier chunks. */
  private readonly carry = new Uint8ArrayList()
  /** The line `nextLineSpan()` found: `line` from `lineStart` to `lineEnd`. */
  line: Uint8Array = this.chunk
  lineStart = 0
  lineEnd = 0

  constructor (opts: LineFramerOptions = {}) {
    this.maxLineLength = applyTable(LINE_FRAMER_OPTIONS, opts).maxLineLength
  }

  /** Adds the next chunk. Call only once the previous one is drained. */
  push (chunk: Uint8Array): void {
    if (this.pos < this.chunk.length) this.carry.append(this.chunk.subarray(this.pos))
    this.chunk = chunk
    this.pos = 0
  }

  /** Bytes received and not yet handed out. */
  get bufferedBytes (): number {
    return this.carry.byteLength + this.chunk.length - this.pos
  }

  /**
   * The next complete line, trimmed and decoded, or `undefined` when the
   * buffered bytes hold no `\n` yet.
   * @throws LineTooLongError, InvalidUtf8Error, NulByteError
   */
  nextLine (): string | undefined {
    return this.nextLineSpan() ? decodeLine(this.line, this.lineStart, this.lineEnd) : undefined
  }

  /**
   * Finds the next complete line, without its `\n`, neither trimmed nor
   * decoded (see {@link decodeLine}): it is `line` from `lineStart` to
   * `lineEnd`, the chunk it arrived in or a copy if it spans chunks. No view
   * is made, as one per line costs more than reading a short line.
   * @returns false when the buffered bytes hold no `\n` yet
   * @throws LineTooLongError
   */
  nextLineSpan (): boolean {
    const { chunk, pos } = this
    const newline: number = indexOfByte.call(chunk, NEWLINE, pos)
    const carried = this.carry.byteLength
    if (newline < 0) {
      if (carried + chunk.length - pos > this.maxLineLength) throw new LineTooLongError(this.maxLineLength)
      return false
    }
    if (carried + newline - pos > this.maxLineLength) throw new LineTooLongError(this.maxLineLength)
    this.pos = newline + 1
    if (carried === 0) {
      this.line = chunk
      this.lineStart = pos
      this.lineEnd = newline
      return true
    }
    this.carry.append(chunk.subarray(pos, newline))
    this.line = this.carry.subarray()
    this.carry.consume(this.carry.byteLength)
    this.lineStart = 0
    this.lineEnd = this.line.length
    return true
  }

  /**
   * Exactly `length` raw bytes, or `undefined` when fewer are buffered. The
   * result is a zero-copy view; it spans several chunks only if the bytes
   * arrived that way.
   */
  takeBytes (length: number): Uint8ArrayList | undefined {
    const available = this.chunk.length - this.pos
    const needed = length - this.carry.byteLength
    if (needed > available) return undefined
    const out = new Uint8ArrayList()
    if (this.carry.byteLength > 0) {
      out.append(this.carry)
      this.carry.consume(this.carry.byteLength)
    }
    if (needed > 0) {
      out.append(this.chunk.subarray(this.pos, this.pos + needed))
      this.pos += needed
    }
    return out
  }

  /**
   * Declares the end of input.
   * @throws TruncatedFrameError when bytes of an unfinished line remain
   */
  end (): void {
    const rest = this.bufferedBytes
    if (rest === 0) return
    const tail = new Uint8ArrayList(this.carry, this.chunk.subarray(this.pos))
    for (const part of tail) {
      if (!part.every(isAsciiSpace)) throw new TruncatedFrameError(`before the end of a line (${rest} bytes without \\n)`)
    }
  }
}

/**
 * A transform from bytes to lines, for pure line protocols. Yields one batch
 * of lines per input chunk (empty lines included, as framed).
 */
export function lineFramer (opts: LineFramerOptions = {}): (source: AsyncIterable<ByteChunk>) => AsyncGenerator<string[]> {
  const resolved = applyTable(LINE_FRAMER_OPTIONS, opts)
  return syncTransform(() => {
    const splitter = new LineSplitter(resolved)
    return {
      step: (chunk: ByteChunk, lines: string[]) => {
        forEachPiece(chunk, piece => {
          splitter.push(piece)
          for (let line = splitter.nextLine(); line !== undefined; line = splitter.nextLine()) lines.push(line)
        })
      },
      end: () => { splitter.end() }
    }
  }, arrays<string>())
}

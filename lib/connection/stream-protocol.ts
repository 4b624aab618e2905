/**
 * The protocol streams' wire format, mirrored in one file. Every stream
 * frame is the payload of one `BYTES` frame of the line protocol, sent only
 * to peers known to be meshline nodes:
 *
 *   <STREAM_PREFIX><type: u8><stream id: u32 big-endian><body>
 *
 *   OPEN    window: u32, maxFrame: u32, protocol: UTF-8 to the end
 *   ACCEPT  window: u32, maxFrame: u32
 *   REFUSE  code: u8, reason: UTF-8 to the end
 *   DATA    payload to the end
 *   WINDOW  credit: u32
 *   FIN     (nothing)
 *   RESET   code: u8, reason: UTF-8 to the end
 *
 * `window` is how many bytes the sender of OPEN or ACCEPT lets the other side
 * send on the stream before a `WINDOW` frame grants more, at least
 * `BASE_WINDOW`; `maxFrame` the largest `DATA` payload it takes in one frame,
 * at least `EARLY_MAX_FRAME`. Before its ACCEPT arrives, an opener may send
 * `BASE_WINDOW` bytes in frames of at most `EARLY_MAX_FRAME`, and those
 * count against the announced window. The side that dialled the connection
 * numbers its streams odd, the other even, so ids never collide.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { startsWithBytes } from '../../transforms/core/bytes.js'
import { StreamFrameError, type StreamResetReason } from '../errors.js'

/** Starts every stream frame; distinctive, so no application payload is mistaken for one. */
export const STREAM_PREFIX = 'meshline-stream/1 '
const PREFIX_BYTES = new TextEncoder().encode(STREAM_PREFIX)
/** Prefix, type and stream id. */
export const STREAM_HEADER_LENGTH = PREFIX_BYTES.length + 5

/** The window every stream starts with, each way, in bytes: an opener may send this much before it is accepted. */
export const BASE_WINDOW = 64 * 1024
/** Largest `DATA` payload before the remote announced its own, in bytes. */
export const EARLY_MAX_FRAME = 16 * 1024

/** Longest protocol name, in UTF-8 bytes. */
export const MAX_PROTOCOL_LENGTH = 256
/** Longest reason carried by `REFUSE` or `RESET`, in UTF-8 bytes; a longer one is cut. */
export const MAX_REASON_LENGTH = 512
/** Largest stream id: ids are 32-bit. */
export const MAX_STREAM_ID = 0xffff_ffff

const FrameType = { open: 0, accept: 1, refuse: 2, data: 3, window: 4, fin: 5, reset: 6 } as const

/** Why a stream was refused or reset, as the wire says it. */
export const ResetCode = {
  /** The remote has no handler for the protocol. */
  unsupported: 1,
  /** The remote has `maxStreamsPerPeer` streams open already. */
  tooManyStreams: 2,
  /** A side sent more than the window it was granted. */
  windowExceeded: 3,
  /** An application aborted the stream; the reason says why. */
  aborted: 4,
  /** The node or its connection is closing. */
  closing: 5,
  /** A frame broke the stream protocol. */
  protocol: 6
} as const
export type ResetCode = typeof ResetCode[keyof typeof ResetCode]
const RESET_CODES = new Set<number>(Object.values(ResetCode))

/** The wire code of each reason a stream is reset for. */
export const RESET_CODE: Record<StreamResetReason, ResetCode> = {
  'window-exceeded': ResetCode.windowExceeded,
  aborted: ResetCode.aborted,
  closing: ResetCode.closing,
  protocol: ResetCode.protocol
}

/** The reason a `RESET` (or a `REFUSE` that is neither unsupported nor too many) gives. */
export function resetReason (code: ResetCode): StreamResetReason {
  switch (code) {
    case ResetCode.windowExceeded: return 'window-exceeded'
    case ResetCode.aborted: return 'aborted'
    case ResetCode.closing: return 'closing'
    default: return 'protocol'
  }
}

export type StreamFrame =
  | { type: 'open', id: number, window: number, maxFrame: number, protocol: string }
  | { type: 'accept', id: number, window: number, maxFrame: number }
  | { type: 'refuse', id: number, code: ResetCode, reason: string }
  | { type: 'data', id: number, data: Uint8Array | Uint8ArrayList }
  | { type: 'window', id: number, credit: number }
  | { type: 'fin', id: number }
  | { type: 'reset', id: number, code: ResetCode, reason: string }

/** Whether a `BYTES` payload is a stream frame. */
export function isStreamPayload (data: Uint8Array | Uint8ArrayList): boolean {
  return startsWithBytes(data, PREFIX_BYTES)
}

function writeUint32 (bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24
  bytes[at + 1] = value >>> 16
  bytes[at + 2] = value >>> 8
  bytes[at + 3] = value
}

function readUint32 (bytes: Uint8Array, at: number): number {
  return (((bytes[at] as number) << 24) | ((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number)) >>> 0
}

function header (type: number, id: number, bodyLength: number): Uint8Array {
  const bytes = new Uint8Array(STREAM_HEADER_LENGTH + bodyLength)
  bytes.set(PREFIX_BYTES)
  bytes[PREFIX_BYTES.length] = type
  writeUint32(bytes, PREFIX_BYTES.length + 1, id)
  return bytes
}

const utf8 = new TextEncoder()

/** The reason's UTF-8 bytes, cut to `MAX_REASON_LENGTH` without splitting a character. */
function reasonBytes (reason: string): Uint8Array {
  const bytes = utf8.encode(reason)
  if (bytes.length <= MAX_REASON_LENGTH) return bytes
  let end = MAX_REASON_LENGTH
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--
  return bytes.subarray(0, end)
}

/**
 * Encodes a frame as a `BYTES` payload. A `DATA` frame's payload is not
 * copied: the result is a list of the header and the caller's bytes.
 */
export function encodeStreamFrame (frame: StreamFrame): Uint8Array | Uint8ArrayList {
  switch (frame.type) {
    case 'open':
    case 'accept': {
      const name = frame.type === 'open' ? utf8.encode(frame.protocol) : undefined
      const bytes = header(FrameType[frame.type], frame.id, 8 + (name?.length ?? 0))
      writeUint32(bytes, STREAM_HEADER_LENGTH, frame.window)
      writeUint32(bytes, STREAM_HEADER_LENGTH + 4, frame.maxFrame)
      if (name !== undefined) bytes.set(name, STREAM_HEADER_LENGTH + 8)
      return bytes
    }
    case 'refuse':
    case 'reset': {
      const reason = reasonBytes(frame.reason)
      const bytes = header(FrameType[frame.type], frame.id, 1 + reason.length)
      bytes[STREAM_HEADER_LENGTH] = frame.code
      bytes.set(reason, STREAM_HEADER_LENGTH + 1)
      return bytes
    }
    case 'data':
      return frame.data instanceof Uint8Array
        ? new Uint8ArrayList(header(FrameType.data, frame.id, 0), frame.data)
        : new Uint8ArrayList(header(FrameType.data, frame.id, 0), ...frame.data)
    case 'window': {
      const bytes = header(FrameType.window, frame.id, 4)
      writeUint32(bytes, STREAM_HEADER_LENGTH, frame.credit)
      return bytes
    }
    case 'fin':
      return header(FrameType.fin, frame.id, 0)
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function decodeText (bytes: Uint8Array, what: string, id: number): string {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    throw new StreamFrameError(`${what} is not valid UTF-8`, id)
  }
}

function bodyOf (name: string, head: Uint8Array, id: number, min: number, max: number): void {
  const length = head.length - STREAM_HEADER_LENGTH
  if (length < min || length > max) {
    throw new StreamFrameError(`${name} frame has a ${length}-byte body, expected ${min === max ? String(min) : max === Infinity ? `at least ${min}` : `${min} to ${max}`}`, id)
  }
}

/** Longest frame other than `DATA`: `OPEN` with the longest protocol name, or a reset with the longest reason. */
const MAX_CONTROL_FRAME = STREAM_HEADER_LENGTH + Math.max(8 + MAX_PROTOCOL_LENGTH, 1 + MAX_REASON_LENGTH)

/**
 * Decodes a stream frame from a `BYTES` payload that starts with
 * `STREAM_PREFIX`. A `DATA` frame's payload is a view of `data`, not a copy.
 * @throws StreamFrameError naming what is wrong; `streamId` is set when the frame's stream is known
 */
export function decodeStreamFrame (data: Uint8ArrayList): StreamFrame {
  if (data.byteLength < STREAM_HEADER_LENGTH) throw new StreamFrameError(`frame of ${data.byteLength} bytes is shorter than its ${STREAM_HEADER_LENGTH}-byte header`)
  // Views, not copies, in the common case of a header within the first chunk; control frames are small.
  const fixed = data.subarray(0, STREAM_HEADER_LENGTH)
  const type = fixed[PREFIX_BYTES.length] as number
  const id = readUint32(fixed, PREFIX_BYTES.length + 1)
  if (type === FrameType.data) return { type: 'data', id, data: data.sublist(STREAM_HEADER_LENGTH) }
  const head = data.subarray(0, Math.min(data.byteLength, MAX_CONTROL_FRAME + 1))
  switch (type) {
    case FrameType.window:
      bodyOf('WINDOW', head, id, 4, 4)
      return { type: 'window', id, credit: readUint32(head, STREAM_HEADER_LENGTH) }
    case FrameType.fin:
      bodyOf('FIN', head, id, 0, 0)
      return { type: 'fin', id }
    case FrameType.open:
    case FrameType.accept: {
      const name = type === FrameType.open ? 'OPEN' : 'ACCEPT'
      bodyOf(name, head, id, type === FrameType.open ? 9 : 8, type === FrameType.open ? 8 + MAX_PROTOCOL_LENGTH : 8)
      const window = readUint32(head, STREAM_HEADER_LENGTH)
      const maxFrame = readUint32(head, STREAM_HEADER_LENGTH + 4)
      if (window < BASE_WINDOW) throw new StreamFrameError(`${name} frame announces a window of ${window} bytes, below the base ${BASE_WINDOW}`, id)
      if (maxFrame < EARLY_MAX_FRAME) throw new StreamFrameError(`${name} frame announces a maxFrame of ${maxFrame} bytes, below ${EARLY_MAX_FRAME}`, id)
      if (type === FrameType.accept) return { type: 'accept', id, window, maxFrame }
      return { type: 'open', id, window, maxFrame, protocol: decodeText(head.subarray(STREAM_HEADER_LENGTH + 8), 'protocol name', id) }
    }
    case FrameType.refuse:
    case FrameType.reset: {
      const name = type === FrameType.refuse ? 'REFUSE' : 'RESET'
      bodyOf(name, head, id, 1, 1 + MAX_REASON_LENGTH)
      const code = head[STREAM_HEADER_LENGTH] as number
      if (!RESET_CODES.has(code)) throw new StreamFrameError(`${name} frame has unknown code ${code}`, id)
      const reason = decodeText(head.subarray(STREAM_HEADER_LENGTH + 1), 'reason', id)
      return type === FrameType.refuse ? { type: 'refuse', id, code: code as ResetCode, reason } : { type: 'reset', id, code: code as ResetCode, reason }
    }
    default:
      throw new StreamFrameError(`unknown frame type ${type}`, id)
  }
}

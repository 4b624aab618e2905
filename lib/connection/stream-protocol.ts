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
 * send on the stream before a `WINDOW` frame grants more; `maxFrame` the
 * largest `DATA` payload it takes in one frame. The side that dialled the
 * connection numbers its streams odd, the other even, so ids never collide.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { startsWithBytes } from '../../transforms/core/bytes.js'
import { StreamFrameError, type StreamResetReason } from '../errors.js'

/** Starts every stream frame; distinctive, so no application payload is mistaken for one. */
export const STREAM_PREFIX = 'meshline-stream/1 '
const PREFIX_BYTES = new TextEncoder().encode(STREAM_PREFIX)
/** Prefix, type and stream id. */
export const STREAM_HEADER_LENGTH = PREFIX_BYTES.length + 5

/** Longest protocol name, in UTF-8 bytes. */
export const MAX_PROTOCOL_LENGTH = 256
/** Longest reason carried by `REFUSE` or `RESET`, in UTF-8 bytes; a longer one is cut. */
export const MAX_REASON_LENGTH = 512
/** Largest stream id: ids are 32-bit. */
export const MAX_STREAM_ID = 0xffff_ffff

export const FrameType = { open: 0, accept: 1, refuse: 2, data: 3, window: 4, fin: 5, reset: 6 } as const

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
  | { type: 'data', id: number, data: Uint8ArrayList }
  | { type: 'window', id: number, credit: number }
  | { type: 'fin', id: number }
  | { type: 'reset', id: number, code: ResetCode, reason: string }

/** Whether a `BYTES` payload is a stream frame. */
export function isStreamPayload (data: Uint8Array | Uint8ArrayList): boolean {
  return startsWithBytes(data, PREFIX_BYTES)
}

function header (type: number, id: number, bodyLength: number): Uint8Array {
  const bytes = new Uint8Array(STREAM_HEADER_LENGTH + bodyLength)
  bytes.set(PREFIX_BYTES)
  const view = new DataView(bytes.buffer)
  view.setUint8(PREFIX_BYTES.length, type)
  view.setUint32(PREFIX_BYTES.length + 1, id)
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
      const name = frame.type === 'open' ? utf8.encode(frame.protocol) : new Uint8Array(0)
      const bytes = header(FrameType[frame.type], frame.id, 8 + name.length)
      const view = new DataView(bytes.buffer)
      view.setUint32(STREAM_HEADER_LENGTH, frame.window)
      view.setUint32(STREAM_HEADER_LENGTH + 4, frame.maxFrame)
      bytes.set(name, STREAM_HEADER_LENGTH + 8)
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
      return new Uint8ArrayList(header(FrameType.data, frame.id, 0), ...frame.data)
    case 'window': {
      const bytes = header(FrameType.window, frame.id, 4)
      new DataView(bytes.buffer).setUint32(STREAM_HEADER_LENGTH, frame.credit)
      return bytes
    }
    case 'fin':
      return header(FrameType.fin, frame.id, 0)
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Decodes a stream frame from a `BYTES` payload that starts with
 * `STREAM_PREFIX`. A `DATA` frame's payload is a view of `data`, not a copy.
 * @throws StreamFrameError naming what is wrong; `id` is set when the frame's stream is known
 */
export function decodeStreamFrame (data: Uint8ArrayList): StreamFrame {
  if (data.byteLength < STREAM_HEADER_LENGTH) throw new StreamFrameError(`frame of ${data.byteLength} bytes is shorter than its ${STREAM_HEADER_LENGTH}-byte header`)
  const type = data.getUint8(PREFIX_BYTES.length)
  const id = data.getUint32(PREFIX_BYTES.length + 1)
  const bodyLength = data.byteLength - STREAM_HEADER_LENGTH
  const body = (): Uint8Array => data.subarray(STREAM_HEADER_LENGTH)
  const text = (bytes: Uint8Array, what: string): string => {
    try {
      return strictUtf8.decode(bytes)
    } catch {
      throw new StreamFrameError(`${what} is not valid UTF-8`, id)
    }
  }
  const exactly = (length: number, name: string): void => {
    if (bodyLength !== length) throw new StreamFrameError(`${name} frame has a ${bodyLength}-byte body, expected ${length}`, id)
  }
  switch (type) {
    case FrameType.open:
    case FrameType.accept: {
      const name = type === FrameType.open ? 'OPEN' : 'ACCEPT'
      if (bodyLength < 8) throw new StreamFrameError(`${name} frame has a ${bodyLength}-byte body, expected at least 8`, id)
      const window = data.getUint32(STREAM_HEADER_LENGTH)
      const maxFrame = data.getUint32(STREAM_HEADER_LENGTH + 4)
      if (maxFrame === 0) throw new StreamFrameError(`${name} frame announces a maxFrame of 0`, id)
      if (type === FrameType.accept) {
        exactly(8, name)
        return { type: 'accept', id, window, maxFrame }
      }
      const protocol = body().subarray(8)
      if (protocol.length === 0 || protocol.length > MAX_PROTOCOL_LENGTH) {
        throw new StreamFrameError(`OPEN frame names a protocol of ${protocol.length} bytes, expected 1 to ${MAX_PROTOCOL_LENGTH}`, id)
      }
      return { type: 'open', id, window, maxFrame, protocol: text(protocol, 'protocol name') }
    }
    case FrameType.refuse:
    case FrameType.reset: {
      const name = type === FrameType.refuse ? 'REFUSE' : 'RESET'
      if (bodyLength < 1 || bodyLength > 1 + MAX_REASON_LENGTH) throw new StreamFrameError(`${name} frame has a ${bodyLength}-byte body, expected 1 to ${1 + MAX_REASON_LENGTH}`, id)
      const code = data.getUint8(STREAM_HEADER_LENGTH)
      if (!RESET_CODES.has(code)) throw new StreamFrameError(`${name} frame has unknown code ${code}`, id)
      const reason = text(body().subarray(1), 'reason')
      return type === FrameType.refuse ? { type: 'refuse', id, code: code as ResetCode, reason } : { type: 'reset', id, code: code as ResetCode, reason }
    }
    case FrameType.data:
      return { type: 'data', id, data: data.sublist(STREAM_HEADER_LENGTH) }
    case FrameType.window: {
      exactly(4, 'WINDOW')
      const credit = data.getUint32(STREAM_HEADER_LENGTH)
      return { type: 'window', id, credit }
    }
    case FrameType.fin:
      exactly(0, 'FIN')
      return { type: 'fin', id }
    default:
      throw new StreamFrameError(`unknown frame type ${type}`, id)
  }
}

/**
 * The file transfer sub-protocol's frame format, mirrored in one file. Each
 * frame is the payload of one `BYTES` frame (protocol, "File transfer"):
 *
 *   FILESTART:<filename>|<size>|<sha256-hex>\n
 *   FILECHUNK:<filename>\n<raw bytes of the chunk>      (chunks of 256 KiB)
 *   FILEEND:<filename>|<sha256-hex>\n
 *
 * A file name may itself contain `|` (fields are split from the right) and,
 * from a hostile or careless peer, anything else; it is made safe only where
 * it meets the file system (see safe-name.ts).
 *
 * Between two meshline nodes the same three payloads travel on a protocol
 * stream of their own (`FILE_STREAM_PROTOCOL`), one transfer per stream,
 * each payload length-prefixed (an unsigned varint, it-length-prefixed), so
 * a file does not share the chat's queue and a receiver's slow disk holds
 * back that transfer only.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { InvalidFileFrameError } from '../errors.js'

/** `FILESTART:<filename>|<size>|<sha256-hex>\n`: opens a transfer. */
export const FILESTART_PREFIX = 'FILESTART:'
/** `FILECHUNK:<filename>\n<raw bytes>`: the next bytes of a transfer. */
export const FILECHUNK_PREFIX = 'FILECHUNK:'
/** `FILEEND:<filename>|<sha256-hex>\n`: closes a transfer. */
export const FILEEND_PREFIX = 'FILEEND:'
/** Separates the fields of `FILESTART` and `FILEEND`. */
export const FIELD_SEPARATOR = '|'
/** Ends `FILESTART` and `FILEEND`, and the header of `FILECHUNK`. */
export const HEADER_END = 0x0a

/** Raw bytes per `FILECHUNK`, as the existing peers send them: 256 KiB. */
export const FILE_CHUNK_SIZE = 256 * 1024
/** Longest `FILESTART`/`FILEEND` payload and `FILECHUNK` header read, in bytes: file names are far shorter. */
export const MAX_FILE_HEADER_LENGTH = 4096

/** The protocol stream a transfer between meshline nodes travels on. */
export const FILE_STREAM_PROTOCOL = '/meshline/file/1'
/** Longest payload read from a file stream: a chunk and its header. */
export const MAX_FILE_STREAM_PAYLOAD = FILE_CHUNK_SIZE + MAX_FILE_HEADER_LENGTH

/** What `FILESTART` announces. */
export interface FileStart { name: string, size: number, sha256: string }
/** What `FILEEND` confirms. */
export interface FileEnd { name: string, sha256: string }

const SHA256_HEX = /^[0-9a-f]{64}$/
const DECIMAL = /^[0-9]{1,16}$/
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** The `FILESTART` payload. */
export function encodeFileStart ({ name, size, sha256 }: FileStart): Uint8Array {
  return encoder.encode(`${FILESTART_PREFIX}${name}${FIELD_SEPARATOR}${size}${FIELD_SEPARATOR}${sha256}\n`)
}

/** The `FILEEND` payload. */
export function encodeFileEnd ({ name, sha256 }: FileEnd): Uint8Array {
  return encoder.encode(`${FILEEND_PREFIX}${name}${FIELD_SEPARATOR}${sha256}\n`)
}

/** `FILECHUNK:<name>\n`: what every chunk of a transfer starts with. */
export function fileChunkHeader (name: string): Uint8Array {
  return encoder.encode(`${FILECHUNK_PREFIX}${name}\n`)
}

/** A `FILECHUNK` payload: the header and the chunk side by side, not copied together. */
export function encodeFileChunk (header: Uint8Array, chunk: Uint8Array): Uint8ArrayList {
  return new Uint8ArrayList(header, chunk)
}

/**
 * Parses a `FILESTART` payload.
 * @throws InvalidFileFrameError
 */
export function parseFileStart (data: Uint8ArrayList): FileStart {
  const fields = splitFields(headerText(data, FILESTART_PREFIX), 3)
  const [name, sizeText, sha256] = fields as [string, string, string]
  if (!DECIMAL.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) {
    throw new InvalidFileFrameError(`FILESTART size ${JSON.stringify(sizeText.slice(0, 20))} is not a decimal integer`)
  }
  return { name, size: Number(sizeText), sha256: checkHash(sha256) }
}

/**
 * Parses a `FILEEND` payload.
 * @throws InvalidFileFrameError
 */
export function parseFileEnd (data: Uint8ArrayList): FileEnd {
  const [name, sha256] = splitFields(headerText(data, FILEEND_PREFIX), 2) as [string, string]
  return { name, sha256: checkHash(sha256) }
}

/**
 * The name in a `FILECHUNK` header, read up to its first `\n`. Chunks of a
 * known transfer are matched on their whole header instead (see
 * `startsWithBytes`), which also finds names that contain `\n`.
 * @throws InvalidFileFrameError
 */
export function parseFileChunkName (data: Uint8ArrayList): string {
  const head = data.sublist(0, Math.min(data.byteLength, MAX_FILE_HEADER_LENGTH))
  const end = head.indexOf(Uint8Array.of(HEADER_END))
  if (end < 0) throw new InvalidFileFrameError(`FILECHUNK header has no newline within ${MAX_FILE_HEADER_LENGTH} bytes`)
  return decode(head.subarray(FILECHUNK_PREFIX.length, end))
}

function headerText (data: Uint8ArrayList, prefix: string): string {
  if (data.byteLength > MAX_FILE_HEADER_LENGTH) {
    throw new InvalidFileFrameError(`${prefix.slice(0, -1)} payload of ${data.byteLength} bytes is longer than ${MAX_FILE_HEADER_LENGTH}`)
  }
  const text = decode(data.subarray(prefix.length))
  // The protocol ends these payloads with `\n`; a missing one or a `\r\n` is tolerated, like line endings elsewhere.
  return text.replace(/\r?\n$/, '')
}

/** Splits `count` fields on `|` from the right, so the first (the name) may contain `|`. */
function splitFields (text: string, count: number): string[] {
  const fields: string[] = []
  let rest = text
  for (let i = 1; i < count; i++) {
    const at = rest.lastIndexOf(FIELD_SEPARATOR)
    if (at < 0) throw new InvalidFileFrameError(`expected ${count} fields separated by "${FIELD_SEPARATOR}"`)
    fields.unshift(rest.slice(at + 1))
    rest = rest.slice(0, at)
  }
  fields.unshift(rest)
  return fields
}

function checkHash (text: string): string {
  const hash = text.toLowerCase()
  if (!SHA256_HEX.test(hash)) throw new InvalidFileFrameError(`${JSON.stringify(text.slice(0, 70))} is not a SHA-256 in hex`)
  return hash
}

function decode (bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes)
  } catch {
    throw new InvalidFileFrameError('file name is not valid UTF-8')
  }
}

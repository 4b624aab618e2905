/**
 * The mesh line protocol's wire format, mirrored in one file: every control
 * word and header prefix with the protocol's text beside it, the typed
 * messages they become, and the address syntax they carry.
 * See docs/protocol.md.
 */
import type { Uint8ArrayList } from 'uint8arraylist'
import { InvalidAddressError, InvalidMessageError } from './errors.js'

/** `\n`: every line ends with it. */
export const NEWLINE = 0x0a
/** `PING`: liveness probe, answered with `PONG`. */
export const PING = 'PING'
/** `PONG`: answer to `PING`. */
export const PONG = 'PONG'
/** `REQUEST_PEERS`: asks for known addresses, answered with `PEERS:`. */
export const REQUEST_PEERS = 'REQUEST_PEERS'
/** `PEERS:a,b,c`: comma-separated `host:port` listen addresses. */
export const PEERS_PREFIX = 'PEERS:'
/** `BYTES:<len>`: header of exactly `<len>` raw bytes that follow it. */
export const BYTES_PREFIX = 'BYTES:'
/** `LISTEN:<host>:<port>`: second handshake line of a dialer. */
export const LISTEN_PREFIX = 'LISTEN:'
/** `DUPLICATE`: a listener's refusal, it already has this peer. */
export const DUPLICATE = 'DUPLICATE'
/** `MAX_PEERS`: a listener's refusal, it is at its peer limit. */
export const MAX_PEERS = 'MAX_PEERS'
/** Separates id from name in the `<ID>:<NAME>` handshake line. */
export const ID_SEPARATOR = ':'
/** Separates entries of a `PEERS:` list. */
export const PEERS_SEPARATOR = ','

/** Longest peer id accepted, in characters. */
export const MAX_ID_LENGTH = 128
/** Longest display name accepted, in characters. */
export const MAX_NAME_LENGTH = 256

/** Printable ASCII but `:`, which separates the id from the name. */
const ID_CHARACTERS = /^[\x21-\x39\x3b-\x7e]+$/
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\x00-\x1f\x7f]/

/** What is wrong with a peer id, or `undefined` for a good one: 1-128 printable ASCII characters, no space and no `:`. */
export function idProblem (id: string): string | undefined {
  if (id.length === 0) return 'is empty'
  if (id.length > MAX_ID_LENGTH) return `is longer than ${MAX_ID_LENGTH} characters`
  if (!ID_CHARACTERS.test(id)) return 'contains spaces, `:`, control or non-ASCII characters'
  return undefined
}

/** What is wrong with a display name, or `undefined` for a good one: at most 256 characters, no control characters. */
export function nameProblem (name: string): string | undefined {
  if (name.length > MAX_NAME_LENGTH) return `is longer than ${MAX_NAME_LENGTH} characters`
  if (CONTROL_CHARACTER.test(name)) return 'contains control characters'
  return undefined
}

/** `<ID>:<NAME>`: first handshake line in both directions. */
export interface HelloMessage { type: 'hello', id: string, name: string }
/** `LISTEN:<host>:<port>`: where the dialer accepts connections. */
export interface ListenMessage { type: 'listen', address: string }
/** `DUPLICATE` */
export interface DuplicateMessage { type: 'duplicate' }
/** `MAX_PEERS` */
export interface MaxPeersMessage { type: 'max-peers' }
/** `PING` */
export interface PingMessage { type: 'ping' }
/** `PONG` */
export interface PongMessage { type: 'pong' }
/** `REQUEST_PEERS` */
export interface RequestPeersMessage { type: 'request-peers' }
/**
 * `PEERS:<list>`. `addresses` holds the well-formed `host:port` entries;
 * `rejected` the malformed ones, kept so they can be reported.
 */
export interface PeersMessage { type: 'peers', addresses: string[], rejected?: string[] }
/**
 * `BYTES:<len>` and its payload. Received payloads are `Uint8ArrayList`
 * views of the bytes as they arrived (no copy); `.subarray()` gives one
 * contiguous `Uint8Array`, copying only if the payload spans chunks.
 */
export interface BytesMessage { type: 'bytes', data: Uint8Array | Uint8ArrayList }
/** Any other line: chat text. */
export interface ChatMessage { type: 'chat', text: string }

/** Every message of the line protocol, as carried through a connection's pipeline. */
export type Message =
  | HelloMessage | ListenMessage | DuplicateMessage | MaxPeersMessage
  | PingMessage | PongMessage | RequestPeersMessage | PeersMessage
  | BytesMessage | ChatMessage

/** A decoded but not yet classified frame: a trimmed line, or a `BYTES` payload. */
export type Frame = string | Uint8ArrayList

/** Singletons for the messages without fields, so hot paths do not allocate them. */
export const PING_MESSAGE: PingMessage = Object.freeze({ type: 'ping' })
export const PONG_MESSAGE: PongMessage = Object.freeze({ type: 'pong' })
export const REQUEST_PEERS_MESSAGE: RequestPeersMessage = Object.freeze({ type: 'request-peers' })
export const DUPLICATE_MESSAGE: DuplicateMessage = Object.freeze({ type: 'duplicate' })
export const MAX_PEERS_MESSAGE: MaxPeersMessage = Object.freeze({ type: 'max-peers' })

/** The line a message is written as, without its `\n`; `undefined` for `bytes`, whose header is built by the encoder. */
export function messageLine (msg: Message): string | undefined {
  switch (msg.type) {
    case 'chat': return msg.text
    case 'ping': return PING
    case 'pong': return PONG
    case 'request-peers': return REQUEST_PEERS
    case 'peers': return PEERS_PREFIX + msg.addresses.join(PEERS_SEPARATOR)
    case 'hello': return msg.id + ID_SEPARATOR + msg.name
    case 'listen': return LISTEN_PREFIX + msg.address
    case 'duplicate': return DUPLICATE
    case 'max-peers': return MAX_PEERS
    case 'bytes': return undefined
  }
}

/** One short line describing a message, for debug logs. */
export function describeMessage (msg: Message): string {
  if (msg.type === 'bytes') return `BYTES:${msg.data.byteLength}`
  const line = messageLine(msg) ?? ''
  return line.length > 80 ? `${line.slice(0, 77)}...` : line
}

/** Whether a received, trimmed line is a control line rather than chat. */
export function isControlLine (line: string): boolean {
  return line === PING || line === PONG || line === REQUEST_PEERS ||
    line.startsWith(PEERS_PREFIX) || line.startsWith(BYTES_PREFIX)
}

/**
 * Checks that `text` arrives as the very chat line it is: one line of
 * well-formed text, not empty once trimmed, and not something the receiver
 * would read as a control line (a chat `BYTES:5` would desynchronise its
 * framing).
 * @throws InvalidMessageError
 */
export function assertChatText (text: string): void {
  if (text.includes('\n')) throw new InvalidMessageError('chat text must not contain a newline')
  if (text.includes('\0')) throw new InvalidMessageError('chat text must not contain a NUL character')
  if (!text.isWellFormed()) throw new InvalidMessageError('chat text must be well-formed Unicode (it has a lone surrogate)')
  const trimmed = isAsciiSpace(text.charCodeAt(0)) || isAsciiSpace(text.charCodeAt(text.length - 1)) ? trimAscii(text) : text
  if (trimmed.length === 0) throw new InvalidMessageError('chat text must not be empty or only whitespace')
  if (isControlLine(trimmed)) throw new InvalidMessageError(`chat text ${JSON.stringify(trimmed.slice(0, 40))} would be read as a control line`)
}

/**
 * Chat that `chatMessage()` checked. It remembers the text it checked in a
 * private field, which neither a copy (`{ ...msg }`) nor an assignment to
 * `text` carries along, so a changed message is checked again. A private
 * field rather than `Object.freeze()`: freezing cost more than the check
 * it saves, once per message on the batch path.
 */
class CheckedChat implements ChatMessage {
  readonly type = 'chat'
  readonly #checked: string
  constructor (readonly text: string) {
    this.#checked = text
  }

  static isChecked (msg: Message): boolean {
    return #checked in msg && msg.#checked === msg.text
  }
}

/**
 * A chat message for `text`, checked once here (see `assertChatText`), so
 * that however many peers it is queued for it is not checked again. A chat
 * message built any other way (by a transform, say) is checked by the encoder.
 * @throws InvalidMessageError
 */
export function chatMessage (text: string): ChatMessage {
  assertChatText(text)
  return new CheckedChat(text)
}

/** Whether `msg` is chat that `chatMessage()` checked, with the text it checked. */
export function isCheckedChat (msg: Message): boolean {
  return CheckedChat.isChecked(msg)
}

/** Whether a byte or UTF-16 code is ASCII whitespace, which the protocol trims from lines. */
export function isAsciiSpace (code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d)
}

const ASCII_WHITESPACE = /^[\t\n\v\f\r ]+|[\t\n\v\f\r ]+$/g

/** Trims ASCII whitespace only, as the protocol does (not Unicode spaces). */
export function trimAscii (text: string): string {
  return text.replace(ASCII_WHITESPACE, '')
}

/** A `host:port` address split into its parts. IPv6 hosts are written `[v6]:port`. */
export interface HostPort { host: string, port: number }

const PORT_PATTERN = /^[0-9]{1,5}$/
const HOST_PATTERN = /^[A-Za-z0-9.\-_:%]+$/

/**
 * Parses `host:port` or `[v6]:port`. The port must be 1-65535; the host
 * non-empty and free of spaces and separators.
 * @throws InvalidAddressError
 */
export function parseAddress (address: string): HostPort {
  let host: string
  let portText: string
  if (address.startsWith('[')) {
    const end = address.indexOf(']:')
    if (end < 0) throw new InvalidAddressError(address)
    host = address.slice(1, end)
    portText = address.slice(end + 2)
  } else {
    const colon = address.lastIndexOf(':')
    if (colon < 0) throw new InvalidAddressError(address)
    host = address.slice(0, colon)
    portText = address.slice(colon + 1)
    // An unbracketed host with colons is a bare IPv6 address, ambiguous with its port.
    if (host.includes(':')) throw new InvalidAddressError(address)
  }
  if (host.length === 0 || host.length > 253 || !HOST_PATTERN.test(host) || !PORT_PATTERN.test(portText)) {
    throw new InvalidAddressError(address)
  }
  const port = Number(portText)
  if (port < 1 || port > 65535) throw new InvalidAddressError(address)
  return { host, port }
}

/** Writes an address the way the protocol does: `host:port`, or `[v6]:port`. */
export function formatAddress (host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/**
 * Where a node that cannot listen (a browser page) says it listens: a
 * name under `.invalid`, which never resolves (RFC 6761), so a peer that
 * tries it fails at once, and meshline peers neither pass it on nor dial
 * it. The label tells two such nodes apart.
 */
export function dialOnlyAddress (label: string): string {
  return formatAddress(`${label}${DIAL_ONLY_SUFFIX}`, 1)
}

const DIAL_ONLY_SUFFIX = '.invalid'

/** Whether `address` is a `dialOnlyAddress()`. */
export function isDialOnlyAddress (address: string): boolean {
  const colon = address.lastIndexOf(':')
  return address.slice(0, colon).toLowerCase().endsWith(DIAL_ONLY_SUFFIX)
}

/** Parses and re-formats an address, so that equal addresses compare equal as strings. */
export function normalizeAddress (address: string): string {
  const { host, port } = parseAddress(address)
  return formatAddress(host.toLowerCase(), port)
}

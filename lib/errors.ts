/**
 * One error class per failure. Match on `code`, which is stable; messages are
 * for people and may change.
 */

/** Base of every error meshline throws or reports. */
export abstract class MeshlineError extends Error {
  abstract readonly code: string
}

/**
 * A peer broke the wire protocol. The connection it arrived on is closed with
 * `closeReason`; nothing else is affected.
 */
export abstract class ProtocolError extends MeshlineError {
  /** Short reason for logs and `peer:disconnect` events. */
  get closeReason (): string {
    return `${this.code}: ${this.message}`
  }
}

/** A line grew past `maxLineLength` before its `\n`. */
export class LineTooLongError extends ProtocolError {
  override readonly name = 'LineTooLongError'
  readonly code = 'ERR_LINE_TOO_LONG'
  constructor (readonly limit: number) {
    super(`line longer than maxLineLength (${limit} bytes)`)
  }
}

/** A `BYTES:` header whose length is negative, not a decimal integer, or too large to represent. */
export class InvalidLengthError extends ProtocolError {
  override readonly name = 'InvalidLengthError'
  readonly code = 'ERR_INVALID_LENGTH'
  constructor (readonly header: string, readonly reason: 'negative' | 'not a decimal integer' | 'overflow') {
    super(`invalid BYTES length (${reason}) in ${JSON.stringify(header.slice(0, 40))}`)
  }
}

/** A `BYTES:` header announced more than `maxBytesPerMessage`; nothing was allocated for it. */
export class MessageTooLargeError extends ProtocolError {
  override readonly name = 'MessageTooLargeError'
  readonly code = 'ERR_MESSAGE_TOO_LARGE'
  constructor (readonly length: number, readonly limit: number) {
    super(`BYTES length ${length} exceeds maxBytesPerMessage (${limit})`)
  }
}

/** The stream ended inside a frame: in a `BYTES` payload or before a line's `\n`. */
export class TruncatedFrameError extends ProtocolError {
  override readonly name = 'TruncatedFrameError'
  readonly code = 'ERR_TRUNCATED_FRAME'
  constructor (readonly missing: string) {
    super(`stream ended ${missing}`)
  }
}

/** A line is not valid UTF-8. */
export class InvalidUtf8Error extends ProtocolError {
  override readonly name = 'InvalidUtf8Error'
  readonly code = 'ERR_INVALID_UTF8'
  constructor () {
    super('line is not valid UTF-8')
  }
}

/** A line contains a NUL byte, which no text of this protocol may carry. */
export class NulByteError extends ProtocolError {
  override readonly name = 'NulByteError'
  readonly code = 'ERR_NUL_BYTE'
  constructor () {
    super('line contains a NUL byte')
  }
}

/** A handshake line was malformed (empty id, id with `:`, spaces or control characters, over-long). */
export class InvalidHandshakeError extends ProtocolError {
  override readonly name = 'InvalidHandshakeError'
  readonly code = 'ERR_INVALID_HANDSHAKE'
}

/** The handshake did not complete within `connectionTimeout`. */
export class HandshakeTimeoutError extends ProtocolError {
  override readonly name = 'HandshakeTimeoutError'
  readonly code = 'ERR_HANDSHAKE_TIMEOUT'
  constructor (readonly timeout: number) {
    super(`handshake not completed within ${timeout} ms`)
  }
}

/** The remote sent more than `maxHandshakeBytes` before its handshake completed. */
export class HandshakeTooLargeError extends ProtocolError {
  override readonly name = 'HandshakeTooLargeError'
  readonly code = 'ERR_HANDSHAKE_TOO_LARGE'
  constructor (readonly limit: number) {
    super(`more than maxHandshakeBytes (${limit} bytes) received before the handshake completed`)
  }
}

/** The remote refused us as a duplicate (`DUPLICATE`), or we refused it. */
export class DuplicatePeerError extends ProtocolError {
  override readonly name = 'DuplicatePeerError'
  readonly code = 'ERR_DUPLICATE_PEER'
}

/** The remote is at its peer limit (`MAX_PEERS`), or we are. */
export class MaxPeersError extends ProtocolError {
  override readonly name = 'MaxPeersError'
  readonly code = 'ERR_MAX_PEERS'
}

/** The remote announced our own id: we dialled ourselves. */
export class SelfConnectionError extends ProtocolError {
  override readonly name = 'SelfConnectionError'
  readonly code = 'ERR_SELF_CONNECTION'
  constructor () {
    super('the remote has this node\'s own id')
  }
}

/** Nothing was received from the peer for `peerTimeout`. */
export class PeerTimeoutError extends MeshlineError {
  override readonly name = 'PeerTimeoutError'
  readonly code = 'ERR_PEER_TIMEOUT'
  constructor (readonly timeout: number) {
    super(`peer silent for ${timeout} ms`)
  }
}

/** A peer's outbound queue stayed full for `slowPeerTimeout`; the peer was disconnected so nothing is dropped. */
export class SlowPeerError extends MeshlineError {
  override readonly name = 'SlowPeerError'
  readonly code = 'ERR_SLOW_PEER'
  constructor (readonly timeout: number, readonly queuedBytes: number) {
    super(`peer did not drain its queue (${queuedBytes} bytes) within slowPeerTimeout (${timeout} ms)`)
  }
}

/** The connection closed before the message could be written. */
export class ConnectionClosedError extends MeshlineError {
  override readonly name = 'ConnectionClosedError'
  readonly code = 'ERR_CONNECTION_CLOSED'
  constructor (readonly reason?: string) {
    super(reason === undefined ? 'connection closed' : `connection closed: ${reason}`)
  }
}

/** A message given to a send function cannot be put on the wire as it is. */
export class InvalidMessageError extends MeshlineError {
  override readonly name = 'InvalidMessageError'
  readonly code = 'ERR_INVALID_MESSAGE'
}

/** An option has a value of the wrong type or range. */
export class InvalidOptionError extends MeshlineError {
  override readonly name = 'InvalidOptionError'
  readonly code = 'ERR_INVALID_OPTION'
}

/** An address is not of the form `host:port` (or `[v6]:port`) with a port from 1 to 65535. */
export class InvalidAddressError extends MeshlineError {
  override readonly name = 'InvalidAddressError'
  readonly code = 'ERR_INVALID_ADDRESS'
  constructor (readonly address: string) {
    super(`invalid address ${JSON.stringify(address.slice(0, 80))}: expected host:port`)
  }
}

/** No connected peer has that id. */
export class PeerNotFoundError extends MeshlineError {
  override readonly name = 'PeerNotFoundError'
  readonly code = 'ERR_PEER_NOT_FOUND'
  constructor (readonly peerId: string) {
    super(`no connected peer with id ${peerId}`)
  }
}

/** The node is not running (not started yet, or stopped). */
export class NotRunningError extends MeshlineError {
  override readonly name = 'NotRunningError'
  readonly code = 'ERR_NOT_RUNNING'
  constructor () {
    super('node is not running')
  }
}

/** A dial failed at the transport level or in its handshake, after every attempt. */
export class DialError extends MeshlineError {
  override readonly name = 'DialError'
  readonly code = 'ERR_DIAL_FAILED'
  constructor (readonly address: string, readonly attempts: number, options?: ErrorOptions) {
    super(`could not connect to ${address} after ${attempts} attempt(s)`, options)
  }
}

/** A table the network can grow (pending handshakes, a `PEERS` list, known addresses, redials) hit its bound; the excess was refused or forgotten, nothing crashed. */
export class LimitExceededError extends MeshlineError {
  override readonly name = 'LimitExceededError'
  readonly code = 'ERR_LIMIT_EXCEEDED'
  constructor (readonly limit: string, readonly value: number) {
    super(`${limit} (${value}) reached`)
  }
}

/**
 * A received `PEERS:` list has entries that are not `host:port` addresses.
 * They are ignored and the connection stays open: existing peers are known
 * to write sloppy lists.
 */
export class MalformedPeersListError extends MeshlineError {
  override readonly name = 'MalformedPeersListError'
  readonly code = 'ERR_MALFORMED_PEERS'
  constructor (readonly entries: string[]) {
    super(`PEERS list has ${entries.length} malformed entries, such as ${JSON.stringify(entries[0]?.slice(0, 80))}`)
  }
}

/** The peers file could not be read or written, or held something other than addresses; the node runs on without it. */
export class PeersFileError extends MeshlineError {
  override readonly name = 'PeersFileError'
  readonly code = 'ERR_PEERS_FILE'
  constructor (readonly path: string, readonly reason: 'unreadable' | 'too large' | 'corrupt' | 'unwritable', options?: ErrorOptions) {
    const detail = options?.cause instanceof Error ? `: ${options.cause.message}` : ''
    super(`peers file ${path} is ${reason}${detail}`, options)
  }
}

/** A file transfer announced, or sent, more than the receiver's `maxFileSize`. */
export class FileTooLargeError extends MeshlineError {
  override readonly name = 'FileTooLargeError'
  readonly code = 'ERR_FILE_TOO_LARGE'
  constructor (readonly size: number, readonly limit: number) {
    super(`file of ${size} bytes exceeds maxFileSize (${limit} bytes)`)
  }
}

/** A received file's length differs from the size its `FILESTART` announced. */
export class FileSizeMismatchError extends MeshlineError {
  override readonly name = 'FileSizeMismatchError'
  readonly code = 'ERR_FILE_SIZE_MISMATCH'
  constructor (readonly expected: number, readonly received: number) {
    super(`received ${received} bytes, ${received > expected ? 'more than' : 'but'} the announced ${expected}`)
  }
}

/** A received file's SHA-256 differs from the one its sender announced. */
export class FileHashMismatchError extends MeshlineError {
  override readonly name = 'FileHashMismatchError'
  readonly code = 'ERR_FILE_HASH_MISMATCH'
  constructor (readonly expected: string, readonly actual: string) {
    super(`SHA-256 ${actual} does not match the announced ${expected}`)
  }
}

/** A `FILESTART`, `FILECHUNK` or `FILEEND` payload is malformed, or names no transfer in progress. */
export class InvalidFileFrameError extends MeshlineError {
  override readonly name = 'InvalidFileFrameError'
  readonly code = 'ERR_INVALID_FILE_FRAME'
}

/** A file transfer ended before its `FILEEND`: the other side disconnected, or the transfer was given up. */
export class TransferAbortedError extends MeshlineError {
  override readonly name = 'TransferAbortedError'
  readonly code = 'ERR_TRANSFER_ABORTED'
}

/** The file being sent changed (size or content) while it was read; receivers reject the copy. */
export class FileChangedError extends MeshlineError {
  override readonly name = 'FileChangedError'
  readonly code = 'ERR_FILE_CHANGED'
  constructor (readonly path: string) {
    super(`${path} changed while it was being sent`)
  }
}

/** Reading a file to send, or writing a received one, failed; `cause` holds the system error. */
export class FileAccessError extends MeshlineError {
  override readonly name = 'FileAccessError'
  readonly code = 'ERR_FILE_ACCESS'
  constructor (readonly path: string, options?: ErrorOptions) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : ''
    super(`cannot access ${path}${reason}`, options)
  }
}

/** There is no connected peer to send to. */
export class NoPeersError extends MeshlineError {
  override readonly name = 'NoPeersError'
  readonly code = 'ERR_NO_PEERS'
  constructor () {
    super('no connected peers')
  }
}

/** A Noise message failed authentication: it was altered, reordered, replayed, or sealed with another key. Nothing of it was delivered. */
export class IntegrityError extends ProtocolError {
  override readonly name = 'IntegrityError'
  readonly code = 'ERR_INTEGRITY'
  constructor (what = 'Noise message') {
    super(`${what} failed authentication (altered, reordered, replayed or wrong key)`)
  }
}

/** A Noise handshake message was malformed (wrong length, invalid key), or the stream ended inside the handshake. */
export class NoiseHandshakeError extends ProtocolError {
  override readonly name = 'NoiseHandshakeError'
  readonly code = 'ERR_NOISE_HANDSHAKE'
}

/** A link reached `maxNoiseMessages` in one direction; it is closed before any nonce could repeat. */
export class NonceExhaustedError extends MeshlineError {
  override readonly name = 'NonceExhaustedError'
  readonly code = 'ERR_NONCE_EXHAUSTED'
  constructor (readonly limit: number) {
    super(`link reached maxNoiseMessages (${limit}) in one direction`)
  }
}

/**
 * The peer answered a Noise handshake as a plaintext peer: with a protocol
 * line, by closing, or with silence past `secureProbeTimeout`.
 */
export class PlaintextPeerError extends ProtocolError {
  override readonly name = 'PlaintextPeerError'
  readonly code = 'ERR_PLAINTEXT_PEER'
  constructor (readonly answer: 'line' | 'closed' | 'silent') {
    super(`peer does not speak Noise (answered the handshake ${answer === 'line' ? 'with a plaintext line' : answer === 'closed' ? 'by closing' : 'with silence'})`)
  }
}

/** A plaintext link was refused because `secure` is `'required'`. */
export class PlaintextRefusedError extends ProtocolError {
  override readonly name = 'PlaintextRefusedError'
  readonly code = 'ERR_PLAINTEXT_REFUSED'
  constructor (options?: ErrorOptions) {
    super('plaintext link refused: secure is \'required\'', options)
  }
}

/** A Noise handshake reached a node whose `secure` is `'off'`. */
export class NoiseRefusedError extends ProtocolError {
  override readonly name = 'NoiseRefusedError'
  readonly code = 'ERR_NOISE_REFUSED'
  constructor () {
    super('Noise handshake refused: secure is \'off\'')
  }
}

/** The peer's public key is not on the allowlist (a plaintext peer has none, so it never is). */
export class AccessDeniedError extends ProtocolError {
  override readonly name = 'AccessDeniedError'
  readonly code = 'ERR_ACCESS_DENIED'
  constructor (readonly publicKey: string | undefined) {
    super(publicKey === undefined ? 'plaintext peer refused: an allowlist is set' : `public key ${publicKey} is not on the allowlist`)
  }
}

/** The id a peer announced is not the one its proven key gives, or a plaintext peer claimed an id bound to a key. */
export class IdentityMismatchError extends ProtocolError {
  override readonly name = 'IdentityMismatchError'
  readonly code = 'ERR_IDENTITY_MISMATCH'
  constructor (readonly claimed: string, reason: string) {
    super(`peer claimed id ${claimed.slice(0, 64)}: ${reason}`)
  }
}

/** The identity key cannot be used: the file is unreadable, malformed, or readable by others. */
export class IdentityError extends MeshlineError {
  override readonly name = 'IdentityError'
  readonly code = 'ERR_IDENTITY'
}

/** An overlay frame (a `BYTES` payload with the overlay prefix) is malformed; the connection it arrived on is closed. */
export class OverlayFrameError extends ProtocolError {
  override readonly name = 'OverlayFrameError'
  readonly code = 'ERR_OVERLAY_FRAME'
}

/**
 * No connected peer has that id, and no node of the overlay answered a route
 * request for it within `routeTimeout`: the node is unknown or unreachable.
 */
export class NoRouteError extends MeshlineError {
  override readonly name = 'NoRouteError'
  readonly code = 'ERR_NO_ROUTE'
  constructor (readonly peerId: string, readonly timeout: number) {
    super(`no route to peer ${peerId}: no node of the overlay answered within ${timeout} ms`)
  }
}

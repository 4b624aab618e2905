/**
 * One error class per failure. Match on `code`, which is stable; messages are
 * for people and may change. The line protocol's own errors, and the base
 * classes, come from the transforms' layer and are exported here with the rest.
 */
import { MeshlineError, ProtocolError } from '../transforms/core/errors.js'

export * from '../transforms/core/errors.js'

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

/** A wait did not end within the time the caller allowed. */
export class TimeoutError extends MeshlineError {
  override readonly name = 'TimeoutError'
  readonly code = 'ERR_TIMEOUT'
  constructor (readonly what: string, readonly timeout: number) {
    super(`${what} did not complete within ${timeout} ms`)
  }
}

/** The caller's `AbortSignal` ended the operation; `cause` is the signal's reason. */
export class AbortedError extends MeshlineError {
  override readonly name = 'AbortedError'
  readonly code = 'ERR_ABORTED'
  constructor (readonly what: string, options?: ErrorOptions) {
    super(`${what} was aborted`, options)
  }
}

/** `handle()` was given a prefix that already has a handler. */
export class DuplicateHandlerError extends MeshlineError {
  override readonly name = 'DuplicateHandlerError'
  readonly code = 'ERR_DUPLICATE_HANDLER'
  /** @param prefix the `BYTES` prefix, or the stream protocol when `of` says so */
  constructor (readonly prefix: string, of: 'prefix' | 'protocol' = 'prefix') {
    super(`a handler for the ${of} ${JSON.stringify(prefix)} is already registered; remove it first with the function its registration returned`)
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

/** The transport cannot listen where it runs: a browser can only dial. */
export class ListenUnsupportedError extends MeshlineError {
  override readonly name = 'ListenUnsupportedError'
  readonly code = 'ERR_LISTEN_UNSUPPORTED'
  constructor (readonly transport: string) {
    super(`${transport} cannot listen here (a browser can only dial)`)
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

/**
 * A protocol-stream frame (a `BYTES` payload with the stream prefix) is
 * malformed. When `streamId` is known only that stream is reset; a frame too
 * short to name its stream closes the connection.
 */
export class StreamFrameError extends ProtocolError {
  override readonly name = 'StreamFrameError'
  readonly code = 'ERR_STREAM_FRAME'
  constructor (message: string, readonly streamId?: number) {
    super(streamId === undefined ? message : `stream ${streamId}: ${message}`)
  }
}

/** The peer does not speak protocol streams: a line-protocol peer, found so before any stream frame was sent to it. */
export class StreamsUnsupportedError extends MeshlineError {
  override readonly name = 'StreamsUnsupportedError'
  readonly code = 'ERR_STREAMS_UNSUPPORTED'
  constructor (readonly peerId: string, detail: string) {
    super(`peer ${peerId} does not speak protocol streams (${detail})`)
  }
}

/** The peer has no handler for the protocol a stream was opened for. */
export class ProtocolUnsupportedError extends MeshlineError {
  override readonly name = 'ProtocolUnsupportedError'
  readonly code = 'ERR_PROTOCOL_UNSUPPORTED'
  constructor (readonly peerId: string, readonly protocol: string) {
    super(`peer ${peerId} has no handler for protocol ${JSON.stringify(protocol)}`)
  }
}

/** A stream was not opened: `side` has `limit` streams open with the other already (`maxStreamsPerPeer`). */
export class TooManyStreamsError extends MeshlineError {
  override readonly name = 'TooManyStreamsError'
  readonly code = 'ERR_TOO_MANY_STREAMS'
  constructor (readonly side: 'local' | 'remote', readonly limit?: number) {
    super(side === 'local'
      ? `this node has maxStreamsPerPeer (${limit}) streams open with the peer`
      : 'the peer refused the stream: it has as many streams open with this node as it allows')
  }
}

/** Why a stream was reset, by either side: `aborted` by an application, `window-exceeded`, `closing` (node or connection), `protocol` (a bad frame). */
export type StreamResetReason = 'aborted' | 'window-exceeded' | 'closing' | 'protocol'

/** A stream was reset before it ended: by `by`, for `reason`, with the resetter's `detail`. What arrived before it was still read. */
export class StreamResetError extends MeshlineError {
  override readonly name = 'StreamResetError'
  readonly code = 'ERR_STREAM_RESET'
  constructor (readonly by: 'local' | 'remote', readonly reason: StreamResetReason, readonly detail: string, options?: ErrorOptions) {
    super(`stream reset by the ${by === 'local' ? 'local node' : 'peer'} (${reason})${detail === '' ? '' : `: ${detail}`}`, options)
  }
}

/** A peer sent more on a stream than the window it was granted; the stream is reset, the connection and the other streams are kept. */
export class StreamWindowExceededError extends MeshlineError {
  override readonly name = 'StreamWindowExceededError'
  readonly code = 'ERR_STREAM_WINDOW_EXCEEDED'
  constructor (readonly streamId: number, readonly received: number, readonly window: number) {
    super(`stream ${streamId}: peer sent ${received} bytes with ${window} bytes of window left`)
  }
}

/** A write or sink on a stream whose writing side has ended (closed, sunk once already, or reset). */
export class StreamClosedError extends MeshlineError {
  override readonly name = 'StreamClosedError'
  readonly code = 'ERR_STREAM_CLOSED'
}

/**
 * A `preferred` node refused to fall back to plaintext with an address that
 * proved a key over Noise before (it is pinned): whatever answers there in
 * plaintext now may be an attacker stripping the encryption.
 */
export class DowngradeRefusedError extends ProtocolError {
  override readonly name = 'DowngradeRefusedError'
  readonly code = 'ERR_DOWNGRADE_REFUSED'
  constructor (readonly address: string, readonly pinnedId: string, options?: ErrorOptions) {
    super(`${address} answered as a plaintext peer, but it proved the key of ${pinnedId.slice(0, 16)}... over Noise before: plaintext refused`, options)
  }
}

/** Why an overlay message was refused end to end: see `UntrustedMessageError`. */
export type UntrustedReason = 'malformed' | 'bad-signature' | 'key-mismatch' | 'replay' | 'unsigned' | 'undecryptable'

/**
 * An overlay message that is not what its author wrote, or not new: it is
 * neither delivered nor relayed. `malformed`: a signed or sealed body that
 * does not parse; `bad-signature`: altered or forged; `key-mismatch`: the
 * signing key is not the key of the id it claims; `replay`: seen before
 * (within the replay window, or older than it); `unsigned`: no signature
 * where `overlay.endToEnd` is 'required'; `undecryptable`: a routed message
 * that was not sealed to this node, or was altered. `origin` is the id the
 * message claims, where it names one.
 */
export class UntrustedMessageError extends ProtocolError {
  override readonly name = 'UntrustedMessageError'
  readonly code = 'ERR_UNTRUSTED_MESSAGE'
  constructor (readonly reason: UntrustedReason, detail: string, readonly origin?: string, options?: ErrorOptions) {
    super(`${reason}: ${detail}`, options)
  }
}

/**
 * The errors of the line protocol and its transforms: the base classes of
 * every meshline error, the protocol violations a peer can commit, and the
 * messages and addresses that cannot go on the wire. Match on `code`, which
 * is stable; messages are for people and may change.
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

/** A message given to a send function cannot be put on the wire as it is. */
export class InvalidMessageError extends MeshlineError {
  override readonly name = 'InvalidMessageError'
  readonly code = 'ERR_INVALID_MESSAGE'
}

/** An address is not of the form `host:port` (or `[v6]:port`) with a port from 1 to 65535. */
export class InvalidAddressError extends MeshlineError {
  override readonly name = 'InvalidAddressError'
  readonly code = 'ERR_INVALID_ADDRESS'
  constructor (readonly address: string) {
    super(`invalid address ${JSON.stringify(address.slice(0, 80))}: expected host:port`)
  }
}

/** An option has a value of the wrong type or range, or no option has that name. */
export class InvalidOptionError extends MeshlineError {
  override readonly name = 'InvalidOptionError'
  readonly code = 'ERR_INVALID_OPTION'
}

/** A function was called with an argument of the wrong type or value; the message names the argument and what it must be. */
export class InvalidArgumentError extends MeshlineError {
  override readonly name = 'InvalidArgumentError'
  readonly code = 'ERR_INVALID_ARGUMENT'
}

/** A transform of yours threw; the connection it ran on was closed. `cause` is what it threw. */
export class TransformError extends MeshlineError {
  override readonly name = 'TransformError'
  readonly code = 'ERR_TRANSFORM'
  constructor (readonly transform: string, options: ErrorOptions & { cause: unknown }) {
    super(`${transform} threw: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options)
  }
}

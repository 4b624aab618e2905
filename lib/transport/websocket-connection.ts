/**
 * The transport contract over one WebSocket, whichever implementation
 * carries it (`ws` in Node, the standard `WebSocket` in browsers): the
 * byte stream travels as binary messages of at most `MAX_MESSAGE_BYTES`;
 * a zero-length binary message ends one direction (WebSocket has no
 * half-close of its own), and the connection closes once both directions
 * have ended. A text message is a protocol violation and ends the
 * connection at once.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { ConnectionClosedError } from '../errors.js'
import type { ByteChunk, Transport } from './transport.js'
import { forEachPiece } from '../../transforms/core/bytes.js'
import { formatAddress } from '../../transforms/core/line-protocol.js'
import { WakeUp } from '../../transforms/core/wake-up.js'

/** Largest binary message sent, in bytes: writes are cut into messages of at most this. */
export const MAX_MESSAGE_BYTES = 64 * 1024

/** What the connection needs of a WebSocket. */
export interface MessageSocket {
  /** Whether messages can be sent. */
  readonly isOpen: boolean
  /** Bytes handed to `send()` and not yet on the wire. */
  readonly bufferedAmount: number
  send: (message: Uint8Array) => void
  /** Resolves once `bufferedAmount` is at most `mark` again (or the socket is gone). */
  drained: (mark: number) => Promise<void>
  /** Stops reading from the network, where the implementation can (`ws` can, a browser cannot). */
  pause?: () => void
  resume?: () => void
  /** The closing handshake. */
  close: () => void
  /** Drops the connection at once. */
  terminate: () => void
}

export interface Endpoints {
  remoteHost: string
  remotePort: number
  localHost: string
}

export interface WebSocketConnectionOptions {
  readHighWaterMark: number
  writeHighWaterMark: number
}

/** A connection, and the two calls its socket's events make on it. */
export interface WebSocketConnection {
  transport: Transport
  /** A message arrived. */
  received: (data: Uint8Array, isBinary: boolean) => void
  /** The socket closed. */
  gone: () => void
}

const END = new Uint8Array(0)

export function websocketConnection (socket: MessageSocket, { remoteHost, remotePort, localHost }: Endpoints, opts: WebSocketConnectionOptions): WebSocketConnection {
  let unread = new Uint8ArrayList()
  let paused = false
  let remoteEnded = false
  let localEnded = false
  let isGone = false
  const reader = new WakeUp()
  let markClosed: () => void = () => {}
  const closed = new Promise<void>(resolve => { markClosed = resolve })

  function received (data: Uint8Array, isBinary: boolean): void {
    if (!isBinary) {
      socket.terminate()
      return
    }
    if (data.length === 0) remoteEnded = true
    else unread.append(data)
    if (unread.byteLength >= opts.readHighWaterMark && socket.pause !== undefined) {
      socket.pause()
      paused = true
    }
    if (remoteEnded && localEnded) socket.close()
    reader.notify()
  }

  function gone (): void {
    isGone = true
    markClosed()
    reader.notify()
  }

  async function * source (): AsyncGenerator<ByteChunk> {
    for (;;) {
      if (unread.byteLength > 0) {
        const batch = unread
        unread = new Uint8ArrayList()
        if (paused) {
          paused = false
          socket.resume?.()
        }
        yield batch
      } else if (remoteEnded || isGone) {
        return
      } else {
        await reader.wait()
      }
    }
  }

  async function sink (chunks: AsyncIterable<ByteChunk>): Promise<void> {
    for await (const chunk of chunks) {
      if (isGone || !socket.isOpen) throw new ConnectionClosedError('socket closed while writing')
      forEachPiece(chunk, piece => {
        for (let at = 0; at < piece.length; at += MAX_MESSAGE_BYTES) socket.send(piece.subarray(at, at + MAX_MESSAGE_BYTES))
      })
      if (socket.bufferedAmount > opts.writeHighWaterMark) await Promise.race([socket.drained(opts.writeHighWaterMark), closed])
      if (isGone) throw new ConnectionClosedError('socket closed while writing')
    }
    if (isGone || !socket.isOpen) return
    localEnded = true
    socket.send(END)
    if (remoteEnded) socket.close()
  }

  return {
    transport: {
      source: source(),
      sink,
      remoteHost,
      remoteAddress: formatAddress(remoteHost, remotePort),
      localHost,
      close: () => { socket.terminate() },
      closed
    },
    received,
    gone
  }
}

/**
 * WebSocket transport (`ws`): the transport contract over WebSocket
 * connections, for peers that can only speak WebSocket. The byte stream
 * travels as binary messages of at most `MAX_MESSAGE_BYTES`; a zero-length
 * binary message ends one direction (WebSocket has no half-close of its
 * own), and the connection closes once both directions have ended. Reading
 * pauses the socket once `readHighWaterMark` bytes wait unread; writing
 * waits while more than `writeHighWaterMark` bytes are buffered.
 */
import { once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Uint8ArrayList } from 'uint8arraylist'
import { WebSocket, WebSocketServer } from 'ws'
import { ConnectionClosedError } from '../errors.js'
import { DEFAULT_LISTEN_BACKLOG, DEFAULT_READ_HIGH_WATER_MARK } from './tcp.js'
import { whenOpen, type ByteChunk, type DialOptions, type Transport, type TransportFactory, type TransportListener } from './transport.js'
import { applyTable, integer, type OptionTable } from '../../transforms/core/option-table.js'
import { formatAddress } from '../../transforms/core/line-protocol.js'
import { forEachPiece } from '../../transforms/core/bytes.js'

/** Largest binary message sent, in bytes: writes are cut into messages of at most this. */
export const MAX_MESSAGE_BYTES = 64 * 1024

export interface WebSocketTransportOptions {
  /** Unread bytes buffered per connection before it is paused. */
  readHighWaterMark?: number
  /** Bytes buffered for sending before a writer waits. */
  writeHighWaterMark?: number
  /** Largest binary message accepted from a peer, in bytes; a larger one closes the connection. */
  maxPayload?: number
}

/** Each WebSocket transport option's default and range. */
export const WEBSOCKET_OPTIONS = {
  readHighWaterMark: integer(DEFAULT_READ_HIGH_WATER_MARK, 1, { unit: 'bytes' }),
  writeHighWaterMark: integer(1024 * 1024, 1, { unit: 'bytes' }),
  maxPayload: integer(MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES, { unit: 'bytes' })
} satisfies OptionTable<WebSocketTransportOptions>

type Resolved = Required<WebSocketTransportOptions>

const END = new Uint8Array(0)

/** One WebSocket connection as a transport. */
function websocketConnection (ws: WebSocket, remoteHost: string, remotePort: number, localHost: string, opts: Resolved): Transport {
  let unread = new Uint8ArrayList()
  let remoteEnded = false
  let localEnded = false
  let gone = false
  let wake: (() => void) | undefined
  const closed = new Promise<void>(resolve => { ws.once('close', () => { resolve() }) })

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) {
      ws.terminate()
      return
    }
    if (data.length === 0) remoteEnded = true
    else unread.append(data)
    if (unread.byteLength >= opts.readHighWaterMark) ws.pause()
    if (remoteEnded && localEnded) ws.close()
    wake?.()
  })
  ws.on('close', () => {
    gone = true
    wake?.()
  })
  // Errors end the connection; `close` follows and tells the reader and the writer.
  ws.on('error', () => {})

  async function * source (): AsyncGenerator<ByteChunk> {
    for (;;) {
      if (unread.byteLength > 0) {
        const batch = unread
        unread = new Uint8ArrayList()
        if (ws.isPaused) ws.resume()
        yield batch
      } else if (remoteEnded || gone) {
        return
      } else {
        await new Promise<void>(resolve => { wake = resolve })
        wake = undefined
      }
    }
  }

  /** Sends a chunk as binary messages; resolves once the last of them is handed to the socket. */
  function send (chunk: ByteChunk): Promise<void> {
    if (gone || ws.readyState !== WebSocket.OPEN) throw new ConnectionClosedError('socket closed while writing')
    let written: Promise<void> = Promise.resolve()
    forEachPiece(chunk, piece => {
      for (let at = 0; at < piece.length; at += MAX_MESSAGE_BYTES) {
        const message = piece.subarray(at, at + MAX_MESSAGE_BYTES)
        written = new Promise(resolve => { ws.send(message, { binary: true }, () => { resolve() }) })
      }
    })
    return written
  }

  async function sink (chunks: AsyncIterable<ByteChunk>): Promise<void> {
    for await (const chunk of chunks) {
      const written = send(chunk)
      // `ws` has no drain event: past the mark, wait until this chunk has gone to the socket.
      if (ws.bufferedAmount > opts.writeHighWaterMark) await Promise.race([written, closed])
      if (gone) throw new ConnectionClosedError('socket closed while writing')
    }
    if (gone || ws.readyState !== WebSocket.OPEN) return
    localEnded = true
    ws.send(END, { binary: true })
    if (remoteEnded) ws.close()
  }

  return {
    source: source(),
    sink,
    remoteHost,
    remoteAddress: formatAddress(remoteHost, remotePort),
    localHost,
    close: () => { ws.terminate() },
    closed
  }
}

/** Dials and listens over WebSocket (`ws://host:port/`). */
export function websocketTransport (options: WebSocketTransportOptions = {}): TransportFactory {
  const opts = applyTable(WEBSOCKET_OPTIONS, options)
  const wsOptions = { perMessageDeflate: false, maxPayload: opts.maxPayload }
  return {
    async dial (host: string, port: number, dialOpts: DialOptions): Promise<Transport> {
      const address = formatAddress(host, port)
      const ws = new WebSocket(`ws://${address}/`, { ...wsOptions, handshakeTimeout: dialOpts.timeout })
      let localHost = 'unknown'
      ws.once('upgrade', (response: IncomingMessage) => { localHost = response.socket.localAddress ?? localHost })
      await whenOpen(ws, 'open', address, dialOpts, () => { ws.terminate() })
      return websocketConnection(ws, host, port, localHost, opts)
    },

    async listen (host: string, port: number, onConnection: (transport: Transport) => void): Promise<TransportListener> {
      const server = new WebSocketServer({ ...wsOptions, host, port, backlog: DEFAULT_LISTEN_BACKLOG })
      server.on('connection', (ws: WebSocket, request: IncomingMessage) => {
        const { remoteAddress, remotePort, localAddress } = request.socket
        onConnection(websocketConnection(ws, remoteAddress ?? 'unknown', remotePort ?? 0, localAddress ?? 'unknown', opts))
      })
      await once(server, 'listening')
      const bound = server.address() as AddressInfo
      return {
        host: bound.address,
        port: bound.port,
        close: () => new Promise<void>(resolve => { server.close(() => { resolve() }) })
      }
    }
  }
}

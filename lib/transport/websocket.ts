/**
 * WebSocket transport in Node (`ws`): dials and listens for
 * `websocket-connection.ts`'s connections. Reading pauses the socket once
 * `readHighWaterMark` bytes wait unread; writing waits while more than
 * `writeHighWaterMark` bytes are buffered. The browser build puts
 * `websocket.browser.ts` in this file's place.
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { DEFAULT_LISTEN_BACKLOG, DEFAULT_READ_HIGH_WATER_MARK, whenOpen, type DialOptions, type Transport, type TransportFactory, type TransportListener } from './transport.js'
import { MAX_MESSAGE_BYTES, websocketConnection, type Endpoints } from './websocket-connection.js'
import { applyTable, integer, type OptionTable } from '../../transforms/core/option-table.js'
import { formatAddress } from '../../transforms/core/line-protocol.js'

export { MAX_MESSAGE_BYTES }

export interface WebSocketTransportOptions {
  /** Unread bytes buffered per connection before it is paused. */
  readHighWaterMark?: number
  /** Bytes buffered for sending before a writer waits. */
  writeHighWaterMark?: number
  /** Largest binary message accepted from a peer, in bytes; a larger one closes the connection. */
  maxPayload?: number
  /**
   * A listener closes a connection that has not completed its HTTP upgrade
   * within this many ms (before the mesh's own handshake, which
   * `connectionTimeout` bounds).
   */
  upgradeTimeout?: number
}

/** Each WebSocket transport option's default and range. */
export const WEBSOCKET_OPTIONS = {
  readHighWaterMark: integer(DEFAULT_READ_HIGH_WATER_MARK, 1, { unit: 'bytes' }),
  writeHighWaterMark: integer(1024 * 1024, 1, { unit: 'bytes' }),
  maxPayload: integer(MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES, { unit: 'bytes' }),
  upgradeTimeout: integer(10_000, 1, { unit: 'ms' })
} satisfies OptionTable<WebSocketTransportOptions>

type Resolved = Required<WebSocketTransportOptions>

/** One `ws` socket as a transport. */
function wsConnection (ws: WebSocket, endpoints: Endpoints, opts: Resolved): Transport {
  // `ws` has no drain event: a writer past the mark waits until the last message has gone to the socket.
  let lastWritten: Promise<void> = Promise.resolve()
  const connection = websocketConnection({
    get isOpen () { return ws.readyState === WebSocket.OPEN },
    get bufferedAmount () { return ws.bufferedAmount },
    send: message => { lastWritten = new Promise(resolve => { ws.send(message, { binary: true }, () => { resolve() }) }) },
    drained: async () => { await lastWritten },
    pause: () => { ws.pause() },
    resume: () => { ws.resume() },
    close: () => { ws.close() },
    terminate: () => { ws.terminate() }
  }, endpoints, opts)
  ws.on('message', (data: Buffer, isBinary: boolean) => { connection.received(data, isBinary) })
  ws.once('close', connection.gone)
  // Errors end the connection; `close` follows and tells the reader and the writer.
  ws.on('error', () => {})
  return connection.transport
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
      await whenOpen(signal => once(ws, 'open', { signal }), address, dialOpts, () => { ws.terminate() })
      return wsConnection(ws, { remoteHost: host, remotePort: port, localHost }, opts)
    },

    async listen (host: string, port: number, onConnection: (transport: Transport) => void): Promise<TransportListener> {
      // Node checks request timeouts on an interval: a short one, so that a silent client goes in time.
      const http = createServer({ requestTimeout: opts.upgradeTimeout, headersTimeout: opts.upgradeTimeout, connectionsCheckingInterval: Math.min(1000, opts.upgradeTimeout) })
      const server = new WebSocketServer({ ...wsOptions, server: http })
      server.on('connection', (ws: WebSocket, request: IncomingMessage) => {
        const { remoteAddress, remotePort, localAddress } = request.socket
        onConnection(wsConnection(ws, { remoteHost: remoteAddress ?? 'unknown', remotePort: remotePort ?? 0, localHost: localAddress ?? 'unknown' }, opts))
      })
      http.listen({ host, port, backlog: DEFAULT_LISTEN_BACKLOG })
      await once(http, 'listening')
      const bound = http.address() as AddressInfo
      return {
        host: bound.address,
        port: bound.port,
        close: async () => {
          // The server's own close leaves accepted WebSockets to their owners, as a TCP listener does.
          await new Promise<void>(resolve => { server.close(() => { resolve() }) })
          await new Promise<void>(resolve => { http.close(() => { resolve() }) })
        }
      }
    }
  }
}

/**
 * `websocket.ts` for browsers: dials; a page cannot listen. Where the page
 * has `WebSocketStream` (Chromium), reads pause once `readHighWaterMark`
 * bytes wait unread and writes wait for the stream, as over TCP. Elsewhere
 * the standard `WebSocket` cannot pause its reads, so what arrives waits in
 * memory until the pipeline takes it, and writing waits while more than
 * `writeHighWaterMark` bytes are buffered, checked every
 * `drainCheckInterval` ms (`WebSocket` has no drain event).
 */
import { ListenUnsupportedError } from '../errors.js'
import { DEFAULT_READ_HIGH_WATER_MARK, whenOpen, type DialOptions, type Transport, type TransportFactory, type TransportListener } from './transport.js'
import { MAX_MESSAGE_BYTES, websocketConnection, type Endpoints } from './websocket-connection.js'
import { applyTable, checked, integer, oneOf, type OptionTable } from '../../transforms/core/option-table.js'
import { formatAddress } from '../../transforms/core/line-protocol.js'

export { MAX_MESSAGE_BYTES }

export interface WebSocketTransportOptions {
  /** Use `WebSocketStream`, with backpressure on reads. @default where the page has it */
  streams?: boolean
  /** With `WebSocketStream`: unread bytes buffered per connection before reading pauses. */
  readHighWaterMark?: number
  /** Bytes buffered for sending before a writer waits. */
  writeHighWaterMark?: number
  /** How often a waiting writer looks at `bufferedAmount`, in ms. */
  drainCheckInterval?: number
  /** `wss` for pages served over https (browsers refuse `ws:` there). */
  scheme?: 'ws' | 'wss'
}

export const WEBSOCKET_OPTIONS = {
  streams: checked(typeof (globalThis as { WebSocketStream?: unknown }).WebSocketStream === 'function', 'a boolean', value => typeof value === 'boolean', 'where the page has WebSocketStream'),
  readHighWaterMark: integer(DEFAULT_READ_HIGH_WATER_MARK, 1, { unit: 'bytes' }),
  writeHighWaterMark: integer(1024 * 1024, 1, { unit: 'bytes' }),
  drainCheckInterval: integer(4, 1, { unit: 'ms' }),
  scheme: oneOf<'ws' | 'wss'>('ws', ['ws', 'wss'])
} satisfies OptionTable<WebSocketTransportOptions>

const NO_BYTES = new Uint8Array(0)

/** Resolves once `ws` opens; rejects if it fails first or `signal` aborts. */
async function opened (ws: WebSocket, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: unknown): void => {
      ws.removeEventListener('open', onOpen)
      ws.removeEventListener('error', onError)
      signal.removeEventListener('abort', onAbort)
      if (error === undefined) resolve()
      else reject(error)
    }
    const onOpen = (): void => { settle() }
    const onError = (): void => { settle(new Error(`WebSocket to ${ws.url} failed`)) }
    const onAbort = (): void => { settle(signal.reason) }
    ws.addEventListener('open', onOpen)
    ws.addEventListener('error', onError)
    signal.addEventListener('abort', onAbort)
  })
}

/** The part of `WebSocketStream` used here (the project is typed without the DOM's). */
interface WebSocketStreamLike {
  readonly opened: Promise<{ readable: { getReader: () => StreamReader }, writable: { getWriter: () => StreamWriter } }>
  readonly closed: Promise<unknown>
  close: () => void
}
interface StreamReader { read: () => Promise<{ value?: unknown, done: boolean }> }
interface StreamWriter { write: (chunk: Uint8Array) => Promise<void> }
type WebSocketStreamClass = new (url: string, options?: { signal?: AbortSignal }) => WebSocketStreamLike

type Resolved = Required<WebSocketTransportOptions>

/** A classic `WebSocket`: messages pushed at the connection, writes polled for drain. */
async function dialWebSocket (url: string, address: string, endpoints: Endpoints, dialOpts: DialOptions, opts: Resolved): Promise<Transport> {
  const ws = new WebSocket(url)
  ws.binaryType = 'arraybuffer'
  const connection = websocketConnection({
    get isOpen () { return ws.readyState === WebSocket.OPEN },
    get bufferedAmount () { return ws.bufferedAmount },
    send: message => { ws.send(message) },
    drained: async mark => {
      while (ws.bufferedAmount > mark && ws.readyState === WebSocket.OPEN) {
        await new Promise(resolve => { setTimeout(resolve, opts.drainCheckInterval) })
      }
    },
    close: () => { ws.close() },
    terminate: () => { ws.close() }
  }, endpoints, { readHighWaterMark: Infinity, writeHighWaterMark: opts.writeHighWaterMark })
  ws.addEventListener('message', ({ data }: { data: unknown }) => {
    if (data instanceof ArrayBuffer) connection.received(new Uint8Array(data), true)
    else connection.received(NO_BYTES, false)
  })
  ws.addEventListener('close', connection.gone)
  await whenOpen(signal => opened(ws, signal), address, dialOpts, () => { ws.close() })
  return connection.transport
}

/** A `WebSocketStream`: read only while the connection wants more, writes waiting for the stream. */
async function dialWebSocketStream (url: string, address: string, endpoints: Endpoints, dialOpts: DialOptions, opts: Resolved): Promise<Transport> {
  const WebSocketStream = (globalThis as { WebSocketStream?: WebSocketStreamClass }).WebSocketStream as WebSocketStreamClass
  const wss = new WebSocketStream(url)
  let streams: Awaited<WebSocketStreamLike['opened']> | undefined
  await whenOpen(async () => { streams = await wss.opened }, address, dialOpts, () => { wss.close() })
  const reader = (streams as NonNullable<typeof streams>).readable.getReader()
  const writer = (streams as NonNullable<typeof streams>).writable.getWriter()
  let open = true
  let pending = 0
  let reading = false
  let paused = false
  let drainedWaiter: (() => void) | undefined
  const connection = websocketConnection({
    get isOpen () { return open },
    get bufferedAmount () { return pending },
    send: message => {
      pending += message.byteLength
      writer.write(message).catch(() => {}).finally(() => {
        pending -= message.byteLength
        drainedWaiter?.()
      })
    },
    drained: async mark => {
      while (pending > mark && open) await new Promise<void>(resolve => { drainedWaiter = resolve })
    },
    pause: () => { paused = true },
    resume: () => {
      paused = false
      void pump()
    },
    close: () => { wss.close() },
    terminate: () => { wss.close() }
  }, endpoints, { readHighWaterMark: opts.readHighWaterMark, writeHighWaterMark: opts.writeHighWaterMark })
  async function pump (): Promise<void> {
    if (reading) return
    reading = true
    try {
      while (!paused) {
        const { value, done } = await reader.read()
        if (done) break
        if (value instanceof ArrayBuffer) connection.received(new Uint8Array(value), true)
        else if (value instanceof Uint8Array) connection.received(value, true)
        else connection.received(NO_BYTES, false)
      }
    } catch {
      wss.close()
    } finally {
      reading = false
    }
  }
  wss.closed.catch(() => {}).finally(() => {
    open = false
    drainedWaiter?.()
    connection.gone()
  })
  void pump()
  return connection.transport
}

/** Dials over WebSocket (`ws://host:port/`) from a browser. */
export function websocketTransport (options: WebSocketTransportOptions = {}): TransportFactory {
  const opts = applyTable(WEBSOCKET_OPTIONS, options)
  return {
    async dial (host: string, port: number, dialOpts: DialOptions): Promise<Transport> {
      const address = formatAddress(host, port)
      const endpoints = { remoteHost: host, remotePort: port, localHost: 'unknown' }
      const dial = opts.streams ? dialWebSocketStream : dialWebSocket
      return await dial(`${opts.scheme}://${address}/`, address, endpoints, dialOpts, opts)
    },

    async listen (): Promise<TransportListener> {
      throw new ListenUnsupportedError('the WebSocket transport')
    }
  }
}

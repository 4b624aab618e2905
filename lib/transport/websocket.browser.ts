/**
 * `websocket.ts` for browsers: dials with the standard `WebSocket`; a page
 * cannot listen. A browser cannot pause a WebSocket's reads, so what
 * arrives waits in memory until the pipeline takes it (it reads at once
 * while the peer's own window allows). Writing waits while more than
 * `writeHighWaterMark` bytes are buffered, checked every
 * `drainCheckInterval` ms: `WebSocket` has no drain event.
 */
import { ListenUnsupportedError } from '../errors.js'
import { whenOpen, type DialOptions, type Transport, type TransportFactory, type TransportListener } from './transport.js'
import { MAX_MESSAGE_BYTES, websocketConnection } from './websocket-connection.js'
import { applyTable, integer, oneOf, type OptionTable } from '../../transforms/core/option-table.js'
import { formatAddress } from '../../transforms/core/line-protocol.js'

export { MAX_MESSAGE_BYTES }

export interface WebSocketTransportOptions {
  /** Bytes buffered for sending before a writer waits. */
  writeHighWaterMark?: number
  /** How often a waiting writer looks at `bufferedAmount`, in ms. */
  drainCheckInterval?: number
  /** `wss` for pages served over https (browsers refuse `ws:` there). */
  scheme?: 'ws' | 'wss'
}

export const WEBSOCKET_OPTIONS = {
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

/** Dials over WebSocket (`ws://host:port/`) from a browser. */
export function websocketTransport (options: WebSocketTransportOptions = {}): TransportFactory {
  const opts = applyTable(WEBSOCKET_OPTIONS, options)
  return {
    async dial (host: string, port: number, dialOpts: DialOptions): Promise<Transport> {
      const address = formatAddress(host, port)
      const ws = new WebSocket(`${opts.scheme}://${address}/`)
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
      }, { remoteHost: host, remotePort: port, localHost: 'unknown' }, { readHighWaterMark: Infinity, writeHighWaterMark: opts.writeHighWaterMark })
      ws.addEventListener('message', ({ data }: { data: unknown }) => {
        if (data instanceof ArrayBuffer) connection.received(new Uint8Array(data), true)
        else connection.received(NO_BYTES, false)
      })
      ws.addEventListener('close', connection.gone)
      await whenOpen(signal => opened(ws, signal), address, dialOpts, () => { ws.close() })
      return connection.transport
    },

    async listen (): Promise<TransportListener> {
      throw new ListenUnsupportedError('the WebSocket transport')
    }
  }
}

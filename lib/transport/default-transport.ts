/** The transport a node uses when given none: TCP in Node; the browser build puts `default-transport.browser.ts` (WebSocket) in this file's place. */
import { tcpTransport } from './tcp.js'
import type { TransportFactory } from './transport.js'

/** Whether a node listens unless told otherwise. */
export const LISTENS_BY_DEFAULT = true

export function defaultTransport (): TransportFactory {
  return tcpTransport()
}

/** The transport a browser node uses when given none: WebSocket, the only one a page has. */
import type { TransportFactory } from './transport.js'
import { websocketTransport } from './websocket.browser.js'

/** A page cannot listen. */
export const LISTENS_BY_DEFAULT = false

export function defaultTransport (): TransportFactory {
  return websocketTransport()
}

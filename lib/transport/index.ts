/**
 * meshline's transports: how a node gets byte duplexes to and from other
 * nodes. TCP is the default; the in-memory network runs many nodes in one
 * process, with optional latency and loss; `crashable()` cuts a node off at
 * once, for failure tests.
 *
 * @example
 * ```ts
 * import { MeshNode } from 'meshline-p2p'
 * import { memoryNetwork } from 'meshline-p2p/transports'
 *
 * const network = memoryNetwork()
 * const a = new MeshNode({ transport: network, host: 'a' })
 * ```
 */
export { tcpTransport, socketTransport } from './tcp.js'
export type { TcpOptions } from './tcp.js'
export { websocketTransport, WEBSOCKET_OPTIONS, MAX_MESSAGE_BYTES } from './websocket.js'
export type { WebSocketTransportOptions } from './websocket.js'
export { duplexPair, memoryNetwork } from './memory.js'
export type { MemoryTransportOptions } from './memory.js'
export { crashable } from './crashable.js'
export type { CrashableTransport } from './crashable.js'
export { DEFAULT_LISTEN_BACKLOG, DEFAULT_READ_HIGH_WATER_MARK } from './transport.js'
export type { ByteChunk, DialOptions, Transport, TransportFactory, TransportListener } from './transport.js'

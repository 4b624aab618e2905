/**
 * meshline: peer-to-peer messaging meshes as composable async-iterable
 * pipelines, wire-compatible with the mesh line protocol.
 *
 * @example
 * ```ts
 * import { MeshNode } from 'meshline-p2p'
 *
 * const a = new MeshNode({ host: '127.0.0.1', name: 'alice' })
 * const b = new MeshNode({ host: '127.0.0.1', name: 'bob' })
 * await a.start()
 * await b.start()
 * b.on('chat', ({ peer, text }) => { console.log(`${peer.name}: ${text}`) })
 * await a.connect(b.address)
 * await a.broadcast('hello mesh')
 * ```
 *
 * This entry holds the node, its options, types and errors. The rest is
 * behind subpath exports: `meshline-p2p/transports` (TCP, in memory, crash
 * simulation), `meshline-p2p/secure` (identities and Noise links),
 * `meshline-p2p/file-transfer` and `meshline-p2p/transforms` (the line protocol's
 * transforms, usable without a node).
 */
export { MeshNode } from './mesh/node.js'
export type { MessagesOptions, WaitOptions } from './mesh/node.js'
export type { MeshMetrics, MeshStats } from './mesh/metrics.js'
export type { TrafficCount, TrafficKind } from './connection/traffic.js'
export type { MessageSink, Outgoing, OutgoingSource } from './mesh/sinks.js'
export type { ConnectOptions } from './mesh/dialler.js'
export type { MeshEvents } from './mesh/events.js'
export type { KnownPeer } from './mesh/address-book.js'
export type { WebSocketPeer } from './mesh/websocket-peers.js'
export type { IncomingStream, OpenStreamOptions, RequestHandler, RequestHandlerOptions, RequestOptions, StreamHandler } from './mesh/streams.js'
export type { ProtocolStream, StreamChunk } from './connection/protocol-stream.js'
export type {
  Authenticity, BroadcastResult, BytesHandler, Direction, EndToEndMode, HandlerOptions, IncomingMessage, LinkSecurity, MessageSource, Origin, PeerInfo, SecureMode, Topology
} from './types.js'
export { DEFAULT_OPTIONS, NODE_OPTIONS, resolveOptions } from './options/node-options.js'
export type { MeshNodeOptions, ResolvedOptions } from './options/node-options.js'
export { DEFAULT_OVERLAY_OPTIONS, END_TO_END_MODES, OVERLAY_OPTIONS } from './options/overlay-options.js'
export type { OverlayOptions } from './options/overlay-options.js'
export type { OptionSpec } from '../transforms/core/option-table.js'
export type { OverlayStats, OverlayStatus } from './overlay/overlay.js'
export type { Denial } from './secure/secure-links.js'
export type { ConnectionContext, Link, MessageTransform, StagedTransform } from '../transforms/core/link.js'
export type { MessageStage } from '../transforms/core/message-stage.js'
export type { Message } from '../transforms/core/line-protocol.js'
export type { ByteChunk, DialOptions, Transport, TransportFactory, TransportListener } from './transport/transport.js'
export * from './errors.js'

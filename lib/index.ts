/**
 * meshline: peer-to-peer messaging meshes as composable async-iterable
 * pipelines, wire-compatible with the mesh line protocol.
 *
 * @example
 * ```ts
 * import { MeshNode } from 'meshline'
 *
 * const a = new MeshNode({ host: '127.0.0.1', name: 'alice' })
 * const b = new MeshNode({ host: '127.0.0.1', name: 'bob' })
 * await a.start()
 * await b.start()
 * b.on('chat', ({ peer, text }) => { console.log(`${peer.name}: ${text}`) })
 * await a.connect(b.address)
 * await a.broadcast('hello mesh')
 * ```
 */
export { MeshNode } from './mesh/node.js'
export type { BroadcastResult, BytesHandler, Direction, IncomingMessage, MeshEvents, MeshStats, PeerInfo } from './mesh/node.js'
export type { HandlerOptions, MessageSource } from './mesh/delivery.js'
export type { KnownPeer } from './mesh/address-book.js'
export { DEFAULT_OPTIONS, DEFAULT_OVERLAY_OPTIONS, resolveOptions } from './options/options.js'
export type { MeshNodeOptions, OverlayOptions, SecureMode, Topology } from './options/options.js'
export type { OverlayStats, OverlayStatus } from './overlay/overlay.js'
export type { Origin } from './overlay/overlay-protocol.js'
export {
  fingerprint, generateIdentity, identityFromKeyObject, loadIdentity, nodeIdFromPublicKey, parseAllowlist, publicKeyHex, resolveAllowlist
} from './secure/identity.js'
export type { Identity } from './secure/identity.js'
export { classifyInbound, secureTransport } from './secure/secure-transport.js'
export type { ClassifiedTransport, LinkSecurity, SecureTransport, SecureTransportOptions } from './secure/secure-transport.js'
export * from './errors.js'
export * as constants from './constants.js'
export { tcpTransport, socketTransport } from './transport/tcp.js'
export type { TcpOptions } from './transport/tcp.js'
export { duplexPair, memoryNetwork } from './transport/memory.js'
export { crashable } from './transport/crashable.js'
export type { CrashableTransport } from './transport/crashable.js'
export type { MemoryTransportOptions } from './transport/memory.js'
export type { ByteChunk, DialOptions, Transport, TransportFactory, TransportListener } from './transport/transport.js'
export { Connection } from './connection/connection.js'
export type { ConnectionOptions } from './connection/connection.js'
export { OutboundQueue } from './connection/outbound-queue.js'
export type { OutboundQueueOptions } from './connection/outbound-queue.js'
export { mapMessages, composeTransforms } from '../transforms/core/link.js'
export type { Link, MessageTransform } from '../transforms/core/link.js'
export type { Message } from '../transforms/core/line-protocol.js'
export { sendFile, FileSend } from './file-transfer/sender.js'
export type { FileSendEvents, FileSendProgress, FileSendResult, SendFileOptions } from './file-transfer/sender.js'
export { receiveFiles, FileReceiver, DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_TRANSFERS } from './file-transfer/receiver.js'
export type { FileReceiverEvents, FileReceiverOptions, ReceivedFile, TransferInfo } from './file-transfer/receiver.js'
export { safeFileName } from './file-transfer/safe-name.js'
export { FILE_CHUNK_SIZE } from './file-transfer/file-protocol.js'

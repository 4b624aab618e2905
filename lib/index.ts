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
export { MeshNode } from './node.js'
export type { BroadcastResult, BytesHandler, Direction, IncomingMessage, MeshEvents, MeshStats, PeerInfo } from './node.js'
export type { HandlerOptions, MessageSource } from './delivery.js'
export type { KnownPeer } from './address-book.js'
export { DEFAULT_OPTIONS, DEFAULT_OVERLAY_OPTIONS, resolveOptions } from './options.js'
export type { MeshNodeOptions, OverlayOptions, SecureMode, Topology } from './options.js'
export type { OverlayStats, OverlayStatus } from './overlay/overlay.js'
export type { Origin } from './overlay/wire.js'
export {
  fingerprint, generateIdentity, identityFromKeyObject, loadIdentity, nodeIdFromPublicKey, parseAllowlist, publicKeyHex, resolveAllowlist
} from './identity.js'
export type { Identity } from './identity.js'
export { classifyInbound, secureTransport } from './secure.js'
export type { ClassifiedTransport, LinkSecurity, SecureTransport, SecureTransportOptions } from './secure.js'
export * from './errors.js'
export * as constants from './constants.js'
export { tcpTransport, socketTransport } from './tcp.js'
export type { TcpOptions } from './tcp.js'
export { duplexPair, memoryNetwork } from './memory.js'
export { crashable } from './crashable.js'
export type { CrashableTransport } from './crashable.js'
export type { MemoryTransportOptions } from './memory.js'
export type { ByteChunk, DialOptions, Transport, TransportFactory, TransportListener } from './transport.js'
export { Connection } from './connection.js'
export type { ConnectionOptions } from './connection.js'
export { OutboundQueue } from './outbound-queue.js'
export type { OutboundQueueOptions } from './outbound-queue.js'
export { mapMessages, composeTransforms } from '../transforms/link.js'
export type { Link, MessageTransform } from '../transforms/link.js'
export type { Message } from '../transforms/wire.js'
export { sendFile, FileSend } from './file-transfer/sender.js'
export type { FileSendEvents, FileSendProgress, FileSendResult, SendFileOptions } from './file-transfer/sender.js'
export { receiveFiles, FileReceiver, DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_TRANSFERS } from './file-transfer/receiver.js'
export type { FileReceiverEvents, FileReceiverOptions, ReceivedFile, TransferInfo } from './file-transfer/receiver.js'
export { safeFileName } from './file-transfer/safe-name.js'
export { FILE_CHUNK_SIZE } from './file-transfer/wire.js'

/**
 * meshline in the browser: the entry of the browser build
 * (`meshline-p2p/browser`, one ES module, no `node:` import). A page's node
 * dials WebSocket listeners (a browser cannot listen), in a full mesh or
 * the overlay, over plaintext or Noise links, with end-to-end signatures,
 * protocol streams and file transfer from `Blob`s and `File`s, and links to
 * other pages over WebRTC (`webrtcLinks()`). Received files stay in memory;
 * their `path` is an object URL.
 *
 * @example
 * ```ts
 * import { MeshNode } from 'meshline-p2p/browser'
 *
 * const node = new MeshNode({ name: 'page' })
 * await node.start()
 * await node.connect('127.0.0.1:7001') // a node started with --ws-port 7001
 * node.on('chat', ({ peer, text }) => { console.log(`${peer.name}: ${text}`) })
 * await node.broadcast('hello from a page')
 * ```
 */
export * from './index.js'
export { websocketTransport, WEBSOCKET_OPTIONS } from './transport/websocket.browser.js'
export type { WebSocketTransportOptions } from './transport/websocket.browser.js'
export { webrtcLinks, WebRtcLinks, WEBRTC_OPTIONS, WEBRTC_SIGNAL_PREFIX } from './transport/webrtc.js'
export type { WebRtcOptions } from './transport/webrtc.js'
export { dialOnlyAddress } from '../transforms/core/line-protocol.js'
export { fingerprint, generateIdentity, nodeIdFromPublicKey, publicKeyHex } from './secure/identity.js'
export type { Identity } from './secure/identity.js'
export { sendFile, FileSend } from './file-transfer/sender.js'
export type { FileSendEvents, FileSendProgress, FileSendResult, SendFileOptions } from './file-transfer/sender.js'
export { receiveFiles, FileReceiver } from './file-transfer/receiver.js'
export type { FileReceiverEvents, FileReceiverOptions, ReceivedFile, TransferInfo } from './file-transfer/receiver.js'

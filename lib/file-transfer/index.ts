/**
 * File transfer over a mesh node, as the line protocol's FILESTART,
 * FILECHUNK and FILEEND: a sender with progress, and a receiver that
 * stores files under safe names and verifies their SHA-256.
 */
export { sendFile, FileSend } from './sender.js'
export type { FileSendEvents, FileSendProgress, FileSendResult, SendFileOptions } from './sender.js'
export { receiveFiles, FileReceiver, DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_TRANSFERS } from './receiver.js'
export type { FileReceiverEvents, FileReceiverOptions, ReceivedFile, TransferInfo } from './receiver.js'
export { safeFileName } from './safe-name.js'
export { FILE_CHUNK_SIZE } from './file-protocol.js'

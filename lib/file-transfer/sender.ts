/**
 * The sending side of the file transfer sub-protocol, built on a node's
 * public API only: a protocol stream per meshline receiver (`openStream`),
 * `sendBytes` for a line-protocol one. The file is read twice, one chunk at
 * a time: once to hash it (`FILESTART` carries the hash), once to send it,
 * each chunk waiting for every receiver's stream or queue, so memory stays
 * bounded whatever the file's size.
 */
import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { open, type FileHandle } from 'node:fs/promises'
import { basename } from 'node:path'
import * as lp from 'it-length-prefixed'
import type { Uint8ArrayList } from 'uint8arraylist'
import { FileAccessError, FileChangedError, NoPeersError, PeerNotFoundError, ProtocolUnsupportedError, StreamsUnsupportedError, TransferAbortedError } from '../errors.js'
import { MeshNode } from '../mesh/node.js'
import type { ProtocolStream } from '../connection/protocol-stream.js'
import { applyTable, checkArgument, checked, isNonEmptyString, type OptionTable } from '../../transforms/core/option-table.js'
import { safeFileName } from './safe-name.js'
import { FILE_CHUNK_SIZE, FILE_STREAM_PROTOCOL, encodeFileChunk, encodeFileEnd, encodeFileStart, fileChunkHeader } from './file-protocol.js'

/** Bytes read at a time while hashing, in bytes. */
const HASH_READ_SIZE = 1024 * 1024

export interface SendFileOptions {
  /** Id of the one peer to send to. @default every peer connected when the transfer starts */
  to?: string
  /** Name announced to receivers (made safe like a received one). @default the file's base name */
  name?: string
}

/** Each `sendFile()` option's default. */
export const SEND_FILE_OPTIONS = {
  to: checked<string | undefined>(undefined, 'a peer id', isNonEmptyString, 'every peer connected when the transfer starts'),
  name: checked<string | undefined>(undefined, 'a non-empty file name', isNonEmptyString, "the file's base name")
} satisfies OptionTable<SendFileOptions>

/** How far a transfer is: first the file is hashed, then sent. */
export interface FileSendProgress {
  name: string
  phase: 'hashing' | 'sending'
  /** Bytes hashed or sent (queued to every receiver) so far. */
  done: number
  size: number
}

export interface FileSendResult {
  /** The name announced to receivers. */
  name: string
  size: number
  sha256: string
  /** Peers that were sent the whole file. */
  delivered: string[]
  /** Peers lost on the way (they disconnected or were dropped as slow). */
  failed: Array<{ peerId: string, error: Error }>
  /** From opening the file to queuing its `FILEEND`, in ms. */
  durationMs: number
}

export interface FileSendEvents {
  progress: [FileSendProgress]
}

/** A file transfer in progress. Listen for `progress`; `done` settles when it ends. */
export class FileSend extends EventEmitter<FileSendEvents> {
  /** The name announced to receivers. */
  readonly name: string
  /**
   * Resolves once the `FILEEND` is queued for every receiver still there.
   * Rejects with NoPeersError, PeerNotFoundError, FileAccessError,
   * FileChangedError, or TransferAbortedError when every receiver was lost.
   */
  readonly done: Promise<FileSendResult>

  constructor (node: MeshNode, path: string, options: SendFileOptions = {}) {
    super()
    checkArgument('node', 'a MeshNode', node, value => value instanceof MeshNode)
    checkArgument('path', 'a file path', path, isNonEmptyString)
    const opts = applyTable(SEND_FILE_OPTIONS, options)
    this.name = safeFileName(opts.name ?? basename(path))
    this.done = this.run(node, path, opts.to)
  }

  private async run (node: MeshNode, path: string, to: string | undefined): Promise<FileSendResult> {
    const startedAt = performance.now()
    const name = this.name
    const connected = node.peers().map(peer => peer.id)
    if (to !== undefined && !connected.includes(to)) throw new PeerNotFoundError(to)
    const targets = to !== undefined ? [to] : connected
    if (targets.length === 0) throw new NoPeersError()
    const failed: FileSendResult['failed'] = []
    const receivers = new Map<string, FileChannel>()
    const drop = (peerId: string, error: unknown): void => {
      receivers.get(peerId)?.abort(error as Error)
      receivers.delete(peerId)
      failed.push({ peerId, error: error as Error })
    }
    const lost = (): TransferAbortedError => new TransferAbortedError(`every receiver of ${name} was lost`, { cause: failed[0]?.error })

    /** Queues one payload for every receiver still there; a receiver that fails is dropped from the transfer. */
    const sendToAll = async (payload: Uint8Array | Uint8ArrayList): Promise<void> => {
      await Promise.all([...receivers].map(async ([peerId, channel]) => {
        try {
          await channel.send(payload)
        } catch (error) {
          drop(peerId, error)
        }
      }))
      if (receivers.size === 0) throw lost()
    }

    const file = await openFile(path)
    try {
      // Opened while the file is hashed: a line-protocol receiver takes a capability probe to be told apart.
      const opening = Promise.all(targets.map(async peerId => {
        try {
          receivers.set(peerId, await openChannel(node, peerId))
        } catch (error) {
          failed.push({ peerId, error: error as Error })
        }
      }))
      const size = await fileSize(file, path)
      const progress = (phase: FileSendProgress['phase'], done: number): void => { this.emit('progress', { name, phase, done, size }) }
      const sha256 = await hashFile(file, size, path, done => { progress('hashing', done) })
      await opening
      if (receivers.size === 0) throw lost()

      await sendToAll(encodeFileStart({ name, size, sha256 }))
      const header = fileChunkHeader(name)
      const hash = createHash('sha256')
      let sent = 0
      for await (const chunk of readChunks(file, size, FILE_CHUNK_SIZE, path)) {
        hash.update(chunk)
        await sendToAll(encodeFileChunk(header, chunk))
        sent += chunk.byteLength
        progress('sending', sent)
      }
      // A file changed since it was hashed ends with the hash of what was sent, so receivers reject the copy.
      const sentHash = hash.digest('hex')
      await sendToAll(encodeFileEnd({ name, sha256: sentHash }))
      await Promise.all([...receivers].map(async ([peerId, channel]) => { await channel.end().catch(error => { drop(peerId, error) }) }))
      if (sent !== size || sentHash !== sha256) throw new FileChangedError(path)
      return { name, size, sha256, delivered: [...receivers.keys()], failed, durationMs: performance.now() - startedAt }
    } catch (error) {
      for (const channel of receivers.values()) channel.abort(error as Error)
      throw error
    } finally {
      await file.close()
    }
  }
}

/** Where one receiver's payloads go: a stream of their own to a meshline node, the peer's link (`BYTES` frames) otherwise. */
interface FileChannel {
  send: (payload: Uint8Array | Uint8ArrayList) => Promise<void>
  /** All was sent: a stream is half-closed. */
  end: () => Promise<void>
  /** The transfer failed: a stream is reset, so the receiver drops the partial file at once. */
  abort: (error: Error) => void
}

async function openChannel (node: MeshNode, peerId: string): Promise<FileChannel> {
  let stream: ProtocolStream
  try {
    stream = await node.openStream(peerId, FILE_STREAM_PROTOCOL)
  } catch (error) {
    // A line-protocol peer, or a meshline node that receives files the line protocol's way.
    if (!(error instanceof StreamsUnsupportedError) && !(error instanceof ProtocolUnsupportedError)) throw error
    return { send: async payload => { await node.sendBytes(peerId, payload) }, end: async () => {}, abort: () => {} }
  }
  return {
    send: async payload => { await stream.write(lp.encode.single(payload)) },
    end: async () => { await stream.closeWrite() },
    abort: error => { stream.abort(error) }
  }
}

/**
 * Sends the file at `path` to one peer (`opts.to`) or to every connected
 * peer, as `FILESTART`, `FILECHUNK`s and `FILEEND`.
 *
 * @example
 * ```ts
 * const send = sendFile(node, 'photo.jpg')
 * send.on('progress', ({ phase, done, size }) => { console.log(phase, done, size) })
 * const { sha256, delivered } = await send.done
 * ```
 */
export function sendFile (node: MeshNode, path: string, opts: SendFileOptions = {}): FileSend {
  return new FileSend(node, path, opts)
}

async function openFile (path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r')
  } catch (error) {
    throw new FileAccessError(path, { cause: error })
  }
}

async function fileSize (file: FileHandle, path: string): Promise<number> {
  const stats = await file.stat()
  if (!stats.isFile()) throw new FileAccessError(path, { cause: new TypeError('not a regular file') })
  return stats.size
}

async function hashFile (file: FileHandle, size: number, path: string, onProgress: (done: number) => void): Promise<string> {
  const hash = createHash('sha256')
  let done = 0
  for await (const chunk of readChunks(file, size, HASH_READ_SIZE, path)) {
    hash.update(chunk)
    done += chunk.byteLength
    onProgress(done)
  }
  if (done !== size) throw new FileChangedError(path)
  return hash.digest('hex')
}

/** The first `size` bytes of the file, `chunkSize` at a time, each in a buffer of its own (it may still be queued when the next is read). */
async function * readChunks (file: FileHandle, size: number, chunkSize: number, path: string): AsyncGenerator<Uint8Array> {
  let position = 0
  while (position < size) {
    const buffer = Buffer.allocUnsafe(Math.min(chunkSize, size - position))
    let bytesRead: number
    try {
      ({ bytesRead } = await file.read(buffer, 0, buffer.length, position))
    } catch (error) {
      throw new FileAccessError(path, { cause: error })
    }
    // The file shrank since it was measured: the caller sees fewer bytes than `size`.
    if (bytesRead === 0) return
    position += bytesRead
    yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead)
  }
}

/**
 * The sending side of the file transfer sub-protocol, built on a node's
 * public API only: a protocol stream per meshline receiver (`openStream`),
 * `sendBytes` for a line-protocol one. The file is read twice, one chunk at
 * a time: once to hash it (`FILESTART` carries the hash), once to send it,
 * each chunk waiting for every receiver's stream or queue, so memory stays
 * bounded whatever the file's size.
 */
import { createSha256 } from '../crypto/crypto.js'
import { EventEmitter } from 'node:events'
import * as lp from 'it-length-prefixed'
import type { Uint8ArrayList } from 'uint8arraylist'
import { FileChangedError, NoPeersError, PeerNotFoundError, ProtocolUnsupportedError, StreamsUnsupportedError, TransferAbortedError } from '../errors.js'
import { MeshNode } from '../mesh/node.js'
import type { ProtocolStream } from '../connection/protocol-stream.js'
import { applyTable, checkArgument, checked, isNonEmptyString, type OptionTable } from '../../transforms/core/option-table.js'
import { safeFileName } from './safe-name.js'
import { openSource } from './file-source.js'
import type { FileSource } from './blob-source.js'
import { FILE_CHUNK_SIZE, FILE_STREAM_PROTOCOL, encodeFileChunk, encodeFileEnd, encodeFileStart, fileChunkHeader } from './file-protocol.js'

/** Bytes read at a time while hashing. */
const HASH_READ_SIZE = 1024 * 1024

export interface SendFileOptions {
  /** Id of the one peer to send to. @default every peer connected when the transfer starts */
  to?: string
  /** Name announced to receivers (made safe like a received one). @default the file's base name (a File's name; `file` for a Blob without one) */
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

  /** @param file - a path, or a `Blob` (a browser's `File`) */
  constructor (node: MeshNode, file: string | Blob, options: SendFileOptions = {}) {
    super()
    checkArgument('node', 'a MeshNode', node, value => value instanceof MeshNode)
    checkArgument('file', 'a file path or a Blob', file, value => isNonEmptyString(value) || value instanceof Blob)
    const opts = applyTable(SEND_FILE_OPTIONS, options)
    // A path's base name, a File's name; a Blob without one gets the fallback name.
    this.name = safeFileName(opts.name ?? (typeof file === 'string' ? file : (file as Partial<File>).name ?? ''))
    this.done = this.run(node, file, opts.to)
  }

  private async run (node: MeshNode, source: string | Blob, to: string | undefined): Promise<FileSendResult> {
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

    const file = await openSource(source)
    try {
      // Opened while the file is hashed: a line-protocol receiver takes a capability probe to be told apart.
      const opening = Promise.all(targets.map(async peerId => {
        try {
          receivers.set(peerId, await openChannel(node, peerId))
        } catch (error) {
          failed.push({ peerId, error: error as Error })
        }
      }))
      const size = await file.size()
      const progress = (phase: FileSendProgress['phase'], done: number): void => { this.emit('progress', { name, phase, done, size }) }
      const sha256 = await hashFile(file, size, done => { progress('hashing', done) })
      await opening
      if (receivers.size === 0) throw lost()

      await sendToAll(encodeFileStart({ name, size, sha256 }))
      const header = fileChunkHeader(name)
      const hash = createSha256()
      let sent = 0
      for await (const chunk of file.chunks(size, FILE_CHUNK_SIZE)) {
        hash.update(chunk)
        await sendToAll(encodeFileChunk(header, chunk))
        sent += chunk.byteLength
        progress('sending', sent)
      }
      // A file changed since it was hashed ends with the hash of what was sent, so receivers reject the copy.
      const sentHash = hash.digest().toString('hex')
      await sendToAll(encodeFileEnd({ name, sha256: sentHash }))
      await Promise.all([...receivers].map(async ([peerId, channel]) => { await channel.end().catch(error => { drop(peerId, error) }) }))
      if (sent !== size || sentHash !== sha256) throw new FileChangedError(file.label)
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
 * Sends a file (its path, or a `Blob`: a browser's `File`) to one peer (`opts.to`) or to every connected
 * peer, as `FILESTART`, `FILECHUNK`s and `FILEEND`.
 *
 * @example
 * ```ts
 * const send = sendFile(node, 'photo.jpg')
 * send.on('progress', ({ phase, done, size }) => { console.log(phase, done, size) })
 * const { sha256, delivered } = await send.done
 * ```
 */
export function sendFile (node: MeshNode, file: string | Blob, opts: SendFileOptions = {}): FileSend {
  return new FileSend(node, file, opts)
}

async function hashFile (file: FileSource, size: number, onProgress: (done: number) => void): Promise<string> {
  const hash = createSha256()
  let done = 0
  for await (const chunk of file.chunks(size, HASH_READ_SIZE)) {
    hash.update(chunk)
    done += chunk.byteLength
    onProgress(done)
  }
  if (done !== size) throw new FileChangedError(file.label)
  return hash.digest().toString('hex')
}

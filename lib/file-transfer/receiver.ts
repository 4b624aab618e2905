/**
 * The receiving side of the file transfer sub-protocol, built on a node's
 * public API only: three `handle()` prefixes for line-protocol senders, a
 * stream handler for meshline ones, and the `peer:disconnect` event. Transfers are kept apart by peer id and file name, so several
 * peers may send at once (even files of the same name); each one is bounded
 * by `maxFileSize`, and their number by `maxTransfers`.
 */
import { EventEmitter } from 'node:events'
import * as lp from 'it-length-prefixed'
import type { Uint8ArrayList } from 'uint8arraylist'
import {
  FileHashMismatchError, FileSizeMismatchError, FileTooLargeError, InvalidFileFrameError, LimitExceededError,
  TransferAbortedError, type MeshlineError
} from '../errors.js'
import { MeshNode } from '../mesh/node.js'
import { applyTable, checkArgument, integer, isNonEmptyString, required, type OptionTable } from '../../transforms/core/option-table.js'
import { startsWithBytes } from '../../transforms/core/bytes.js'
import { DEFAULT_MAX_FILE_SIZE, IncomingFile } from './incoming-file.js'
import { safeFileName } from './safe-name.js'
import {
  FILECHUNK_PREFIX, FILEEND_PREFIX, FILESTART_PREFIX, FILE_STREAM_PROTOCOL, MAX_FILE_STREAM_PAYLOAD, fileChunkHeader, parseFileChunkName, parseFileEnd, parseFileStart
} from './file-protocol.js'
import type { IncomingStream } from '../mesh/streams.js'
import type { PeerInfo } from '../types.js'

/** Largest file accepted by default, in bytes: 4 GiB on disk, 256 MiB in a browser's memory. */
export { DEFAULT_MAX_FILE_SIZE }
/** Transfers in progress at once by default, from all peers together. */
export const DEFAULT_MAX_TRANSFERS = 16
/**
 * Refused or failed transfers remembered (per receiver), so that the rest of
 * their frames are dropped quietly instead of reported one by one.
 */
export const MAX_IGNORED_TRANSFERS = 64

const utf8 = new TextEncoder()
const FILESTART = utf8.encode(FILESTART_PREFIX)
const FILECHUNK = utf8.encode(FILECHUNK_PREFIX)
const FILEEND = utf8.encode(FILEEND_PREFIX)

export interface FileReceiverOptions {
  /** Folder received files are written to; created when the first file arrives. */
  dir: string
  /** Largest file a peer may send, in bytes. */
  maxFileSize?: number
  /** Transfers in progress at once, from all peers together; more are refused. */
  maxTransfers?: number
}

/** Each file receiver option's default and range. */
export const FILE_RECEIVER_OPTIONS = {
  dir: required<string>('a folder path', isNonEmptyString),
  maxFileSize: integer(DEFAULT_MAX_FILE_SIZE, 0, { unit: 'bytes', defaultText: '4294967296 (4 GiB); 268435456 (256 MiB) in a browser, which keeps files in memory' }),
  maxTransfers: integer(DEFAULT_MAX_TRANSFERS, 1)
} satisfies OptionTable<FileReceiverOptions>

/** A transfer, as events describe it. `name` is the safe name the file is stored under (before numbering). */
export interface TransferInfo {
  peer: PeerInfo
  name: string
  /** Size announced by the sender, in bytes. */
  size: number
}

/** A file received and verified. */
export interface ReceivedFile extends TransferInfo {
  /** Where it was stored. */
  path: string
  sha256: string
  /** From `FILESTART` to the verified file, in ms. */
  durationMs: number
}

export interface FileReceiverEvents {
  /** A transfer was accepted and its partial file created. */
  start: [TransferInfo & { sha256: string }]
  /** After every chunk written. */
  progress: [TransferInfo & { received: number }]
  complete: [ReceivedFile]
  /** A transfer was refused or failed; its partial file, if any, is already deleted. */
  failed: [{ peer: PeerInfo, name: string, error: MeshlineError }]
}

interface ActiveTransfer {
  state: 'active'
  info: TransferInfo
  sha256: string
  header: Uint8Array
  file: IncomingFile
  startedAt: number
}

interface IgnoredTransfer {
  state: 'ignored'
  header: Uint8Array
}

type Transfer = ActiveTransfer | IgnoredTransfer

export class FileReceiver extends EventEmitter<FileReceiverEvents> {
  readonly dir: string
  readonly maxFileSize: number
  readonly maxTransfers: number
  /** Per peer id, per file name as the sender wrote it. */
  private readonly transfers = new Map<string, Map<string, Transfer>>()
  private active = 0
  private ignored = 0
  private readonly detach: Array<() => void>

  constructor (node: MeshNode, opts: FileReceiverOptions) {
    super()
    checkArgument('node', 'a MeshNode', node, value => value instanceof MeshNode)
    const { dir, maxFileSize, maxTransfers } = applyTable(FILE_RECEIVER_OPTIONS, opts)
    this.dir = dir
    this.maxFileSize = maxFileSize
    this.maxTransfers = maxTransfers
    const onDisconnect = ({ peer }: { peer: PeerInfo }): void => { void this.dropPeer(peer.id, `${peer.name} disconnected before the end of the file`) }
    node.on('peer:disconnect', onDisconnect)
    this.detach = [
      node.handle(FILESTART_PREFIX, async (data, peer) => { await this.onStart(data, peer) }),
      node.handle(FILECHUNK_PREFIX, async (data, peer) => { await this.onChunk(data, peer) }),
      node.handle(FILEEND_PREFIX, async (data, peer) => { await this.onEnd(data, peer) }),
      node.handleStream(FILE_STREAM_PROTOCOL, async incoming => { await this.onStream(incoming) }),
      () => { node.off('peer:disconnect', onDisconnect) }
    ]
  }

  /** Transfers in progress. */
  get inProgress (): number {
    return this.active
  }

  /** Stops receiving: the handlers are removed and the transfers in progress aborted (their partial files deleted). */
  async close (): Promise<void> {
    for (const undo of this.detach.splice(0)) undo()
    await Promise.all([...this.transfers.keys()].map(async peerId => { await this.dropPeer(peerId, 'the receiver was closed') }))
  }

  /**
   * A transfer on a stream of its own: the same payloads, length-prefixed.
   * A stream that ends or fails before its `FILEEND` aborts its transfer.
   */
  private async onStream ({ stream, peer }: IncomingStream): Promise<void> {
    let started: string | undefined
    let reason = 'the sender\'s stream ended before FILEEND'
    try {
      for await (const payload of lp.decode(stream.source, { maxDataLength: MAX_FILE_STREAM_PAYLOAD })) {
        if (startsWithBytes(payload, FILECHUNK)) {
          await this.onChunk(payload, peer)
        } else if (startsWithBytes(payload, FILESTART)) {
          await this.onStart(payload, peer)
          started = startedName(payload)
        } else if (startsWithBytes(payload, FILEEND)) {
          await this.onEnd(payload, peer)
          started = undefined
        } else {
          this.report(peer, '', new InvalidFileFrameError('file stream payload is none of FILESTART, FILECHUNK, FILEEND'))
        }
      }
    } catch (error) {
      reason = (error as Error).message
      stream.abort(error as Error)
    }
    const transfer = started === undefined ? undefined : this.lookup(peer.id, started)
    if (started !== undefined && transfer?.state === 'active') await this.fail(peer.id, started, transfer, new TransferAbortedError(reason))
  }

  private async onStart (data: Uint8ArrayList, peer: PeerInfo): Promise<void> {
    const start = this.parse(peer, () => parseFileStart(data))
    if (start === undefined) return
    const info: TransferInfo = { peer, name: safeFileName(start.name), size: start.size }
    const header = fileChunkHeader(start.name)
    const previous = this.lookup(peer.id, start.name)
    if (previous?.state === 'active') await this.fail(peer.id, start.name, previous, new TransferAbortedError('the sender started the same file again'))
    else if (previous !== undefined) this.remove(peer.id, start.name)

    const refusal = start.size > this.maxFileSize
      ? new FileTooLargeError(start.size, this.maxFileSize)
      : this.active >= this.maxTransfers ? new LimitExceededError('maxTransfers', this.maxTransfers) : undefined
    if (refusal !== undefined) {
      this.ignore(peer.id, start.name, header)
      this.report(peer, info.name, refusal)
      return
    }
    const transfer: ActiveTransfer = { state: 'active', info, sha256: start.sha256, header, file: new IncomingFile(this.dir, info.name), startedAt: Date.now() }
    // Registered before the partial file exists, so that maxTransfers holds and a disconnect meanwhile finds it.
    this.set(peer.id, start.name, transfer)
    try {
      await transfer.file.opened
    } catch (error) {
      await this.fail(peer.id, start.name, transfer, error as MeshlineError)
      return
    }
    if (this.lookup(peer.id, start.name) === transfer) this.emit('start', { ...info, sha256: start.sha256 })
  }

  private async onChunk (data: Uint8ArrayList, peer: PeerInfo): Promise<void> {
    const found = this.matchChunk(peer.id, data)
    if (found === undefined) {
      const name = this.parse(peer, () => parseFileChunkName(data))
      if (name === undefined) return
      this.ignore(peer.id, name, fileChunkHeader(name))
      this.report(peer, safeFileName(name), new InvalidFileFrameError('FILECHUNK without a FILESTART'))
      return
    }
    const [rawName, transfer] = found
    if (transfer.state === 'ignored') return
    const body = data.sublist(transfer.header.length)
    const { info, file } = transfer
    const total = file.received + body.byteLength
    if (total > info.size) {
      await this.fail(peer.id, rawName, transfer, new FileSizeMismatchError(info.size, total))
      return
    }
    try {
      await file.write(body)
    } catch (error) {
      await this.fail(peer.id, rawName, transfer, error as MeshlineError)
      return
    }
    this.emit('progress', { ...info, received: file.received })
  }

  private async onEnd (data: Uint8ArrayList, peer: PeerInfo): Promise<void> {
    const end = this.parse(peer, () => parseFileEnd(data))
    if (end === undefined) return
    const transfer = this.lookup(peer.id, end.name)
    if (transfer === undefined) {
      this.report(peer, safeFileName(end.name), new InvalidFileFrameError('FILEEND without a FILESTART'))
      return
    }
    this.remove(peer.id, end.name)
    if (transfer.state === 'ignored') return
    const { info, file, sha256 } = transfer
    try {
      if (end.sha256 !== sha256) {
        // The sender's file changed while it was read: FILEEND says so with another hash.
        await file.discard()
        throw new FileHashMismatchError(sha256, end.sha256)
      }
      const path = await file.finish(info.size, sha256)
      this.emit('complete', { ...info, path, sha256, durationMs: Date.now() - transfer.startedAt })
    } catch (error) {
      this.report(peer, info.name, error as MeshlineError)
    }
  }

  /** The transfer of this peer whose chunk header `data` starts with; the longest wins, as a name may contain `\n`. */
  private matchChunk (peerId: string, data: Uint8ArrayList): [string, Transfer] | undefined {
    let best: [string, Transfer] | undefined
    for (const [name, transfer] of this.transfers.get(peerId) ?? []) {
      if (startsWithBytes(data, transfer.header) && (best === undefined || transfer.header.length > best[1].header.length)) best = [name, transfer]
    }
    return best
  }

  /** Ends a transfer with `error`: its partial file is deleted and the rest of its frames are dropped quietly. */
  private async fail (peerId: string, rawName: string, transfer: ActiveTransfer, error: MeshlineError): Promise<void> {
    // Gone already when its peer disconnected meanwhile: that abort is what gets reported.
    const current = this.lookup(peerId, rawName) === transfer
    if (current) this.ignore(peerId, rawName, transfer.header)
    await transfer.file.discard()
    if (current) this.report(transfer.info.peer, transfer.info.name, error)
  }

  /** Aborts every transfer of a peer and forgets the peer. */
  private async dropPeer (peerId: string, reason: string): Promise<void> {
    const transfers = [...this.transfers.get(peerId) ?? []]
    for (const [name] of transfers) this.remove(peerId, name)
    await Promise.all(transfers.map(async ([, transfer]) => {
      if (transfer.state !== 'active') return
      await transfer.file.discard()
      this.report(transfer.info.peer, transfer.info.name, new TransferAbortedError(reason))
    }))
  }

  /** The parsed frame, or undefined when it is malformed (then reported, without a name). */
  private parse<T> (peer: PeerInfo, parse: () => T): T | undefined {
    try {
      return parse()
    } catch (error) {
      if (!(error instanceof InvalidFileFrameError)) throw error
      this.report(peer, '', error)
      return undefined
    }
  }

  private report (peer: PeerInfo, name: string, error: MeshlineError): void {
    this.emit('failed', { peer, name, error })
  }

  private lookup (peerId: string, name: string): Transfer | undefined {
    return this.transfers.get(peerId)?.get(name)
  }

  private set (peerId: string, name: string, transfer: Transfer): void {
    this.remove(peerId, name)
    let perPeer = this.transfers.get(peerId)
    if (perPeer === undefined) {
      perPeer = new Map()
      this.transfers.set(peerId, perPeer)
    }
    perPeer.set(name, transfer)
    if (transfer.state === 'active') this.active++
    else this.ignored++
  }

  private remove (peerId: string, name: string): void {
    const perPeer = this.transfers.get(peerId)
    const transfer = perPeer?.get(name)
    if (perPeer === undefined || transfer === undefined) return
    perPeer.delete(name)
    if (perPeer.size === 0) this.transfers.delete(peerId)
    if (transfer.state === 'active') this.active--
    else this.ignored--
  }

  /** Remembers a transfer whose frames are to be dropped, forgetting another such one when there are MAX_IGNORED_TRANSFERS. */
  private ignore (peerId: string, name: string, header: Uint8Array): void {
    if (this.ignored >= MAX_IGNORED_TRANSFERS) this.forgetOldestIgnored()
    this.set(peerId, name, { state: 'ignored', header })
  }

  /** Forgets the oldest ignored transfer of the longest-known peer: roughly the oldest, without keeping a second index. */
  private forgetOldestIgnored (): void {
    for (const [peerId, perPeer] of this.transfers) {
      for (const [name, transfer] of perPeer) {
        if (transfer.state === 'ignored') {
          this.remove(peerId, name)
          return
        }
      }
    }
  }
}

/** The name a `FILESTART` announces; `undefined` for a malformed one (which `onStart` reported). */
function startedName (payload: Uint8ArrayList): string | undefined {
  try {
    return parseFileStart(payload).name
  } catch {
    return undefined
  }
}

/** Receives files sent to `node` into `opts.dir`. Call `close()` on the result to stop. */
export function receiveFiles (node: MeshNode, opts: FileReceiverOptions): FileReceiver {
  return new FileReceiver(node, opts)
}

/**
 * `incoming-file.ts` for browsers, which have no folder to write to: the
 * file is kept in memory (at most the receiver's `maxFileSize`) with a
 * running SHA-256, and a verified file becomes a `Blob` whose object URL
 * is its path, ready for a download link. Every call is synchronous, so
 * none can overtake another.
 */
import type { Uint8ArrayList } from 'uint8arraylist'
import { createSha256, type Sha256 } from '../crypto/crypto.js'
import { FileAccessError, FileHashMismatchError, FileSizeMismatchError } from '../errors.js'

/** Largest file a receiver takes unless told otherwise: a page keeps it in memory. */
export const DEFAULT_MAX_FILE_SIZE = 256 * 1024 ** 2

export const PARTIAL_SUFFIX = '.part'

export class IncomingFile {
  received = 0
  readonly opened: Promise<void> = Promise.resolve()
  readonly partPath: string | undefined = undefined
  private readonly hash: Sha256 = createSha256()
  private pieces: Uint8Array[] = []
  private closed = false

  /** `dir` is only a label here: the file stays in memory. */
  constructor (_dir: string, private readonly name: string) {}

  async write (data: Uint8ArrayList): Promise<void> {
    if (this.closed) return
    for (const piece of data) {
      // A copy: the transport may reuse what it handed over.
      const copy = Uint8Array.from(piece)
      this.pieces.push(copy)
      this.hash.update(copy)
    }
    this.received += data.byteLength
  }

  /** @returns an object URL of the verified file's `Blob` */
  async finish (size: number, sha256: string): Promise<string> {
    if (this.closed) throw new FileAccessError(this.name, { cause: new RangeError('the partial file is gone') })
    const actual = this.hash.digest().toString('hex')
    const failure = this.received !== size
      ? new FileSizeMismatchError(size, this.received)
      : actual !== sha256 ? new FileHashMismatchError(sha256, actual) : undefined
    const pieces = this.pieces
    await this.discard()
    if (failure !== undefined) throw failure
    return URL.createObjectURL(new Blob(pieces))
  }

  async discard (): Promise<void> {
    this.closed = true
    this.pieces = []
  }
}

/**
 * One file being received: a `<name>.part` file in the download folder and a
 * running SHA-256. `finish` checks size and hash, then moves the partial file
 * to its final name without overwriting anything; a failed check, or
 * `discard`, deletes it. Operations run one after another, so a discard that
 * arrives mid-write (the sender disconnected) waits for the write to end.
 */
import { createSha256, type Sha256 } from '../crypto/crypto.js'
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { Uint8ArrayList } from 'uint8arraylist'
import { FileAccessError, FileHashMismatchError, FileSizeMismatchError, type MeshlineError } from '../errors.js'
import { numberedNames } from './safe-name.js'

/** Numbered names tried before giving up on finding a free one. */
const MAX_NAME_ATTEMPTS = 1000
/** Largest file a receiver takes unless told otherwise: it goes to disk. */
export const DEFAULT_MAX_FILE_SIZE = 4 * 1024 ** 3

/** Suffix of a file still being received. */
export const PARTIAL_SUFFIX = '.part'

export class IncomingFile {
  /** Bytes written so far. */
  received = 0
  /** Resolves once the partial file exists; rejects with FileAccessError if it cannot be created. */
  readonly opened: Promise<void>
  /** Where the partial file is, once opened. */
  partPath: string | undefined
  private readonly dir: string
  private readonly hash: Sha256 = createSha256()
  private file: FileHandle | undefined
  private tail: Promise<unknown> = Promise.resolve()
  private closed = false

  /**
   * Starts creating `<dir>/<name>.part` (or `<name>-(1).ext.part`, ... if
   * taken), and the folder if needed; every other operation waits for it.
   * `name` must already be a safe base name.
   */
  constructor (dir: string, private readonly name: string) {
    this.dir = resolve(dir)
    this.opened = this.serially(async () => {
      try {
        await mkdir(this.dir, { recursive: true })
        const { path, file } = await createExclusive(this.dir, name, PARTIAL_SUFFIX)
        this.partPath = path
        this.file = file
      } catch (error) {
        this.closed = true
        throw asAccessError(error, join(this.dir, name + PARTIAL_SUFFIX))
      }
    })
    // Failures surface to whoever awaits `opened` or a later operation.
    this.opened.catch(() => {})
  }

  /**
   * Appends the bytes of `data` and hashes them. Resolves once written; a
   * failed write deletes the partial file.
   * @throws FileAccessError
   */
  async write (data: Uint8ArrayList): Promise<void> {
    await this.serially(async () => {
      const { file, partPath } = this
      if (this.closed || file === undefined || partPath === undefined) return
      const chunks = [...data]
      try {
        const { bytesWritten } = await file.writev(chunks)
        if (bytesWritten !== data.byteLength) throw new RangeError(`short write of ${bytesWritten} of ${data.byteLength} bytes`)
      } catch (error) {
        await this.delete()
        throw asAccessError(error, partPath)
      }
      for (const chunk of chunks) this.hash.update(chunk)
      this.received += data.byteLength
    })
  }

  /**
   * Checks the size and hash, then renames the partial file to `name`, or
   * `name-(1).ext`, ... whichever is free. On a mismatch the partial file is
   * deleted.
   * @returns the final path
   * @throws FileSizeMismatchError, FileHashMismatchError, FileAccessError
   */
  async finish (size: number, sha256: string): Promise<string> {
    return await this.serially(async () => {
      const { partPath } = this
      if (this.closed || partPath === undefined) throw new FileAccessError(join(this.dir, this.name), { cause: new RangeError('the partial file is gone') })
      const actual = this.hash.digest().toString('hex')
      const failure = this.received !== size
        ? new FileSizeMismatchError(size, this.received)
        : actual !== sha256 ? new FileHashMismatchError(sha256, actual) : undefined
      if (failure !== undefined) {
        await this.delete()
        throw failure
      }
      this.closed = true
      await this.file?.close()
      try {
        return await placeWithoutOverwriting(partPath, this.dir, this.name)
      } catch (error) {
        await unlink(partPath).catch(() => {})
        throw asAccessError(error, join(this.dir, this.name))
      }
    })
  }

  /** Closes and deletes the partial file; does nothing once it is finished or deleted. */
  async discard (): Promise<void> {
    await this.serially(async () => { await this.delete() })
  }

  private async delete (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.file?.close().catch(() => {})
    if (this.partPath !== undefined) await unlink(this.partPath).catch(() => {})
  }

  private async serially<T> (step: () => Promise<T>): Promise<T> {
    const run = this.tail.then(step, step)
    this.tail = run.catch(() => {})
    return await run
  }
}

/** Reserves the first free final name by creating it exclusively, then moves the partial file onto that reservation. */
async function placeWithoutOverwriting (partPath: string, folder: string, name: string): Promise<string> {
  const { path, file } = await createExclusive(folder, name, '')
  await file.close()
  try {
    await rename(partPath, path)
  } catch (error) {
    await unlink(path).catch(() => {})
    throw error
  }
  return path
}

/** Creates the first of `name`, `name-(1).ext`, ... (plus `suffix`) that does not exist yet; `wx` never follows or replaces an existing entry. */
async function createExclusive (folder: string, name: string, suffix: string): Promise<{ path: string, file: FileHandle }> {
  for (const candidate of numberedNames(name, MAX_NAME_ATTEMPTS)) {
    const path = join(folder, candidate + suffix)
    // The name is a safe base name already; this keeps that promise checked where it matters.
    if (dirname(path) !== folder) throw new FileAccessError(path, { cause: new RangeError('path leaves the download folder') })
    try {
      return { path, file: await open(path, 'wx') }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
  }
  throw new FileAccessError(join(folder, name + suffix), { cause: new RangeError(`no free name after ${MAX_NAME_ATTEMPTS} attempts`) })
}

function asAccessError (error: unknown, path: string): MeshlineError {
  return error instanceof FileAccessError ? error : new FileAccessError(path, { cause: error })
}

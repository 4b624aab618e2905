/**
 * What `sendFile()` reads: a file on disk by its path, or a `Blob`. The
 * browser build puts `file-source.browser.ts` in this file's place.
 */
import { open, type FileHandle } from 'node:fs/promises'
import { FileAccessError } from '../errors.js'
import { blobSource, type FileSource } from './blob-source.js'

/** @throws FileAccessError */
export async function openSource (file: string | Blob): Promise<FileSource> {
  return typeof file === 'string' ? await pathSource(file) : blobSource(file)
}

async function pathSource (path: string): Promise<FileSource> {
  let handle: FileHandle
  try {
    handle = await open(path, 'r')
  } catch (error) {
    throw new FileAccessError(path, { cause: error })
  }
  return {
    label: path,
    size: async () => {
      const stats = await handle.stat()
      if (!stats.isFile()) throw new FileAccessError(path, { cause: new TypeError('not a regular file') })
      return stats.size
    },
    chunks: (size, chunkSize) => readChunks(handle, size, chunkSize, path),
    close: async () => { await handle.close() }
  }
}

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

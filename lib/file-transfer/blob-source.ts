/** What `sendFile()` reads, on any platform, and a `Blob` (a browser's `File`, or any Blob in Node) as one. */
import { FileAccessError } from '../errors.js'

/** A file being sent, read a chunk at a time. */
export interface FileSource {
  /** What errors name: the path, or the Blob's name. */
  readonly label: string
  size: () => Promise<number>
  /** The first `size` bytes, `chunkSize` at a time, each in a buffer of its own; fewer if the file shrank. */
  chunks: (size: number, chunkSize: number) => AsyncGenerator<Uint8Array>
  close: () => Promise<void>
}

/** A Blob read a slice at a time. */
export function blobSource (blob: Blob): FileSource {
  const name = (blob as Partial<File>).name ?? 'blob'
  return {
    label: name,
    size: async () => blob.size,
    async * chunks (size: number, chunkSize: number): AsyncGenerator<Uint8Array> {
      for (let position = 0; position < size; position += chunkSize) {
        let bytes: ArrayBuffer
        try {
          bytes = await blob.slice(position, Math.min(size, position + chunkSize)).arrayBuffer()
        } catch (error) {
          throw new FileAccessError(name, { cause: error })
        }
        yield new Uint8Array(bytes)
      }
    },
    close: async () => {}
  }
}

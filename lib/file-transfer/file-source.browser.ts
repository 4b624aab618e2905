/** `file-source.ts` for browsers: a `Blob` or `File` only, a page has no paths. */
import { FileAccessError } from '../errors.js'
import { blobSource, type FileSource } from './blob-source.js'

export async function openSource (file: string | Blob): Promise<FileSource> {
  if (typeof file === 'string') throw new FileAccessError(file, { cause: new TypeError('a browser has no file paths: send a Blob or File') })
  return blobSource(file)
}

/** `peers-file.ts` for browsers, which have no files: the `peersFile` option is refused by name. */
import { InvalidOptionError } from '../errors.js'

export class PeersFile {
  constructor (path: string) {
    throw new InvalidOptionError(`Expected no \`peersFile\` in a browser (it has no files), got ${JSON.stringify(path)}`)
  }
}

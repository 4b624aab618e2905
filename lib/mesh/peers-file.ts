/**
 * The peers file: where a node remembers the addresses it dialled
 * successfully, so that after a restart it rejoins the mesh without its
 * bootstrap. The format is one `host:port` per line, most recently dialled
 * first; blank lines and lines starting with `#` are skipped.
 *
 * Writes go to a temporary file beside it, flushed to disk, then renamed
 * over it, so a crash mid-write leaves the previous file whole. Reads are
 * bounded by the number of entries the node keeps, and keep the valid lines
 * of a damaged file.
 */
import { randomBytes } from 'node:crypto'
import { open, rename, unlink } from 'node:fs/promises'
import { PeersFileError } from '../errors.js'
import { normalizeAddress } from '../../transforms/core/line-protocol.js'

/** Quiet time after a change of peers before the peers file is rewritten, in ms. */
const PEERS_FILE_SAVE_DELAY = 1_000

/** Longest address a peers file line may hold, in bytes: a 253-byte host, brackets, `:` and a port. */
const MAX_ADDRESS_LENGTH = 262

/** What a read found: the valid addresses, and what was wrong with the file, if anything. */
export interface PeersFileContents {
  addresses: string[]
  error: PeersFileError | undefined
}

/** Largest file accepted for `maxEntries` addresses, in bytes (room for `\r\n` endings). */
export function maxPeersFileBytes (maxEntries: number): number {
  return maxEntries * (MAX_ADDRESS_LENGTH + 2)
}

/** Parses the text of a peers file: at most `maxEntries` distinct addresses, and the lines that were not addresses. */
export function parsePeersFile (text: string, maxEntries: number): { addresses: string[], rejected: string[] } {
  const addresses = new Set<string>()
  const rejected: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line.length === 0 || line.startsWith('#')) continue
    try {
      if (addresses.size < maxEntries) addresses.add(normalizeAddress(line))
    } catch {
      rejected.push(line)
    }
  }
  return { addresses: [...addresses], rejected }
}

/** Reads a peers file. A missing file is an empty one; any other problem is returned, never thrown. */
export async function readPeersFile (path: string, maxEntries: number): Promise<PeersFileContents> {
  const limit = maxPeersFileBytes(maxEntries)
  let text: string
  try {
    const handle = await open(path, 'r')
    try {
      // One byte more than allowed tells a file at the limit from one over it, without reading a huge file whole.
      const buffer = Buffer.alloc(limit + 1)
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
      if (bytesRead > limit) return { addresses: [], error: new PeersFileError(path, 'too large') }
      text = buffer.toString('utf8', 0, bytesRead)
    } finally {
      await handle.close()
    }
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return { addresses: [], error: undefined }
    return { addresses: [], error: new PeersFileError(path, 'unreadable', { cause }) }
  }
  const { addresses, rejected } = parsePeersFile(text, maxEntries)
  const error = rejected.length > 0 ? new PeersFileError(path, 'corrupt') : undefined
  return { addresses, error }
}

/** Replaces the peers file with `addresses`, atomically. */
export async function writePeersFile (path: string, addresses: readonly string[]): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    const handle = await open(temporary, 'w', 0o600)
    try {
      await handle.writeFile(addresses.map(address => `${address}\n`).join(''))
      // On disk before the rename, or a crash could leave an empty file under the real name.
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temporary, path)
  } catch (err) {
    await unlink(temporary).catch(() => {})
    throw err
  }
}

export interface PeersFileOptions {
  /** Addresses kept at most, in the file and when reading it. */
  maxEntries: number
  /** The addresses to save, most important first. */
  addresses: () => string[]
  /** Told of every problem; the node runs on without the file. */
  onError: (error: PeersFileError) => void
}

/** A node's peers file: read once at start, saved shortly after changes and at stop. */
export class PeersFile {
  private timer: NodeJS.Timeout | undefined
  /** Saves run one after the other, so an older list never overwrites a newer one. */
  private saving = Promise.resolve()

  constructor (readonly path: string, private readonly opts: PeersFileOptions) {}

  /** The remembered addresses; problems are reported, not thrown. */
  async load (): Promise<string[]> {
    const { addresses, error } = await readPeersFile(this.path, this.opts.maxEntries)
    if (error !== undefined) this.opts.onError(error)
    return addresses
  }

  /** Saves within `PEERS_FILE_SAVE_DELAY`: changes in a burst cost one write. */
  changed (): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined
      void this.save()
    }, PEERS_FILE_SAVE_DELAY)
  }

  /** Saves now, and stops any pending save. */
  async flush (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    await this.save()
  }

  private async save (): Promise<void> {
    this.saving = this.saving.then(async () => {
      try {
        await writePeersFile(this.path, this.opts.addresses().slice(0, this.opts.maxEntries))
      } catch (cause) {
        this.opts.onError(new PeersFileError(this.path, 'unwritable', { cause }))
      }
    })
    await this.saving
  }
}

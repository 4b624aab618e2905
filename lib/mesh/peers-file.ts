/**
 * The peers file: where a node remembers the addresses it dialled
 * successfully, so that after a restart it rejoins the mesh without its
 * bootstrap, and which of them proved a key over Noise (their pins), so
 * that it does not accept a downgrade to plaintext from them after a
 * restart either. The format is one `host:port` per line, most recently
 * dialled first, followed by ` noise <id>` for a pinned address; blank
 * lines and lines starting with `#` are skipped.
 *
 * Writes go to a temporary file beside it, flushed to disk, then renamed
 * over it, so a crash mid-write leaves the previous file whole. Reads are
 * bounded by the number of entries the node keeps, and keep the valid lines
 * of a damaged file.
 */
import { randomBytes } from 'node:crypto'
import { open, rename, unlink } from 'node:fs/promises'
import { PeersFileError } from '../errors.js'
import { MAX_ID_LENGTH, idProblem, normalizeAddress } from '../../transforms/core/line-protocol.js'

/** Quiet time after a change of peers before the peers file is rewritten, in ms. */
const PEERS_FILE_SAVE_DELAY = 1_000

/** Longest address a peers file line may hold, in bytes: a 253-byte host, brackets, `:` and a port. */
const MAX_ADDRESS_LENGTH = 262

/** An address a node dialled, and the id a key proved there over Noise, if one did. */
export interface RememberedPeer {
  address: string
  pinnedId?: string | undefined
}

/** What a read found: the valid entries, and what was wrong with the file, if anything. */
export interface PeersFileContents {
  peers: RememberedPeer[]
  error: PeersFileError | undefined
}

/** Largest file accepted for `maxEntries` entries, in bytes: an address, ` noise `, the longest id and `\r\n`. */
export function maxPeersFileBytes (maxEntries: number): number {
  return maxEntries * (MAX_ADDRESS_LENGTH + PIN_LENGTH + 2)
}

const PIN_WORD = 'noise'
/** ` noise <id>`, at its longest. */
const PIN_LENGTH = PIN_WORD.length + 2 + MAX_ID_LENGTH

/** One line's entry. @throws when the line is not one */
function parseLine (line: string): RememberedPeer {
  const [address, word, id, ...rest] = line.split(/\s+/)
  if (word === undefined) return { address: normalizeAddress(address as string) }
  if (word !== PIN_WORD || id === undefined || idProblem(id) !== undefined || rest.length > 0) throw new Error('not an entry')
  return { address: normalizeAddress(address as string), pinnedId: id }
}

/** Parses the text of a peers file: at most `maxEntries` entries of distinct addresses, and the lines that were not entries. */
export function parsePeersFile (text: string, maxEntries: number): { peers: RememberedPeer[], rejected: string[] } {
  const peers = new Map<string, RememberedPeer>()
  const rejected: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line.length === 0 || line.startsWith('#')) continue
    try {
      const peer = parseLine(line)
      if (peers.size < maxEntries && !peers.has(peer.address)) peers.set(peer.address, peer)
    } catch {
      rejected.push(line)
    }
  }
  return { peers: [...peers.values()], rejected }
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
      if (bytesRead > limit) return { peers: [], error: new PeersFileError(path, 'too large') }
      text = buffer.toString('utf8', 0, bytesRead)
    } finally {
      await handle.close()
    }
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return { peers: [], error: undefined }
    return { peers: [], error: new PeersFileError(path, 'unreadable', { cause }) }
  }
  const { peers, rejected } = parsePeersFile(text, maxEntries)
  const error = rejected.length > 0 ? new PeersFileError(path, 'corrupt') : undefined
  return { peers, error }
}

/** Replaces the peers file with `peers`, atomically. */
export async function writePeersFile (path: string, peers: readonly RememberedPeer[]): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    const handle = await open(temporary, 'w', 0o600)
    try {
      await handle.writeFile(peers.map(({ address, pinnedId }) => `${address}${pinnedId === undefined ? '' : ` ${PIN_WORD} ${pinnedId}`}\n`).join(''))
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
  /** Entries kept at most, in the file and when reading it. */
  maxEntries: number
  /** The entries to save, most important first. */
  peers: () => RememberedPeer[]
  /** Told of every problem; the node runs on without the file. */
  onError: (error: PeersFileError) => void
}

/** A node's peers file: read once at start, saved shortly after changes and at stop. */
export class PeersFile {
  private timer: NodeJS.Timeout | undefined
  /** Saves run one after the other, so an older list never overwrites a newer one. */
  private saving = Promise.resolve()

  constructor (readonly path: string, private readonly opts: PeersFileOptions) {}

  /** The remembered entries; problems are reported, not thrown. */
  async load (): Promise<RememberedPeer[]> {
    const { peers, error } = await readPeersFile(this.path, this.opts.maxEntries)
    if (error !== undefined) this.opts.onError(error)
    return peers
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
        await writePeersFile(this.path, this.opts.peers().slice(0, this.opts.maxEntries))
      } catch (cause) {
        this.opts.onError(new PeersFileError(this.path, 'unwritable', { cause }))
      }
    })
    await this.saving
  }
}

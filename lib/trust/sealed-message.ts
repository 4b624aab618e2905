/**
 * Sealed direct messages: a message routed through the overlay is sealed to
 * its recipient's X25519 key with the Noise one-way pattern X, which also
 * proves the sender's key. The nodes on the way see only the header they
 * route by (source id, target id, hops); both ids are bound into the seal
 * (its prologue), so none of them can redirect it or pass it off as another
 * sender's.
 *
 * Sealed plaintext (big-endian):
 *
 *   version u8 (1) | epoch f64 | counter u32 | time f64 | kind u8 (0 chat, 1 bytes)
 *   name length u16 | sender's name (UTF-8) | data to the end
 */
import { UntrustedMessageError } from '../errors.js'
import type { Identity } from '../secure/identity.js'
import { nodeIdFromPublicKey } from '../secure/identity.js'
import { ONE_WAY_OVERHEAD, openOneWay, sealOneWay } from '../secure/noise/index.js'
import type { Stamp } from './replay-guard.js'
import { nameProblem } from '../../transforms/core/line-protocol.js'

export type SealedKind = 'chat' | 'bytes'

export interface SealedContent {
  stamp: Stamp
  kind: SealedKind
  /** The sender's display name. */
  name: string
  data: Uint8Array
}

const VERSION = 1
const KINDS: readonly SealedKind[] = ['chat', 'bytes']
const HEADER_BYTES = 1 + 8 + 4 + 8 + 1 + 2
/** Bytes sealing adds to a message's data, besides the sender's name. */
export const SEALED_OVERHEAD = ONE_WAY_OVERHEAD + HEADER_BYTES
const utf8 = new TextDecoder('utf-8', { fatal: true })

function prologue (source: string, target: string): Uint8Array {
  return Buffer.from(`meshline-sealed/1 ${source} ${target}`, 'utf8')
}

/** Seals a message from `sender` (whose id is `source`) to the node `target`, whose X25519 key is `targetKey`. */
export function sealMessage (sender: Identity, source: string, target: string, targetKey: Uint8Array, content: SealedContent): Uint8Array {
  const name = Buffer.from(content.name, 'utf8')
  const plain = Buffer.allocUnsafe(HEADER_BYTES + name.length + content.data.byteLength)
  let at = plain.writeUInt8(VERSION, 0)
  at = plain.writeDoubleBE(content.stamp.epoch, at)
  at = plain.writeUInt32BE(content.stamp.counter, at)
  at = plain.writeDoubleBE(content.stamp.time, at)
  at = plain.writeUInt8(KINDS.indexOf(content.kind), at)
  at = plain.writeUInt16BE(name.length, at)
  at += name.copy(plain, at)
  plain.set(content.data, at)
  return sealOneWay(sender, targetKey, plain, { prologue: prologue(source, target) })
}

/**
 * Opens a message sealed to this node (`recipient`, id `target`) that claims to come from `source`.
 * @returns the content and the sender's proven X25519 key
 * @throws UntrustedMessageError: `undecryptable` (not sealed to this key, or altered), `key-mismatch` (sealed by a key that is not `source`'s), `malformed`
 */
export function openMessage (recipient: Identity, source: string, target: string, sealed: Uint8Array): SealedContent & { senderKey: Uint8Array } {
  let opened: ReturnType<typeof openOneWay>
  try {
    opened = openOneWay(recipient, sealed, prologue(source, target))
  } catch (err) {
    throw new UntrustedMessageError('undecryptable', `routed message from ${source}: ${(err as Error).message}`, source, { cause: err })
  }
  const proven = nodeIdFromPublicKey(opened.senderStaticKey)
  if (proven !== source) throw new UntrustedMessageError('key-mismatch', `routed message claims to come from ${source}, but was sealed by ${proven}`, source)
  const plain = Buffer.from(opened.payload.buffer, opened.payload.byteOffset, opened.payload.byteLength)
  const bad = (detail: string): UntrustedMessageError => new UntrustedMessageError('malformed', `routed message from ${source}: ${detail}`, source)
  if (plain.length < HEADER_BYTES || plain.readUInt8(0) !== VERSION) throw bad('unknown version or too short')
  const stamp = { epoch: plain.readDoubleBE(1), counter: plain.readUInt32BE(9), time: plain.readDoubleBE(13) }
  const kind = KINDS[plain.readUInt8(21)]
  const nameEnd = HEADER_BYTES + plain.readUInt16BE(22)
  if (kind === undefined || nameEnd > plain.length || !Number.isSafeInteger(stamp.epoch) || !Number.isSafeInteger(stamp.time)) throw bad('invalid header')
  let name: string
  try {
    name = utf8.decode(plain.subarray(HEADER_BYTES, nameEnd))
  } catch {
    throw bad('name is not UTF-8')
  }
  if (nameProblem(name) !== undefined) throw bad('invalid name')
  // A plain Uint8Array view, as the application gets every payload.
  const data = new Uint8Array(plain.buffer, plain.byteOffset + nameEnd, plain.length - nameEnd)
  return { stamp, kind, name, data, senderKey: opened.senderStaticKey }
}

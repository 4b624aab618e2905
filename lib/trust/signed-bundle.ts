/**
 * Signed bundles: the messages one author broadcasts within a moment,
 * signed once together. The overlay carries a bundle as one broadcast, and
 * every node verifies it once, so one signature and one verification serve
 * every message in it.
 *
 * Layout (big-endian); everything but the signature is signed:
 *
 *   version u8 (1) | author's Ed25519 public key (32) | name length u16 | name (UTF-8)
 *   epoch f64 | counter u32 | time f64 | entry count u16
 *   entries: flags u8 | kind u8 | [id length u16 | id | name length u16 | name] | length u32 | data
 *   signature (64): Ed25519 over "meshline-signed/1" and SHA-256 of all the above
 *
 * The bundle's id is the first 12 bytes of that SHA-256, in hex: no node on
 * the way can give a bundle another id. Flag 1 marks an entry written by a
 * line-protocol peer (id and name follow) and vouched for by the author, the
 * gateway it is connected to. Hop counts travel outside the bundle: each
 * node on the way changes them.
 */
import { ed25519Sign, ed25519Verify, sha256, type PrivateKey, type VerificationKey } from '../crypto/crypto.js'
import { UntrustedMessageError } from '../errors.js'
import type { Origin } from '../types.js'
import type { Stamp } from './replay-guard.js'
import { idProblem, nameProblem } from '../../transforms/core/line-protocol.js'

/** What a bundle entry is: chat text, opaque bytes, or a request for a route to the node whose id it holds. */
export type EntryKind = 'chat' | 'bytes' | 'route-request'

export interface BundleEntry {
  kind: EntryKind
  data: Uint8Array
  /** The line-protocol peer that wrote it, when the bundle's author vouches for it as its gateway. */
  vouchedFor?: Origin
}

export interface SignedBundle {
  /** The author's Ed25519 public key. */
  signingKey: Uint8Array
  /** The author's display name. */
  name: string
  stamp: Stamp
  entries: BundleEntry[]
}

/** A bundle as received: parsed, not yet verified. */
export interface ReceivedBundle extends SignedBundle {
  id: string
  /** SHA-256 of the signed bytes. */
  digest: Uint8Array
  signature: Uint8Array
}

const VERSION = 1
const SIGNATURE_BYTES = 64
const KEY_BYTES = 32
const DOMAIN = Buffer.from('meshline-signed/1', 'utf8')
const KINDS: readonly EntryKind[] = ['chat', 'bytes', 'route-request']
const VOUCHED = 1
/** Entries in one bundle at most (the count is a u16). */
export const MAX_BUNDLE_ENTRIES = 0xffff
/** Bytes of a bundle besides its author's name and its entries. */
export const BUNDLE_OVERHEAD = 1 + KEY_BYTES + 2 + 8 + 4 + 8 + 2 + SIGNATURE_BYTES
/** Bytes of an entry besides its data and, when vouched for, the writer's id and name. */
export const ENTRY_OVERHEAD = 2 + 4
const utf8 = new TextDecoder('utf-8', { fatal: true })

function digestOf (signed: Uint8Array): Buffer {
  return sha256(signed)
}

function signedMessage (digest: Uint8Array): Buffer {
  return Buffer.concat([DOMAIN, digest])
}

/** The bundle's id: the first 12 bytes of the digest of what is signed. */
function idOf (digest: Buffer): string {
  return digest.subarray(0, 12).toString('hex')
}

/** Encodes and signs a bundle. @returns its id and its bytes */
export function signBundle (bundle: SignedBundle, key: PrivateKey): { id: string, bytes: Uint8Array } {
  const name = Buffer.from(bundle.name, 'utf8')
  let size = BUNDLE_OVERHEAD - SIGNATURE_BYTES + name.length
  const vouched = bundle.entries.map(entry => entry.vouchedFor === undefined ? undefined : { id: Buffer.from(entry.vouchedFor.id, 'utf8'), name: Buffer.from(entry.vouchedFor.name, 'utf8') })
  for (const [index, entry] of bundle.entries.entries()) {
    const by = vouched[index]
    size += ENTRY_OVERHEAD + (by === undefined ? 0 : 4 + by.id.length + by.name.length) + entry.data.byteLength
  }
  const out = Buffer.allocUnsafe(size + SIGNATURE_BYTES)
  let at = out.writeUInt8(VERSION, 0)
  at += Buffer.from(bundle.signingKey).copy(out, at)
  at = out.writeUInt16BE(name.length, at)
  at += name.copy(out, at)
  at = out.writeDoubleBE(bundle.stamp.epoch, at)
  at = out.writeUInt32BE(bundle.stamp.counter, at)
  at = out.writeDoubleBE(bundle.stamp.time, at)
  at = out.writeUInt16BE(bundle.entries.length, at)
  for (const [index, entry] of bundle.entries.entries()) {
    const by = vouched[index]
    at = out.writeUInt8(by === undefined ? 0 : VOUCHED, at)
    at = out.writeUInt8(KINDS.indexOf(entry.kind), at)
    if (by !== undefined) {
      at = out.writeUInt16BE(by.id.length, at)
      at += by.id.copy(out, at)
      at = out.writeUInt16BE(by.name.length, at)
      at += by.name.copy(out, at)
    }
    at = out.writeUInt32BE(entry.data.byteLength, at)
    out.set(entry.data, at)
    at += entry.data.byteLength
  }
  const digest = digestOf(out.subarray(0, size))
  out.set(ed25519Sign(key, signedMessage(digest)), size)
  return { id: idOf(digest), bytes: out }
}

/** Reads a bundle's fields; every failure is `UntrustedMessageError` `malformed`. */
class Reader {
  at = 0
  constructor (private readonly buf: Buffer, private readonly end: number) {}

  take (length: number, what: string): Buffer {
    if (this.at + length > this.end) throw malformed(`${what} runs past the end`)
    const out = this.buf.subarray(this.at, this.at + length)
    this.at += length
    return out
  }

  u8 (what: string): number { return this.take(1, what).readUInt8(0) }
  u16 (what: string): number { return this.take(2, what).readUInt16BE(0) }
  u32 (what: string): number { return this.take(4, what).readUInt32BE(0) }
  f64 (what: string): number { return this.take(8, what).readDoubleBE(0) }

  text (what: string): string {
    try {
      return utf8.decode(this.take(this.u16(`${what} length`), what))
    } catch (err) {
      if (err instanceof UntrustedMessageError) throw err
      throw malformed(`${what} is not UTF-8`)
    }
  }
}

function malformed (detail: string): UntrustedMessageError {
  return new UntrustedMessageError('malformed', `signed bundle: ${detail}`)
}

function wholeMs (value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0
}

/**
 * Parses a bundle without verifying it. Data is returned as views of `bytes`.
 * @throws UntrustedMessageError `malformed`
 */
export function readBundle (bytes: Uint8Array): ReceivedBundle {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buf.length < 1 + KEY_BYTES + SIGNATURE_BYTES) throw malformed(`${buf.length} bytes is too short`)
  const end = buf.length - SIGNATURE_BYTES
  const r = new Reader(buf, end)
  const version = r.u8('version')
  if (version !== VERSION) throw malformed(`unknown version ${version}`)
  const signingKey = r.take(KEY_BYTES, 'signing key')
  const name = r.text('name')
  if (nameProblem(name) !== undefined) throw malformed('invalid name')
  const stamp = { epoch: r.f64('epoch'), counter: r.u32('counter'), time: r.f64('time') }
  if (!wholeMs(stamp.epoch) || !wholeMs(stamp.time)) throw malformed('epoch or time is not a whole number of ms')
  const count = r.u16('entry count')
  const entries: BundleEntry[] = []
  for (let i = 0; i < count; i++) {
    const flags = r.u8('entry flags')
    const kind = KINDS[r.u8('entry kind')]
    if (kind === undefined || (flags & ~VOUCHED) !== 0) throw malformed(`entry ${i} has an unknown kind or flag`)
    let vouchedFor: Origin | undefined
    if ((flags & VOUCHED) !== 0) {
      vouchedFor = { id: r.text('vouched id'), name: r.text('vouched name') }
      if (idProblem(vouchedFor.id) !== undefined || nameProblem(vouchedFor.name) !== undefined) throw malformed(`entry ${i} vouches for an invalid id or name`)
    }
    const taken = r.take(r.u32('entry length'), 'entry data')
    // A plain Uint8Array view, as the application gets every payload.
    const data = new Uint8Array(taken.buffer, taken.byteOffset, taken.length)
    entries.push(vouchedFor === undefined ? { kind, data } : { kind, data, vouchedFor })
  }
  if (r.at !== end) throw malformed(`${end - r.at} bytes after the last entry`)
  const digest = digestOf(buf.subarray(0, end))
  return { id: idOf(digest), signingKey, name, stamp, entries, digest, signature: buf.subarray(end) }
}

/** Whether `bundle`'s signature is its author's, made with `key`. */
export function verifyBundle (bundle: ReceivedBundle, key: VerificationKey): boolean {
  return ed25519Verify(key, signedMessage(bundle.digest), bundle.signature)
}

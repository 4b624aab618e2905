/**
 * A node's long-term identity: an Ed25519 signing key (kept in a key file
 * by `key-files.ts`, or passed in), and the X25519 key its
 * Noise links use, derived from it by the standard birational map (as
 * libsodium's `crypto_sign_ed25519_sk_to_curve25519`). The node id is the
 * first 16 bytes of SHA-256 of the X25519 public key, as 32 lowercase hex
 * characters: the same shape as the protocol's random ids, but one that
 * only the key's holder can prove over Noise, and that anybody can check
 * a signing key against (`nodeIdFromSigningKey`), so a signature proves its
 * author's id without a word from the nodes that carried it.
 *
 * @example
 * ```ts
 * const identity = generateIdentity()
 * console.log(nodeIdFromPublicKey(identity.publicKey), fingerprint(identity.publicKey))
 * ```
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { ed25519Seed, generateEd25519, isPrivateKey, privateKeyKind, publicKeyOf, type PrivateKey } from '../crypto/crypto.js'
import { IdentityError, InvalidOptionError } from '../errors.js'
import { hash, keyPairFromPrivateKey, type KeyPair } from './noise/index.js'
import { checkArgument } from '../../transforms/core/option-table.js'

/** A node's keys: the X25519 pair of its Noise links (`privateKey`, `publicKey`) and the Ed25519 pair it signs with. */
export interface Identity extends KeyPair {
  readonly signingKey: PrivateKey
  /** The 32-byte Ed25519 public key. */
  readonly signingPublicKey: Uint8Array
}

const ED25519_PUBLIC_KEY_BYTES = 32

const HEX_KEY = /^[0-9a-f]{64}$/i

/** A fresh random identity, kept in memory only. */
export function generateIdentity (): Identity {
  return identityFromKeyObject(generateEd25519())
}

/**
 * The identity of an Ed25519 private key object.
 * @throws IdentityError for any other kind of key (an X25519 key cannot sign, so it cannot be an identity)
 */
export function identityFromKeyObject (privateKey: PrivateKey): Identity {
  checkArgument('privateKey', 'a private key', privateKey, isPrivateKey)
  const kind = privateKeyKind(privateKey)
  if (kind !== 'ed25519') {
    const hint = kind === 'x25519' ? ' (an X25519 key cannot sign; move that key file aside and a new identity is created)' : ''
    throw new IdentityError(`expected an Ed25519 private key, got a private ${kind} key${hint}`)
  }
  const signingPublicKey = publicKeyOf(privateKey)
  return { ...keyPairFromPrivateKey(ed25519.utils.toMontgomerySecret(ed25519Seed(privateKey))), signingKey: privateKey, signingPublicKey }
}

/** A public key as 64 lowercase hex characters: how allowlists and `PeerInfo` write it. */
export function publicKeyHex (publicKey: Uint8Array): string {
  return Buffer.from(publicKey).toString('hex')
}

/** The node id a key proves: the first 16 bytes of SHA-256 of the X25519 public key, in lowercase hex. */
export function nodeIdFromPublicKey (publicKey: Uint8Array): string {
  return hash(publicKey).subarray(0, 16).toString('hex')
}

/** The X25519 public key an Ed25519 public key maps to. @throws IdentityError for bytes that are no Ed25519 public key */
export function linkKeyOfSigningKey (signingPublicKey: Uint8Array): Uint8Array {
  if (signingPublicKey.length !== ED25519_PUBLIC_KEY_BYTES) throw new IdentityError(`an Ed25519 public key is ${ED25519_PUBLIC_KEY_BYTES} bytes, got ${signingPublicKey.length}`)
  try {
    return ed25519.utils.toMontgomery(signingPublicKey)
  } catch {
    throw new IdentityError('not an Ed25519 public key (no point on the curve)')
  }
}

/** The node id an Ed25519 signing key belongs to. @throws IdentityError */
export function nodeIdFromSigningKey (signingPublicKey: Uint8Array): string {
  return nodeIdFromPublicKey(linkKeyOfSigningKey(signingPublicKey))
}

/** A key's fingerprint for people to compare: `SHA256:` and the unpadded base64 of the key's SHA-256. */
export function fingerprint (publicKey: Uint8Array): string {
  return `SHA256:${hash(publicKey).toString('base64').replace(/=+$/, '')}`
}

function allowlistEntry (entry: string, where: string): string {
  if (!HEX_KEY.test(entry)) {
    throw new InvalidOptionError(`Expected ${where} to be a 64-character hex X25519 public key, got ${JSON.stringify(entry.slice(0, 80))}`)
  }
  return entry.toLowerCase()
}

/**
 * Parses an allowlist: one hex public key per line; blank lines and `#`
 * comments are ignored.
 * @throws InvalidOptionError naming the first bad line
 */
export function parseAllowlist (text: string, source = 'the allowlist'): Set<string> {
  const keys = new Set<string>()
  for (const [index, line] of text.split('\n').entries()) {
    const entry = line.replace(/#.*/, '').trim()
    if (entry.length > 0) keys.add(allowlistEntry(entry, `line ${index + 1} of ${source}`))
  }
  return keys
}

/**
 * The allowlist of keys given as a list.
 * @throws InvalidOptionError naming the first bad entry
 */
export function allowlistOf (entries: readonly string[]): Set<string> {
  return new Set(entries.map((entry, index) => allowlistEntry(entry.trim(), `\`allow[${index}]\``)))
}

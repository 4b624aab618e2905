/**
 * A node's long-term identity: an Ed25519 signing key, kept in a PEM
 * (PKCS#8) key file that only its owner may read, and the X25519 key its
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
 * const identity = loadIdentity('./meshline.key') // created, mode 0600, on first use
 * console.log(nodeIdFromPublicKey(identity.publicKey), fingerprint(identity.publicKey))
 * ```
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { IdentityError, InvalidOptionError } from '../errors.js'
import { hash, keyPairFromPrivateKey, type KeyPair } from './noise/index.js'
import { checkArgument, isNonEmptyString } from '../../transforms/core/option-table.js'

/** A node's keys: the X25519 pair of its Noise links (`privateKey`, `publicKey`) and the Ed25519 pair it signs with. */
export interface Identity extends KeyPair {
  readonly signingKey: KeyObject
  /** The 32-byte Ed25519 public key. */
  readonly signingPublicKey: Uint8Array
}

const ED25519_PUBLIC_KEY_BYTES = 32

/** Permission bits for group and others: a key file must have none. */
const GROUP_OTHER_BITS = 0o077
const KEY_FILE_MODE = 0o600
const KEY_DIR_MODE = 0o700
const HEX_KEY = /^[0-9a-f]{64}$/i

/** A fresh random identity, kept in memory only. */
export function generateIdentity (): Identity {
  return identityFromKeyObject(generateKeyPairSync('ed25519').privateKey)
}

/**
 * The identity of an Ed25519 private key object.
 * @throws IdentityError for any other kind of key (an X25519 key cannot sign, so it cannot be an identity)
 */
export function identityFromKeyObject (privateKey: KeyObject): Identity {
  checkArgument('privateKey', 'a KeyObject', privateKey, value => value instanceof KeyObject)
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    const kind = `${privateKey.type} ${privateKey.asymmetricKeyType ?? ''} key`
    const hint = privateKey.asymmetricKeyType === 'x25519' ? ' (an X25519 key cannot sign; move that key file aside and a new identity is created)' : ''
    throw new IdentityError(`expected an Ed25519 private key, got a ${kind}${hint}`)
  }
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url')
  const signingPublicKey = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x as string, 'base64url')
  return { ...keyPairFromPrivateKey(ed25519.utils.toMontgomerySecret(seed)), signingKey: privateKey, signingPublicKey }
}

function isMissing (err: unknown): boolean {
  return (err as { code?: unknown }).code === 'ENOENT'
}

function readKeyFile (path: string): Identity {
  const stats = statSync(path)
  if (!stats.isFile()) throw new IdentityError(`identity ${path} is not a file`)
  // POSIX permissions only: elsewhere the mode bits do not say who can read.
  if (process.platform !== 'win32' && (stats.mode & GROUP_OTHER_BITS) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, '0')
    throw new IdentityError(`identity ${path} is accessible by others (mode ${mode}); run: chmod 600 ${path}`)
  }
  const pem = readFileSync(path)
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(pem)
  } catch {
    throw new IdentityError(`identity ${path} is not a PEM private key`)
  }
  return identityFromKeyObject(privateKey)
}

/**
 * Loads the identity kept in `path`, or, on first use, generates one and
 * writes it there with mode 0600 (creating the folder with mode 0700).
 * Synchronous: a node reads it once, when it is constructed.
 * @throws IdentityError when the file is not an Ed25519 private key or is accessible by others
 */
export function loadIdentity (path: string): Identity {
  checkArgument('path', 'a key file path', path, isNonEmptyString)
  try {
    return readKeyFile(path)
  } catch (err) {
    if (err instanceof IdentityError) throw err
    if (!isMissing(err)) throw new IdentityError(`cannot read identity ${path}: ${(err as Error).message}`)
  }
  const identity = generateIdentity()
  try {
    mkdirSync(dirname(path), { recursive: true, mode: KEY_DIR_MODE })
    // `wx`: never replace a key another process wrote in the meantime.
    writeFileSync(path, identity.signingKey.export({ format: 'pem', type: 'pkcs8' }), { mode: KEY_FILE_MODE, flag: 'wx' })
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EEXIST') return loadIdentity(path)
    throw new IdentityError(`cannot write identity ${path}: ${(err as Error).message}`)
  }
  return identity
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
 * The allowlist of the `allow` option: a file path, or the keys themselves.
 * @throws InvalidOptionError for a bad entry or an unreadable file
 */
export function resolveAllowlist (allow: string | readonly string[]): Set<string> {
  if (typeof allow !== 'string') return new Set(allow.map((entry, index) => allowlistEntry(entry.trim(), `\`allow[${index}]\``)))
  let text: string
  try {
    text = readFileSync(allow, 'utf8')
  } catch (err) {
    throw new InvalidOptionError(`Expected \`allow\` to name a readable allowlist file, got ${JSON.stringify(allow)} (${(err as { code?: string }).code ?? 'unreadable'})`)
  }
  return parseAllowlist(text, allow)
}

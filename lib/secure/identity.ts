/**
 * A node's long-term identity: an X25519 key pair whose private key lives
 * in a PEM (PKCS#8) key file that only its owner may read. The node id of
 * a key is the first 16 bytes of SHA-256 of its public key, as 32
 * lowercase hex characters: the same shape as the protocol's random ids,
 * but one that only the key's holder can prove over Noise.
 *
 * @example
 * ```ts
 * const identity = loadIdentity('./meshline.key') // created, mode 0600, on first use
 * console.log(nodeIdFromPublicKey(identity.publicKey), fingerprint(identity.publicKey))
 * ```
 */
import { createPrivateKey, KeyObject } from 'node:crypto'
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { IdentityError, InvalidOptionError } from '../errors.js'
import { generateKeyPair, hash, keyPairFromKeyObject, type KeyPair } from './noise/index.js'
import { checkArgument, isNonEmptyString } from '../../transforms/core/option-table.js'

/** A node's static key pair. */
export type Identity = KeyPair

/** Permission bits for group and others: a key file must have none. */
const GROUP_OTHER_BITS = 0o077
const KEY_FILE_MODE = 0o600
const KEY_DIR_MODE = 0o700
const HEX_KEY = /^[0-9a-f]{64}$/i

/** A fresh random identity, kept in memory only. */
export function generateIdentity (): Identity {
  return generateKeyPair()
}

/**
 * The identity of an X25519 private key object.
 * @throws IdentityError for any other kind of key
 */
export function identityFromKeyObject (privateKey: KeyObject): Identity {
  checkArgument('privateKey', 'a KeyObject', privateKey, value => value instanceof KeyObject)
  try {
    return keyPairFromKeyObject(privateKey)
  } catch {
    throw new IdentityError(`expected an X25519 private key, got a ${privateKey.type} ${privateKey.asymmetricKeyType ?? ''} key`)
  }
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
 * @throws IdentityError when the file is not an X25519 private key or is accessible by others
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
    writeFileSync(path, identity.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: KEY_FILE_MODE, flag: 'wx' })
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

/** The node id a key proves: the first 16 bytes of SHA-256 of the public key, in lowercase hex. */
export function nodeIdFromPublicKey (publicKey: Uint8Array): string {
  return hash(publicKey).subarray(0, 16).toString('hex')
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

/**
 * The files behind an identity and an allowlist: a node's Ed25519 key in
 * a PEM (PKCS#8) file only its owner may read, created on first use, and
 * allowlist files. Node only: the browser build puts `key-files.browser.ts`
 * in this file's place.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto'
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { IdentityError, InvalidOptionError } from '../errors.js'
import { allowlistOf, generateIdentity, identityFromKeyObject, parseAllowlist, type Identity } from './identity.js'
import { checkArgument, isNonEmptyString } from '../../transforms/core/option-table.js'

/** Permission bits for group and others: a key file must have none. */
const GROUP_OTHER_BITS = 0o077
const KEY_FILE_MODE = 0o600
const KEY_DIR_MODE = 0o700

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

/**
 * The allowlist of the `allow` option: a file path, or the keys themselves.
 * @throws InvalidOptionError for a bad entry or an unreadable file
 */
export function resolveAllowlist (allow: string | readonly string[]): Set<string> {
  if (typeof allow !== 'string') return allowlistOf(allow)
  let text: string
  try {
    text = readFileSync(allow, 'utf8')
  } catch (err) {
    throw new InvalidOptionError(`Expected \`allow\` to name a readable allowlist file, got ${JSON.stringify(allow)} (${(err as { code?: string }).code ?? 'unreadable'})`)
  }
  return parseAllowlist(text, allow)
}

/**
 * `key-files.ts` for browsers, which have no files: an identity is passed
 * as a key or made fresh per node, an allowlist as its keys.
 */
import { IdentityError, InvalidOptionError } from '../errors.js'
import { allowlistOf, type Identity } from './identity.js'

export function loadIdentity (path: string): Identity {
  throw new IdentityError(`a browser has no key files (identity ${JSON.stringify(path)}): pass no identity for a fresh one`)
}

export function resolveAllowlist (allow: string | readonly string[]): Set<string> {
  if (typeof allow !== 'string') return allowlistOf(allow)
  throw new InvalidOptionError(`Expected \`allow\` to be a list of keys in a browser (no allowlist files), got ${JSON.stringify(allow)}`)
}

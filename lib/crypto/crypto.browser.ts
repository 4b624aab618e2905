/**
 * `crypto.ts` for browsers: the same functions over `@noble/hashes`,
 * `@noble/curves` and `@noble/ciphers`, audited pure-JavaScript
 * implementations that run synchronously, as the Noise state machines
 * need (WebCrypto only has promises). The browser build puts this file in
 * `crypto.ts`'s place; Node's tests run both and compare them.
 */
import { gcm } from '@noble/ciphers/aes.js'
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { ed25519, x25519 as noblex25519 } from '@noble/curves/ed25519.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js'
import { Uint8ArrayList } from 'uint8arraylist'
import type { NoiseCipher } from '../types.js'

type KeyKind = 'x25519' | 'ed25519'

/** A private key: its kind, its raw secret (an X25519 scalar or an Ed25519 seed) and its raw public key. */
class BrowserKey {
  constructor (readonly kind: KeyKind, readonly secret: Uint8Array, readonly publicKey: Uint8Array) {}
}

export type PrivateKey = BrowserKey

/** An Ed25519 public key; raw bytes are all noble needs. */
export type VerificationKey = Uint8Array

export const KEY_BYTES = 32
export const TAG_BYTES = 16

/** In JavaScript ChaCha20-Poly1305 is the faster: about 140 MB/s against 40 for AES-GCM (V8, this machine). */
export const CIPHER_PREFERENCE: readonly NoiseCipher[] = ['ChaChaPoly', 'AESGCM']

/** A view of `bytes` as a Buffer (the browser build's `buffer` package), which the callers format with. */
function buffer (bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

export function randomBytes (size: number): Buffer {
  return buffer(nobleRandomBytes(size))
}

export interface Sha256 {
  update: (data: Uint8Array) => Sha256
  digest: () => Buffer
}

export function createSha256 (): Sha256 {
  const h = nobleSha256.create()
  const stream: Sha256 = {
    update: data => { h.update(data); return stream },
    digest: () => buffer(h.digest())
  }
  return stream
}

export function sha256 (...parts: Uint8Array[]): Buffer {
  const h = nobleSha256.create()
  for (const part of parts) h.update(part)
  return buffer(h.digest())
}

export function hmacSha256 (key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = hmac.create(nobleSha256, key)
  for (const part of parts) h.update(part)
  return buffer(h.digest())
}

export function isPrivateKey (value: unknown): value is PrivateKey {
  return value instanceof BrowserKey
}

export function privateKeyKind (key: PrivateKey): string {
  return key.kind
}

export function generateX25519 (): PrivateKey {
  return x25519FromSecret(noblex25519.utils.randomSecretKey())
}

export function x25519FromSecret (secret: Uint8Array): PrivateKey {
  const copy = Uint8Array.from(secret)
  return new BrowserKey('x25519', copy, noblex25519.getPublicKey(copy))
}

export function publicKeyOf (key: PrivateKey): Buffer {
  return buffer(key.publicKey)
}

/** @throws Error for a low-order public key (noble refuses an all-zero output) */
export function x25519 (key: PrivateKey, publicKey: Uint8Array): Buffer {
  return buffer(noblex25519.getSharedSecret(key.secret, publicKey))
}

export function generateEd25519 (): PrivateKey {
  const seed = ed25519.utils.randomSecretKey()
  return new BrowserKey('ed25519', seed, ed25519.getPublicKey(seed))
}

export function ed25519Seed (key: PrivateKey): Buffer {
  return buffer(key.secret)
}

export function ed25519Sign (key: PrivateKey, message: Uint8Array): Buffer {
  return buffer(ed25519.sign(message, key.secret))
}

export function ed25519VerificationKey (publicKey: Uint8Array): VerificationKey {
  return Uint8Array.from(publicKey)
}

export function ed25519Verify (key: VerificationKey, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, key)
  } catch {
    return false
  }
}

function aead (cipher: NoiseCipher, key: Uint8Array, nonce: Uint8Array, ad: Uint8Array): { encrypt: (data: Uint8Array) => Uint8Array, decrypt: (data: Uint8Array) => Uint8Array } {
  const associated = ad.length > 0 ? ad : undefined
  return cipher === 'AESGCM' ? gcm(key, nonce, associated) : chacha20poly1305(key, nonce, associated)
}

/** AEAD encryption of `pieces` (joined first: noble's AEADs take one buffer), ciphertext and tag appended to `out`. */
export function aeadSeal (cipher: NoiseCipher, key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, _plaintextLength: number, pieces: Iterable<Uint8Array>, out: Uint8ArrayList): void {
  out.append(buffer(aead(cipher, key, nonce, ad).encrypt(new Uint8ArrayList(...pieces).subarray())))
}

/** @returns false when authentication fails; the plaintext is appended to `out` otherwise */
export function aeadOpen (cipher: NoiseCipher, key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array | Uint8ArrayList, out: Uint8ArrayList, _tagScratch: Uint8Array): boolean {
  if (ciphertext.byteLength < TAG_BYTES) return false
  let plaintext: Uint8Array
  try {
    plaintext = aead(cipher, key, nonce, ad).decrypt(ciphertext instanceof Uint8Array ? ciphertext : ciphertext.subarray())
  } catch {
    return false
  }
  out.append(buffer(plaintext))
  return true
}

/**
 * The three Noise primitives of `Noise_XX_25519_ChaChaPoly_SHA256`, over
 * the platform's crypto module: X25519 key pairs and DH, SHA-256 /
 * HMAC-SHA256 and the Noise HKDF built from them. Only the Noise
 * conventions (raw 32-byte keys, HKDF output counts) are implemented here.
 */
import { generateX25519, hmacSha256, isPrivateKey, privateKeyKind, publicKeyOf, sha256, x25519, x25519FromSecret, type PrivateKey } from '../../crypto/crypto.js'
import { NoiseHandshakeError } from '../../errors.js'

/** DHLEN: bytes of an X25519 public key and of a DH output. */
export const DHLEN = 32
/** HASHLEN: bytes of a SHA-256 digest. */
export const HASHLEN = 32

/** An X25519 key pair: the private key stays opaque (a `KeyObject` in Node), the public key is raw bytes as Noise sends them. */
export interface KeyPair {
  readonly privateKey: PrivateKey
  /** The 32-byte X25519 public key. */
  readonly publicKey: Uint8Array
}

/** A fresh random X25519 key pair. */
export function generateKeyPair (): KeyPair {
  const privateKey = generateX25519()
  return { privateKey, publicKey: publicKeyOf(privateKey) }
}

/** The key pair of a raw 32-byte X25519 private key (test vectors, key files). */
export function keyPairFromPrivateKey (raw: Uint8Array): KeyPair {
  if (raw.length !== DHLEN) throw new RangeError(`X25519 private key must be ${DHLEN} bytes, got ${raw.length}`)
  return keyPairFromKeyObject(x25519FromSecret(raw))
}

/** The key pair of an X25519 private key. */
export function keyPairFromKeyObject (privateKey: PrivateKey): KeyPair {
  if (!isPrivateKey(privateKey) || privateKeyKind(privateKey) !== 'x25519') {
    throw new TypeError('expected an X25519 private key')
  }
  return { privateKey, publicKey: publicKeyOf(privateKey) }
}

/**
 * DH(key pair, public key) of the Noise spec.
 * @throws NoiseHandshakeError for a public key of the wrong size or a low-order point (all-zero output)
 */
export function dh (local: KeyPair, remotePublicKey: Uint8Array): Buffer {
  if (remotePublicKey.length !== DHLEN) throw new NoiseHandshakeError(`public key must be ${DHLEN} bytes, got ${remotePublicKey.length}`)
  try {
    return x25519(local.privateKey, remotePublicKey)
  } catch {
    // Both platforms refuse an all-zero shared secret, which only a low-order public key produces.
    throw new NoiseHandshakeError('invalid remote public key (low-order point)')
  }
}

/** HASH(data) */
export const hash = sha256

const ONE = Uint8Array.of(1)
const TWO = Uint8Array.of(2)

/** HKDF(chaining_key, input_key_material, 2) of the Noise spec. */
export function hkdf2 (chainingKey: Uint8Array, inputKeyMaterial: Uint8Array): [Buffer, Buffer] {
  const tempKey = hmacSha256(chainingKey, inputKeyMaterial)
  const output1 = hmacSha256(tempKey, ONE)
  return [output1, hmacSha256(tempKey, output1, TWO)]
}

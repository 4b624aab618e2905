/**
 * The three Noise primitives of `Noise_XX_25519_ChaChaPoly_SHA256`, each a
 * thin wrapper over Node's built-in `crypto`: X25519 key pairs and DH,
 * SHA-256 / HMAC-SHA256 and the Noise HKDF built from them. No primitive is
 * implemented here; only the Noise conventions (raw 32-byte keys, HKDF
 * output counts) are.
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { NoiseHandshakeError } from '../../errors.js'

/** DHLEN: bytes of an X25519 public key and of a DH output. */
export const DHLEN = 32
/** HASHLEN: bytes of a SHA-256 digest. */
export const HASHLEN = 32

/** An X25519 key pair: the private key stays a `KeyObject`, the public key is raw bytes as Noise sends them. */
export interface KeyPair {
  readonly privateKey: KeyObject
  /** The 32-byte X25519 public key. */
  readonly publicKey: Uint8Array
}

// RFC 8410 PKCS#8 wrapping of a raw X25519 private key: Node has no raw import for it.
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')

function rawPublicKey (key: KeyObject): Uint8Array {
  const { x } = key.export({ format: 'jwk' })
  return Buffer.from(x as string, 'base64url')
}

/** A fresh random X25519 key pair. */
export function generateKeyPair (): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519')
  return { privateKey, publicKey: rawPublicKey(publicKey) }
}

/** The key pair of a raw 32-byte X25519 private key (test vectors, key files). */
export function keyPairFromPrivateKey (raw: Uint8Array): KeyPair {
  if (raw.length !== DHLEN) throw new RangeError(`X25519 private key must be ${DHLEN} bytes, got ${raw.length}`)
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: 'der', type: 'pkcs8' })
  return keyPairFromKeyObject(privateKey)
}

/** The key pair of an X25519 private `KeyObject`. */
export function keyPairFromKeyObject (privateKey: KeyObject): KeyPair {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'x25519') {
    throw new TypeError('expected an X25519 private key')
  }
  return { privateKey, publicKey: rawPublicKey(createPublicKey(privateKey)) }
}

/**
 * DH(key pair, public key) of the Noise spec.
 * @throws NoiseHandshakeError for a public key of the wrong size or a low-order point (all-zero output)
 */
export function dh (local: KeyPair, remotePublicKey: Uint8Array): Buffer {
  if (remotePublicKey.length !== DHLEN) throw new NoiseHandshakeError(`public key must be ${DHLEN} bytes, got ${remotePublicKey.length}`)
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(remotePublicKey).toString('base64url') }, format: 'jwk' })
  try {
    return diffieHellman({ privateKey: local.privateKey, publicKey })
  } catch {
    // OpenSSL refuses an all-zero shared secret, which only a low-order public key produces.
    throw new NoiseHandshakeError('invalid remote public key (low-order point)')
  }
}

/** HASH(data) */
export function hash (...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256')
  for (const part of parts) h.update(part)
  return h.digest()
}

function hmac (key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key)
  for (const part of parts) h.update(part)
  return h.digest()
}

const ONE = Uint8Array.of(1)
const TWO = Uint8Array.of(2)

/** HKDF(chaining_key, input_key_material, 2) of the Noise spec. */
export function hkdf2 (chainingKey: Uint8Array, inputKeyMaterial: Uint8Array): [Buffer, Buffer] {
  const tempKey = hmac(chainingKey, inputKeyMaterial)
  const output1 = hmac(tempKey, ONE)
  return [output1, hmac(tempKey, output1, TWO)]
}

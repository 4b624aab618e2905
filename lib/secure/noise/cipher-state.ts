/**
 * The Noise CipherState, for either of the standard Noise ciphers: a key
 * and a counter nonce. The 96-bit nonce is 32 zero bits then the 64-bit
 * counter, little-endian for ChaChaPoly and big-endian for AESGCM, as the
 * Noise spec fixes them. Transport messages go through `seal`/`open`, which
 * take a message as the pieces it is spread over and append what they
 * produce to a `Uint8ArrayList`: nothing is concatenated, and each piece is
 * one `update()` whose output is used as it is. A state may rekey itself
 * every `rekeyInterval` messages (Noise spec, section 11.3), which both
 * ends of a link do at the same message.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { aeadOpen, aeadSeal, TAG_BYTES } from '../../crypto/crypto.js'
import { IntegrityError, NonceExhaustedError } from '../../errors.js'
import type { NoiseCipher } from '../../types.js'

/** Bytes of an authentication tag. */
export const TAGLEN = TAG_BYTES
/** Bytes of a cipher key. */
export const KEYLEN = 32

/**
 * Transport messages a CipherState seals (or opens) before it refuses, so
 * that no nonce is ever reused: 2^53-1, the largest exact counter, far
 * below the 2^64-1 the Noise spec reserves.
 */
export const DEFAULT_MAX_NOISE_MESSAGES = Number.MAX_SAFE_INTEGER

export type { NoiseCipher }

/** The nonce REKEY encrypts under: 2^64-1, the one the spec reserves for it. */
const MAX_NONCE = Buffer.from('00000000ffffffffffffffff', 'hex')
const ZEROS = new Uint8Array(KEYLEN)

const NO_AD = new Uint8Array(0)
const TWO_POW_32 = 2 ** 32

/** One message's bytes: a buffer, or the pieces it is spread over, in order (a `Uint8ArrayList`, an array of views). */
export type Pieces = Uint8Array | Iterable<Uint8Array>

function piecesOf (bytes: Pieces): Iterable<Uint8Array> {
  return bytes instanceof Uint8Array ? [bytes] : bytes
}

export interface CipherStateOptions {
  /** Messages after which this state refuses to go on (`maxNoiseMessages`); at most 2^53-1, far below the 2^64-1 the spec reserves. */
  limit?: number
  /** @default 'ChaChaPoly' */
  cipher?: NoiseCipher
  /** Rekey after every this many messages; never when not set. */
  rekeyInterval?: number
}

export class CipherState {
  /** The nonce of the next message: also how many messages this state has sealed or opened. */
  n = 0
  readonly limit: number
  readonly cipher: NoiseCipher
  private key: Buffer | undefined
  private readonly rekeyInterval: number | undefined
  private readonly nonceBytes = Buffer.alloc(12)
  /** Where a tag split across two pieces of a received message is put back together. */
  private readonly tagBytes = Buffer.alloc(TAGLEN)

  /** @param key - 32 bytes, or none for the pass-through state of a handshake before its first DH */
  constructor (key?: Uint8Array, { limit = DEFAULT_MAX_NOISE_MESSAGES, cipher = 'ChaChaPoly', rekeyInterval }: CipherStateOptions = {}) {
    this.limit = limit
    this.cipher = cipher
    this.rekeyInterval = rekeyInterval
    if (key !== undefined) this.initializeKey(key)
  }

  initializeKey (key: Uint8Array): void {
    if (key.length !== KEYLEN) throw new RangeError(`cipher key must be ${KEYLEN} bytes, got ${key.length}`)
    this.key = Buffer.from(key)
    this.n = 0
  }

  hasKey (): boolean {
    return this.key !== undefined
  }

  /** ENCRYPT with associated data, as the handshake uses it; without a key the plaintext passes unchanged. */
  encryptWithAd (ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.key === undefined) return plaintext
    const out = new Uint8ArrayList()
    this.encrypt(ad, plaintext, plaintext.length, out)
    return out.subarray()
  }

  /**
   * DECRYPT with associated data; without a key the ciphertext passes unchanged.
   * @throws IntegrityError when authentication fails (the nonce is then not used up)
   */
  decryptWithAd (ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.key === undefined) return ciphertext
    const out = new Uint8ArrayList()
    this.decrypt(ad, ciphertext, out)
    return out.subarray()
  }

  /**
   * Encrypts one transport message (no associated data), appending the
   * ciphertext, piece for piece, and then the tag to `out`.
   * @throws NonceExhaustedError once `limit` messages have been sealed
   */
  seal (plaintext: Pieces, out: Uint8ArrayList): void {
    this.encrypt(NO_AD, plaintext, 0, out)
  }

  /**
   * Decrypts and authenticates one transport message, appending its
   * plaintext to `out` (a new list by default), which it returns. Nothing
   * is appended unless the whole message is authentic.
   * @throws IntegrityError, NonceExhaustedError
   */
  open (ciphertext: Uint8Array | Uint8ArrayList, out: Uint8ArrayList = new Uint8ArrayList()): Uint8ArrayList {
    this.decrypt(NO_AD, ciphertext, out)
    return out
  }

  private requireKey (): Buffer {
    if (this.key === undefined) throw new TypeError('cipher state has no key')
    return this.key
  }

  /** REKEY(k): the first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zeros). The nonce counter goes on. */
  rekey (): void {
    const out = new Uint8ArrayList()
    aeadSeal(this.cipher, this.requireKey(), MAX_NONCE, NO_AD, KEYLEN, [ZEROS], out)
    this.key = Buffer.from(out.subarray(0, KEYLEN))
  }

  private nextNonce (): Buffer {
    if (this.n >= this.limit) throw new NonceExhaustedError(this.limit)
    if (this.cipher === 'ChaChaPoly') {
      this.nonceBytes.writeUInt32LE(this.n % TWO_POW_32, 4)
      this.nonceBytes.writeUInt32LE(Math.floor(this.n / TWO_POW_32), 8)
    } else {
      this.nonceBytes.writeUInt32BE(Math.floor(this.n / TWO_POW_32), 4)
      this.nonceBytes.writeUInt32BE(this.n % TWO_POW_32, 8)
    }
    return this.nonceBytes
  }

  /** Counts a message sealed or opened, rekeying at every `rekeyInterval`. */
  private advance (): void {
    this.n++
    if (this.rekeyInterval !== undefined && this.n % this.rekeyInterval === 0) this.rekey()
  }

  /** `plaintextLength` only matters with associated data, which only the handshake has. */
  private encrypt (ad: Uint8Array, plaintext: Pieces, plaintextLength: number, out: Uint8ArrayList): void {
    aeadSeal(this.cipher, this.requireKey(), this.nextNonce(), ad, plaintextLength, piecesOf(plaintext), out)
    this.advance()
  }

  private decrypt (ad: Uint8Array, ciphertext: Uint8Array | Uint8ArrayList, out: Uint8ArrayList): void {
    const key = this.requireKey()
    if (!aeadOpen(this.cipher, key, this.nextNonce(), ad, ciphertext, out, this.tagBytes)) throw new IntegrityError()
    this.advance()
  }
}

/**
 * The Noise CipherState for ChaChaPoly: a key and a counter nonce. The
 * 96-bit nonce is 32 zero bits then the 64-bit counter, little-endian, as
 * the Noise spec fixes for ChaChaPoly. Transport messages go through
 * `seal`/`open`, which take and give `Uint8ArrayList`s so a batch spread
 * over several buffers is encrypted without first being concatenated.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { DEFAULT_MAX_NOISE_MESSAGES } from '../constants.js'
import { IntegrityError, NonceExhaustedError } from '../errors.js'

/** Bytes of a ChaChaPoly authentication tag. */
export const TAGLEN = 16
/** Bytes of a ChaChaPoly key. */
export const KEYLEN = 32

const ALGORITHM = 'chacha20-poly1305'
const NO_AD = new Uint8Array(0)
const TWO_POW_32 = 2 ** 32

type Bytes = Uint8Array | Uint8ArrayList

function forEachPiece (bytes: Bytes, fn: (piece: Uint8Array) => void): void {
  if (bytes instanceof Uint8Array) fn(bytes)
  else for (const piece of bytes) fn(piece)
}

export class CipherState {
  /** The nonce of the next message: also how many messages this state has sealed or opened. */
  n = 0
  private key: Buffer | undefined
  private readonly nonceBytes = Buffer.alloc(12)

  /**
   * @param key - 32 bytes, or none for the pass-through state of a handshake before its first DH
   * @param limit - messages after which this state refuses to go on (`maxNoiseMessages`); at most 2^53-1, far below the 2^64-1 the spec reserves
   */
  constructor (key?: Uint8Array, readonly limit: number = DEFAULT_MAX_NOISE_MESSAGES) {
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
    this.encrypt(this.key, ad, plaintext, out)
    return out.subarray()
  }

  /**
   * DECRYPT with associated data; without a key the ciphertext passes unchanged.
   * @throws IntegrityError when authentication fails (the nonce is then not used up)
   */
  decryptWithAd (ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.key === undefined) return ciphertext
    return this.decrypt(this.key, ad, ciphertext).subarray()
  }

  /**
   * Encrypts one transport message (no associated data), appending the
   * ciphertext pieces and the tag to `out`.
   * @throws NonceExhaustedError once `limit` messages have been sealed
   */
  seal (plaintext: Bytes, out: Uint8ArrayList): void {
    this.encrypt(this.requireKey(), NO_AD, plaintext, out)
  }

  /**
   * Decrypts and authenticates one transport message. Nothing is returned
   * unless the whole message is authentic.
   * @throws IntegrityError, NonceExhaustedError
   */
  open (ciphertext: Bytes): Uint8ArrayList {
    return this.decrypt(this.requireKey(), NO_AD, ciphertext)
  }

  private requireKey (): Buffer {
    if (this.key === undefined) throw new TypeError('cipher state has no key')
    return this.key
  }

  private nextNonce (): Buffer {
    if (this.n >= this.limit) throw new NonceExhaustedError(this.limit)
    this.nonceBytes.writeUInt32LE(this.n % TWO_POW_32, 4)
    this.nonceBytes.writeUInt32LE(Math.floor(this.n / TWO_POW_32), 8)
    return this.nonceBytes
  }

  private encrypt (key: Buffer, ad: Uint8Array, plaintext: Bytes, out: Uint8ArrayList): void {
    const cipher = createCipheriv(ALGORITHM, key, this.nextNonce(), { authTagLength: TAGLEN })
    // Transport messages have no associated data: one native call less per message.
    if (ad.length > 0) cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
    forEachPiece(plaintext, piece => { if (piece.length > 0) out.append(cipher.update(piece)) })
    cipher.final()
    out.append(cipher.getAuthTag())
    this.n++
  }

  private decrypt (key: Buffer, ad: Uint8Array, ciphertext: Bytes): Uint8ArrayList {
    const nonce = this.nextNonce()
    const bodyLength = ciphertext.byteLength - TAGLEN
    if (bodyLength < 0) throw new IntegrityError()
    const list = ciphertext instanceof Uint8Array ? new Uint8ArrayList(ciphertext) : ciphertext
    const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAGLEN })
    decipher.setAuthTag(list.subarray(bodyLength))
    if (ad.length > 0) decipher.setAAD(ad, { plaintextLength: bodyLength })
    const out = new Uint8ArrayList()
    forEachPiece(list.sublist(0, bodyLength), piece => { if (piece.length > 0) out.append(decipher.update(piece)) })
    try {
      decipher.final()
    } catch {
      throw new IntegrityError()
    }
    this.n++
    return out
  }
}

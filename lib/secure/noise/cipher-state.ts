/**
 * The Noise CipherState for ChaChaPoly: a key and a counter nonce. The
 * 96-bit nonce is 32 zero bits then the 64-bit counter, little-endian, as
 * the Noise spec fixes for ChaChaPoly. Transport messages go through
 * `seal`/`open`, which take a message as the pieces it is spread over and
 * append what they produce to a `Uint8ArrayList`: nothing is concatenated,
 * and each piece is one `update()` whose output is used as it is.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { IntegrityError, NonceExhaustedError } from '../../errors.js'

/** Bytes of a ChaChaPoly authentication tag. */
export const TAGLEN = 16
/** Bytes of a ChaChaPoly key. */
export const KEYLEN = 32

/**
 * Transport messages a CipherState seals (or opens) before it refuses, so
 * that no nonce is ever reused: 2^53-1, the largest exact counter, far
 * below the 2^64-1 the Noise spec reserves.
 */
export const DEFAULT_MAX_NOISE_MESSAGES = Number.MAX_SAFE_INTEGER

const ALGORITHM = 'chacha20-poly1305'
const CIPHER_OPTIONS = { authTagLength: TAGLEN }
const NO_AD = new Uint8Array(0)
const TWO_POW_32 = 2 ** 32

/** One message's bytes: a buffer, or the pieces it is spread over, in order (a `Uint8ArrayList`, an array of views). */
export type Pieces = Uint8Array | Iterable<Uint8Array>

function piecesOf (bytes: Pieces): Iterable<Uint8Array> {
  return bytes instanceof Uint8Array ? [bytes] : bytes
}

export class CipherState {
  /** The nonce of the next message: also how many messages this state has sealed or opened. */
  n = 0
  private key: Buffer | undefined
  private readonly nonceBytes = Buffer.alloc(12)
  /** Where a tag split across two pieces of a received message is put back together. */
  private readonly tagBytes = Buffer.alloc(TAGLEN)

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

  private nextNonce (): Buffer {
    if (this.n >= this.limit) throw new NonceExhaustedError(this.limit)
    this.nonceBytes.writeUInt32LE(this.n % TWO_POW_32, 4)
    this.nonceBytes.writeUInt32LE(Math.floor(this.n / TWO_POW_32), 8)
    return this.nonceBytes
  }

  /** `plaintextLength` only matters with associated data (`setAAD`), which only the handshake has. */
  private encrypt (ad: Uint8Array, plaintext: Pieces, plaintextLength: number, out: Uint8ArrayList): void {
    const cipher = createCipheriv(ALGORITHM, this.requireKey(), this.nextNonce(), CIPHER_OPTIONS)
    // Transport messages have no associated data: one native call less per message.
    if (ad.length > 0) cipher.setAAD(ad, { plaintextLength })
    for (const piece of piecesOf(plaintext)) {
      if (piece.length > 0) out.append(cipher.update(piece))
    }
    cipher.final()
    out.append(cipher.getAuthTag())
    this.n++
  }

  /**
   * One pass over the ciphertext's pieces: the body goes to `update()` as
   * it lies, the last `TAGLEN` bytes are the tag (a view of one piece, or
   * put together in `tagBytes` when split across two).
   */
  private decrypt (ad: Uint8Array, ciphertext: Uint8Array | Uint8ArrayList, out: Uint8ArrayList): void {
    const key = this.requireKey()
    const nonce = this.nextNonce()
    const bodyLength = ciphertext.byteLength - TAGLEN
    if (bodyLength < 0) throw new IntegrityError()
    const decipher = createDecipheriv(ALGORITHM, key, nonce, CIPHER_OPTIONS)
    if (ad.length > 0) decipher.setAAD(ad, { plaintextLength: bodyLength })
    const plaintext: Buffer[] = []
    let body = bodyLength
    let tag: Uint8Array = this.tagBytes
    let tagFill = 0
    for (const piece of piecesOf(ciphertext)) {
      const inBody = Math.min(body, piece.length)
      if (inBody > 0) {
        plaintext.push(decipher.update(inBody === piece.length ? piece : piece.subarray(0, inBody)))
        body -= inBody
      }
      const inTag = piece.length - inBody
      if (inTag === 0) continue
      if (inTag === TAGLEN) tag = inBody === 0 ? piece : piece.subarray(inBody)
      else this.tagBytes.set(piece.subarray(inBody), tagFill)
      tagFill += inTag
    }
    // ChaChaPoly takes the tag any time before final().
    decipher.setAuthTag(tag)
    try {
      decipher.final()
    } catch {
      throw new IntegrityError()
    }
    this.n++
    for (const piece of plaintext) out.append(piece)
  }
}

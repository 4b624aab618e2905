/**
 * The secure channel on the wire, and its stream transforms. After the
 * Noise handshake every Noise message (handshake or transport) travels as
 *
 *   <length: 2 bytes, big-endian> <message: length bytes, at most 65535>
 *
 * framed by `it-length-prefixed` with a fixed 2-byte length coder. A
 * transport message is the AESGCM or ChaChaPoly ciphertext of up to 65519
 * plaintext bytes plus its 16-byte tag; the nonce is the message's position in its
 * direction, so a reordered, replayed or dropped message fails to
 * authenticate. The plaintext is the line protocol, unchanged.
 */
import * as lp from 'it-length-prefixed'
import type { LengthDecoderFunction, LengthEncoderFunction } from 'it-length-prefixed'
import { Uint8ArrayList } from 'uint8arraylist'
import { TruncatedFrameError } from '../errors.js'
import { CipherState, TAGLEN } from './noise/index.js'
import { checkArgument } from '../../transforms/core/option-table.js'
import type { ByteChunk } from '../../transforms/core/bytes.js'

/** Largest Noise message, in bytes (Noise spec, section 3). */
export const NOISE_MAX_MESSAGE = 65535
/** Largest plaintext of one transport message, in bytes: the maximum minus the tag. */
export const NOISE_MAX_PLAINTEXT = NOISE_MAX_MESSAGE - TAGLEN
/** Bytes of the length prefix. */
export const NOISE_LENGTH_BYTES = 2
/**
 * The first byte a Noise initiator sends: the high byte of the length of
 * handshake message 1 (a key and a short offer, under 256 bytes). A line of the plaintext
 * protocol never starts with NUL, which is how a listener tells them apart.
 */
export const NOISE_FIRST_BYTE = 0x00
/** Bound into the handshake hash: both sides must speak this framing of the line protocol. */
export const NOISE_PROLOGUE: Uint8Array = new TextEncoder().encode('meshline-noise/1')

/** Writes a message length as 2 bytes, big-endian, at `offset` of `bytes`. */
function writeNoiseLength (bytes: Uint8Array, offset: number, length: number): void {
  bytes[offset] = length >>> 8
  bytes[offset + 1] = length & 0xff
}

/** Writes a length as 2 bytes, big-endian. */
export const noiseLengthEncoder: LengthEncoderFunction = Object.assign((length: number) => {
  const bytes = new Uint8Array(NOISE_LENGTH_BYTES)
  writeNoiseLength(bytes, 0, length)
  return bytes
}, { bytes: NOISE_LENGTH_BYTES })

/** Reads a 2-byte big-endian length; a RangeError tells `it-length-prefixed` to wait for more bytes. */
export const noiseLengthDecoder: LengthDecoderFunction = Object.assign((data: Uint8ArrayList) => {
  if (data.byteLength < NOISE_LENGTH_BYTES) throw new RangeError('length prefix incomplete')
  // Byte by byte: `getUint16` would make a subarray and a DataView for every message.
  return (data.get(0) << 8) | data.get(1)
}, { bytes: NOISE_LENGTH_BYTES })

const FRAMING = { lengthEncoder: noiseLengthEncoder, lengthDecoder: noiseLengthDecoder, maxDataLength: NOISE_MAX_MESSAGE }

/** One Noise message with its length prefix, ready to write. */
export function frameNoiseMessage (message: Uint8Array | Uint8ArrayList): Uint8ArrayList {
  return lp.encode.single(message, FRAMING)
}

/**
 * Seals a batch of plaintext into as few transport messages as possible
 * (one per 65519 bytes), each framed, in one list: no byte is copied
 * before encryption, and the batch leaves as one write. One pass over the
 * batch's pieces: each message is the views of the pieces it spans, and
 * the length prefixes of all the messages share one small buffer.
 * @throws NonceExhaustedError
 */
export function sealBatch (cipher: CipherState, batch: ByteChunk): Uint8ArrayList {
  const out = new Uint8ArrayList()
  let unsealed = batch.byteLength
  const prefixes = Buffer.allocUnsafe(NOISE_LENGTH_BYTES * Math.ceil(unsealed / NOISE_MAX_PLAINTEXT))
  let prefix = 0
  /** Plaintext bytes of the message being put together, and how many it still needs. */
  let size = 0
  let missing = 0
  let message: Uint8Array[] = []
  const pieces = batch instanceof Uint8Array ? [batch] : batch
  for (const piece of pieces) {
    for (let at = 0; at < piece.length;) {
      if (missing === 0) {
        size = missing = Math.min(unsealed, NOISE_MAX_PLAINTEXT)
        message = []
      }
      const take = Math.min(missing, piece.length - at)
      message.push(take === piece.length ? piece : piece.subarray(at, at + take))
      at += take
      missing -= take
      unsealed -= take
      if (missing === 0) {
        writeNoiseLength(prefixes, prefix, size + TAGLEN)
        out.append(prefixes.subarray(prefix, prefix + NOISE_LENGTH_BYTES))
        prefix += NOISE_LENGTH_BYTES
        cipher.seal(message, out)
      }
    }
  }
  return out
}

/**
 * A transform from bytes to Noise messages (zero-copy views), each at most
 * 65535 bytes by construction of the 2-byte length.
 * @throws TruncatedFrameError when the stream ends inside a message
 */
export function noiseFramer () {
  return frameNoise
}

// The transforms here are one generator function each for every link: one made per link would give each
// link's generators a prototype and hidden classes of their own (see `runCore` in core/sync-transform.ts).
async function * frameNoise (source: AsyncIterable<ByteChunk>): AsyncGenerator<Uint8ArrayList> {
  try {
    yield * lp.decode(source, FRAMING)
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_UNEXPECTED_EOF') throw new TruncatedFrameError('inside a Noise message')
    throw err
  }
}

/** A transform from plaintext batches to framed transport messages: one output chunk per input batch. */
export function encryptStream (cipher: CipherState) {
  checkArgument('cipher', 'a CipherState', cipher, value => value instanceof CipherState)
  return (source: AsyncIterable<ByteChunk>): AsyncGenerator<Uint8ArrayList> => encrypt(source, cipher)
}

async function * encrypt (source: AsyncIterable<ByteChunk>, cipher: CipherState): AsyncGenerator<Uint8ArrayList> {
  for await (const batch of source) {
    if (batch.byteLength > 0) yield sealBatch(cipher, batch)
  }
}

/**
 * A transform from transport messages (as `noiseFramer` yields them) to
 * plaintext. A message is yielded only once it has authenticated whole.
 * @throws IntegrityError, NonceExhaustedError
 */
export function decryptStream (cipher: CipherState) {
  checkArgument('cipher', 'a CipherState', cipher, value => value instanceof CipherState)
  return (source: AsyncIterable<Uint8ArrayList>): AsyncGenerator<Uint8ArrayList> => decrypt(source, cipher)
}

async function * decrypt (source: AsyncIterable<Uint8ArrayList>, cipher: CipherState): AsyncGenerator<Uint8ArrayList> {
  for await (const message of source) {
    const plaintext = cipher.open(message)
    // An empty message authenticates but carries nothing for the stages above.
    if (plaintext.byteLength > 0) yield plaintext
  }
}

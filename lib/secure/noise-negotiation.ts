/**
 * How two meshline nodes agree on a Noise cipher and a rekey interval,
 * inside the XX handshake itself (no round trip of its own):
 *
 *   message 1 payload  `mlo1 <cipher> <rekeyInterval>`  the initiator's offer
 *   message 2 payload  `mla1 <cipher> <rekeyInterval>`  the responder's answer
 *
 * The initiator runs the handshake as `Noise_XX_25519_<cipher>_SHA256` of
 * the cipher it offers. A responder that speaks it runs the same protocol
 * and answers with the rekey interval both will use; one that does not (or
 * an earlier meshline node, which ignores the payload) runs ChaChaPoly, so
 * the initiator fails to read message 2 and dials again offering
 * ChaChaPoly, which every meshline node speaks. An initiator that sends no
 * payload (an earlier meshline node) gets ChaChaPoly and no rekeying. The
 * payloads are bound into the handshake hash (message 2's is encrypted), so
 * neither can be changed on the way.
 */
import type { NoiseCipher } from './noise/index.js'

/** The cipher every meshline node speaks, and falls back to. */
export const BASELINE_CIPHER: NoiseCipher = 'ChaChaPoly'
/** The ciphers this implementation speaks, in the order it prefers them: AESGCM first, for the AES instructions of current CPUs. */
export const NOISE_CIPHERS: readonly NoiseCipher[] = ['AESGCM', 'ChaChaPoly']

const OFFER = 'mlo1'
const ANSWER = 'mla1'
const utf8 = new TextEncoder()
const ascii = new TextDecoder('latin1')

/** What one side proposes or answers: a cipher and a rekey interval in messages (0: never). */
export interface NoiseTerms {
  cipher: NoiseCipher
  rekeyInterval: number
}

function encode (word: string, { cipher, rekeyInterval }: NoiseTerms): Uint8Array {
  return utf8.encode(`${word} ${cipher} ${rekeyInterval}`)
}

function parse (word: string, payload: Uint8Array): NoiseTerms | undefined {
  const [head, cipher, interval, ...rest] = ascii.decode(payload).split(' ')
  if (head !== word || rest.length > 0 || !NOISE_CIPHERS.includes(cipher as NoiseCipher) || !/^[0-9]{1,16}$/.test(interval ?? '')) return undefined
  return { cipher: cipher as NoiseCipher, rekeyInterval: Number(interval) }
}

/** Message 1's payload: the initiator's offer. */
export function encodeOffer (terms: NoiseTerms): Uint8Array {
  return encode(OFFER, terms)
}

/** The offer in message 1's payload; `undefined` for an empty or unknown payload (an earlier meshline node's). */
export function parseOffer (payload: Uint8Array): NoiseTerms | undefined {
  return parse(OFFER, payload)
}

/** Message 2's payload: the terms both sides use. */
export function encodeAnswer (terms: NoiseTerms): Uint8Array {
  return encode(ANSWER, terms)
}

/** The answer in message 2's payload; `undefined` for an empty or unknown one. */
export function parseAnswer (payload: Uint8Array): NoiseTerms | undefined {
  return parse(ANSWER, payload)
}

/**
 * The responder's terms for an offer: the offered cipher if it speaks it
 * (else the baseline, which makes the initiator try again), and the
 * shorter of two rekey intervals, 0 only when neither side rekeys.
 */
export function answerTo (offer: NoiseTerms | undefined, ciphers: readonly NoiseCipher[], rekeyInterval: number): NoiseTerms {
  if (offer === undefined) return { cipher: BASELINE_CIPHER, rekeyInterval: 0 }
  const cipher = ciphers.includes(offer.cipher) ? offer.cipher : BASELINE_CIPHER
  const intervals = [offer.rekeyInterval, rekeyInterval].filter(interval => interval > 0)
  return { cipher, rekeyInterval: intervals.length === 0 ? 0 : Math.min(...intervals) }
}

/**
 * The Noise one-way pattern X, `Noise_X_25519_AESGCM_SHA256`: a sender that
 * knows the recipient's static key seals one message to it, proving its own
 * static key on the way:
 *
 *   <- s
 *   ...
 *   -> e, es, s, ss
 *
 * Only the holder of the recipient's private key can open it, and opening
 * it proves that the holder of the returned sender key wrote it. Like every
 * one-way pattern it has no replay protection of its own: the caller binds
 * what must not change into the prologue and refuses repeats itself.
 */
import { TAGLEN } from './cipher-state.js'
import { DHLEN, dh, generateKeyPair, type KeyPair } from './primitives.js'
import { SymmetricState } from './symmetric-state.js'
import { NoiseHandshakeError } from '../../errors.js'

export const ONE_WAY_PROTOCOL_NAME = 'Noise_X_25519_AESGCM_SHA256'
/** Bytes a sealed message adds to its payload: `e`, the encrypted `s` and the payload's tag. */
export const ONE_WAY_OVERHEAD = DHLEN + DHLEN + TAGLEN + TAGLEN

export interface SealOptions {
  /** Bytes both sides must agree on, authenticated with the message but not sent in it. */
  prologue: Uint8Array
  /** A fixed ephemeral key pair, for test vectors only. @default a fresh random one */
  ephemeralKeyPair?: KeyPair
}

function initialized (prologue: Uint8Array, recipientStaticKey: Uint8Array): SymmetricState {
  const state = new SymmetricState(ONE_WAY_PROTOCOL_NAME, 'AESGCM')
  state.mixHash(prologue)
  state.mixHash(recipientStaticKey)
  return state
}

/** Seals `payload` to the holder of `recipientStaticKey`, from `sender`. */
export function sealOneWay (sender: KeyPair, recipientStaticKey: Uint8Array, payload: Uint8Array, options: SealOptions): Uint8Array {
  const state = initialized(options.prologue, recipientStaticKey)
  const e = options.ephemeralKeyPair ?? generateKeyPair()
  state.mixHash(e.publicKey)
  state.mixKey(dh(e, recipientStaticKey))
  const s = state.encryptAndHash(sender.publicKey)
  state.mixKey(dh(sender, recipientStaticKey))
  return Buffer.concat([e.publicKey, s, state.encryptAndHash(payload)])
}

/**
 * Opens a message sealed to `recipient`.
 * @returns the payload and the sender's proven static key
 * @throws NoiseHandshakeError for a short message or an invalid key, IntegrityError when it was not sealed to this key with this prologue, or was altered
 */
export function openOneWay (recipient: KeyPair, message: Uint8Array, prologue: Uint8Array): { payload: Uint8Array, senderStaticKey: Uint8Array } {
  if (message.length < ONE_WAY_OVERHEAD) throw new NoiseHandshakeError(`a sealed message is ${message.length} bytes, expected at least ${ONE_WAY_OVERHEAD}`)
  const state = initialized(prologue, recipient.publicKey)
  const re = message.subarray(0, DHLEN)
  state.mixHash(re)
  state.mixKey(dh(recipient, re))
  const senderStaticKey = state.decryptAndHash(message.subarray(DHLEN, DHLEN + DHLEN + TAGLEN))
  state.mixKey(dh(recipient, senderStaticKey))
  return { payload: state.decryptAndHash(message.subarray(DHLEN + DHLEN + TAGLEN)), senderStaticKey }
}

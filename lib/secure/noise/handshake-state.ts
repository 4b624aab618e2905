/**
 * The Noise HandshakeState for the XX pattern, both roles:
 *
 *   -> e
 *   <- e, ee, s, es
 *   -> s, se
 *
 * Synchronous and pure apart from key generation: it turns payloads into
 * handshake messages and back, and after the third message `split()` gives
 * the transport CipherStates. A message that fails to read fails the whole
 * handshake (Noise spec, section 5).
 */
import { type CipherState, type NoiseCipher, TAGLEN } from './cipher-state.js'
import { DHLEN, dh, generateKeyPair, type KeyPair } from './primitives.js'
import { SymmetricState } from './symmetric-state.js'
import { NoiseHandshakeError } from '../../errors.js'

/** The Noise protocol of each cipher this implementation speaks. */
export const NOISE_PROTOCOL_NAMES: Record<NoiseCipher, string> = {
  ChaChaPoly: 'Noise_XX_25519_ChaChaPoly_SHA256',
  AESGCM: 'Noise_XX_25519_AESGCM_SHA256'
}

/** Messages of the XX pattern. */
const MESSAGES = 3
/** Smallest length of each XX message with an empty payload, in bytes. */
const MIN_LENGTH = [DHLEN, DHLEN + DHLEN + TAGLEN + TAGLEN, DHLEN + TAGLEN + TAGLEN] as const
const EMPTY = new Uint8Array(0)

export interface XXHandshakeOptions {
  initiator: boolean
  /** The long-term key pair proven to the peer. */
  staticKeyPair: KeyPair
  /** Bytes both sides must agree on, bound into the handshake hash. @default empty */
  prologue?: Uint8Array
  /** A fixed ephemeral key pair, for test vectors only. @default a fresh random one */
  ephemeralKeyPair?: KeyPair
  /** Passed to the transport CipherStates as their message limit. */
  maxMessages?: number
  /** The cipher functions: the protocol is `Noise_XX_25519_<cipher>_SHA256`. @default 'ChaChaPoly' */
  cipher?: NoiseCipher
}

export class XXHandshake {
  readonly initiator: boolean
  /** The peer's static public key, once its message carrying it has been read. */
  remoteStaticKey: Uint8Array | undefined
  readonly cipher: NoiseCipher
  private readonly symmetric: SymmetricState
  private readonly s: KeyPair
  private e: KeyPair | undefined
  private re: Uint8Array | undefined
  /** Index of the next message, 0 to 3. */
  private position = 0
  private failed = false

  constructor (private readonly opts: XXHandshakeOptions) {
    this.initiator = opts.initiator
    this.cipher = opts.cipher ?? 'ChaChaPoly'
    this.symmetric = new SymmetricState(NOISE_PROTOCOL_NAMES[this.cipher], this.cipher)
    this.s = opts.staticKeyPair
    this.symmetric.mixHash(opts.prologue ?? EMPTY)
  }

  /** Whether all three messages have been written or read. */
  get complete (): boolean {
    return this.position === MESSAGES
  }

  /** The handshake hash (channel binding); only final once `complete`. */
  get handshakeHash (): Uint8Array {
    return this.symmetric.handshakeHash
  }

  /** Writes the next message, carrying `payload` (encrypted once a key exists). */
  writeMessage (payload: Uint8Array = EMPTY): Uint8Array {
    this.checkTurn(true)
    const parts: Uint8Array[] = []
    const sym = this.symmetric
    // Message 1 is `e`; 2 is `e, ee, s, es`; 3 is `s, se`. After `s` comes DH(our s, their e) either way.
    if (this.position < 2) parts.push(this.writeEphemeral()) // e
    if (this.position === 1) sym.mixKey(dh(this.e as KeyPair, this.re as Uint8Array)) // ee
    if (this.position > 0) { // s, then es (responder) or se (initiator)
      parts.push(sym.encryptAndHash(this.s.publicKey))
      sym.mixKey(dh(this.s, this.re as Uint8Array))
    }
    parts.push(sym.encryptAndHash(payload))
    this.position++
    return Buffer.concat(parts)
  }

  /**
   * Reads the peer's next message and returns its payload.
   * @throws NoiseHandshakeError for a short message or invalid key, IntegrityError for a failed authentication
   */
  readMessage (message: Uint8Array): Uint8Array {
    this.checkTurn(false)
    try {
      const minimum = MIN_LENGTH[this.position as 0 | 1 | 2]
      if (message.length < minimum) throw new NoiseHandshakeError(`handshake message ${this.position + 1} is ${message.length} bytes, expected at least ${minimum}`)
      const sym = this.symmetric
      let offset = 0
      // The tokens of `writeMessage`, read: after `s` comes DH(our e, their s).
      if (this.position < 2) { // e
        this.re = Buffer.from(message.subarray(0, DHLEN))
        sym.mixHash(this.re)
        offset = DHLEN
      }
      if (this.position === 1) sym.mixKey(dh(this.e as KeyPair, this.re as Uint8Array)) // ee
      if (this.position > 0) { // s, then es (initiator) or se (responder)
        this.remoteStaticKey = sym.decryptAndHash(message.subarray(offset, offset + DHLEN + TAGLEN))
        offset += DHLEN + TAGLEN
        sym.mixKey(dh(this.e as KeyPair, this.remoteStaticKey))
      }
      const payload = sym.decryptAndHash(message.subarray(offset))
      this.position++
      return payload
    } catch (err) {
      this.failed = true
      this.remoteStaticKey = undefined
      throw err
    }
  }

  /**
   * The transport CipherStates, as this side uses them, rekeying every
   * `rekeyInterval` messages if it is given.
   * @throws TypeError before the handshake is complete
   */
  split (rekeyInterval?: number): { send: CipherState, receive: CipherState } {
    if (!this.complete) throw new TypeError('the handshake is not complete')
    const [initiatorToResponder, responderToInitiator] = this.symmetric.split({ limit: this.opts.maxMessages, rekeyInterval })
    return this.initiator
      ? { send: initiatorToResponder, receive: responderToInitiator }
      : { send: responderToInitiator, receive: initiatorToResponder }
  }

  private writeEphemeral (): Uint8Array {
    this.e = this.opts.ephemeralKeyPair ?? generateKeyPair()
    this.symmetric.mixHash(this.e.publicKey)
    return this.e.publicKey
  }

  private checkTurn (writing: boolean): void {
    if (this.failed) throw new TypeError('the handshake has failed')
    if (this.complete) throw new TypeError('the handshake is complete')
    // The initiator writes messages 0 and 2, the responder message 1.
    const initiatorsTurn = this.position % 2 === 0
    if ((initiatorsTurn === this.initiator) !== writing) throw new TypeError(`not this side's turn to ${writing ? 'write' : 'read'}`)
  }
}

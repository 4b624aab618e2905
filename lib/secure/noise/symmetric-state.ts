/**
 * The Noise SymmetricState: the chaining key `ck`, the handshake hash `h`
 * and the CipherState they key, with the operations the handshake tokens
 * are made of.
 */
import { CipherState, type CipherStateOptions, type NoiseCipher } from './cipher-state.js'
import { HASHLEN, hash, hkdf2 } from './primitives.js'

const EMPTY = new Uint8Array(0)

export class SymmetricState {
  private ck: Uint8Array
  private h: Uint8Array
  private readonly cipher: CipherState

  /** InitializeSymmetric(protocol_name), where the protocol's cipher functions are `cipher`'s. */
  constructor (protocolName: string, cipher: NoiseCipher = 'ChaChaPoly') {
    this.cipher = new CipherState(undefined, { cipher })
    const name = Buffer.from(protocolName, 'utf8')
    this.h = name.length <= HASHLEN ? Buffer.concat([name], HASHLEN) : hash(name)
    this.ck = this.h
  }

  /** The handshake hash: binds everything sent so far; after the handshake it identifies the session. */
  get handshakeHash (): Uint8Array {
    return this.h
  }

  mixKey (inputKeyMaterial: Uint8Array): void {
    const [ck, key] = hkdf2(this.ck, inputKeyMaterial)
    this.ck = ck
    // HASHLEN is 32, the key size of both ciphers: no truncation.
    this.cipher.initializeKey(key)
  }

  mixHash (data: Uint8Array): void {
    this.h = hash(this.h, data)
  }

  encryptAndHash (plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cipher.encryptWithAd(this.h, plaintext)
    this.mixHash(ciphertext)
    return ciphertext
  }

  /** @throws IntegrityError, leaving `h` unchanged */
  decryptAndHash (ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.cipher.decryptWithAd(this.h, ciphertext)
    this.mixHash(ciphertext)
    return plaintext
  }

  /** The two transport CipherStates: initiator-to-responder first. */
  split (options: Omit<CipherStateOptions, 'cipher'> = {}): [CipherState, CipherState] {
    const [k1, k2] = hkdf2(this.ck, EMPTY)
    const transport = { ...options, cipher: this.cipher.cipher }
    return [new CipherState(k1, transport), new CipherState(k2, transport)]
  }
}

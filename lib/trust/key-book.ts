/**
 * The keys of other nodes, by id, each one checked against the id it is
 * for before it is kept: an id is the hash of an X25519 key, and a signing
 * key maps to exactly one X25519 key, so no node on the way can make
 * another node's id stand for its own key. Signing keys are kept imported
 * (in Node, importing one costs as much as a verification). At most
 * `maxKnownKeys` ids, the one used least recently forgotten first.
 */
import { ed25519VerificationKey, type VerificationKey } from '../crypto/crypto.js'
import { linkKeyOfSigningKey, nodeIdFromPublicKey } from '../secure/identity.js'

interface Keys {
  /** Ed25519, raw and imported. */
  signing?: { raw: Uint8Array, key: VerificationKey }
  /** X25519: what messages are sealed to. */
  link?: Uint8Array
}

export class KeyBook {
  private readonly keys = new Map<string, Keys>()

  constructor (private readonly maxKnownKeys: number) {}

  get size (): number {
    return this.keys.size
  }

  /**
   * The verification key of `id`, if `raw` is its signing key.
   * @returns undefined when `raw` is not the signing key of `id` (or no Ed25519 key at all)
   */
  signingKey (id: string, raw: Uint8Array): VerificationKey | undefined {
    const known = this.keys.get(id)
    if (known?.signing !== undefined && Buffer.compare(known.signing.raw, raw) === 0) return this.touch(id, known).signing?.key
    let link: Uint8Array
    try {
      link = linkKeyOfSigningKey(raw)
    } catch {
      return undefined
    }
    if (nodeIdFromPublicKey(link) !== id) return undefined
    const key = ed25519VerificationKey(raw)
    this.store(id, { signing: { raw: Uint8Array.from(raw), key }, link })
    return key
  }

  /** Learns the X25519 key of `id`. @returns false when it is not that id's key (and nothing is learnt) */
  learnLinkKey (id: string, link: Uint8Array): boolean {
    if (nodeIdFromPublicKey(link) !== id) return false
    const known = this.keys.get(id)
    if (known?.link !== undefined && Buffer.compare(known.link, link) === 0) return true
    this.store(id, { link: Uint8Array.from(link) })
    return true
  }

  /** The X25519 key of `id`, if known. */
  linkKey (id: string): Uint8Array | undefined {
    const known = this.keys.get(id)
    return known === undefined ? undefined : this.touch(id, known).link
  }

  private touch (id: string, keys: Keys): Keys {
    this.keys.delete(id)
    this.keys.set(id, keys)
    return keys
  }

  private store (id: string, keys: Keys): void {
    this.keys.delete(id)
    if (this.keys.size >= this.maxKnownKeys) this.keys.delete(this.keys.keys().next().value as string)
    this.keys.set(id, keys)
  }
}

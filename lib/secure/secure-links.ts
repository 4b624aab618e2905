/**
 * Secure-link setup: what happens to a raw transport, accepted or dialled,
 * before its line handshake. Per the `secure` mode it runs Noise (see
 * `secure.ts`) or lets a plaintext link through; it refuses keys off the
 * allowlist; and it pins what Noise proved: ids that keys have proven, so
 * that a plaintext peer cannot take over one, and addresses that answered
 * over Noise, so that a `preferred` dialer never falls back to plaintext
 * with them (no downgrade).
 */
import { AccessDeniedError, DowngradeRefusedError, IdentityMismatchError, IntegrityError, NoiseRefusedError, PlaintextPeerError, PlaintextRefusedError } from '../errors.js'
import { fingerprint, nodeIdFromPublicKey, publicKeyHex, type Identity } from './identity.js'
import type { Direction, LinkSecurity, PeerInfo, SecureMode } from '../types.js'
import { classifyInbound, secureTransport } from './secure-transport.js'
import { BASELINE_CIPHER } from './noise-negotiation.js'
import type { NoiseCipher } from './noise/index.js'
import type { Transport } from '../transport/transport.js'

/** A connection before its line handshake: the transport to run it over, and how it is secured. */
export interface SecuredLink {
  transport: Transport
  security: LinkSecurity
  /** The peer's static key, when `security` is `noise`. */
  publicKey: Uint8Array | undefined
  /** The Noise cipher, when `security` is `noise`. */
  cipher: NoiseCipher | undefined
  /** `outbound` when this node dialled it. */
  direction: Direction
}

/**
 * A peer refused for who it is: by the allowlist (after the Noise handshake
 * proved a key that is not on it, or at once for a plaintext peer,
 * `publicKey` undefined), or for a downgrade: a plaintext answer from a
 * pinned address, or a plaintext hello claiming an id a key has proven.
 */
export interface Denial {
  remoteAddress: string
  direction: Direction
  publicKey: string | undefined
  fingerprint: string | undefined
  error: AccessDeniedError | DowngradeRefusedError | IdentityMismatchError
}

/** The node's options that secure-link setup reads (see `MeshNodeOptions`). */
export interface SecureLinksOptions {
  /** This node's id. */
  id: string
  secure: SecureMode
  connectionTimeout: number
  secureProbeTimeout: number
  secureProbeFloor: number
  maxNoiseMessages: number
  /** The Noise ciphers this node speaks, the one it offers first. */
  noiseCiphers: readonly NoiseCipher[]
  /** Noise transport messages per direction between rekeys; 0 for never. */
  noiseRekeyMessages: number
  /** Bounds the table of ids that keys have proven. */
  maxKnownPeers: number
  /** This node's key pair; `undefined` only when `secure` is `off`. */
  identity: Identity | undefined
  /** Hex public keys of the only peers allowed; anyone when `undefined`. */
  allowlist: ReadonlySet<string> | undefined
  /** Whether the node still runs: a dial that fails once it has stopped is not tried again in plaintext. */
  running: () => boolean
  /** Told of every peer the allowlist refuses. */
  onDenied: (denial: Denial) => void
}

/** How a link is secured, as `PeerInfo` shows it. */
export function securityInfo (link: SecuredLink): Pick<PeerInfo, 'security' | 'cipher' | 'publicKey' | 'fingerprint'> {
  const key = link.publicKey
  return {
    security: link.security,
    cipher: link.cipher,
    publicKey: key === undefined ? undefined : publicKeyHex(key),
    fingerprint: key === undefined ? undefined : fingerprint(key)
  }
}

/**
 * Round trips a Noise peer is given to answer message 1, counted in the
 * time the dial itself took (about one round trip): it answers at once, so
 * silence for this long means a plaintext peer waiting for a hello line.
 */
const PROBE_ROUND_TRIPS = 8

export class SecureLinks {
  /** Ids proven over Noise, oldest first: a plaintext peer may not claim one. Bounded by `maxKnownPeers`. */
  private readonly keyBoundIds = new Set<string>()
  /** Addresses that answered over Noise when dialled, with the id proven there, oldest first. Bounded by `maxKnownPeers`. */
  private readonly pins = new Map<string, string>()
  /** Addresses whose Noise peer did not speak the cipher this node offers first: they are offered ChaChaPoly. Bounded by `maxKnownPeers`. */
  private readonly baselineOnly = new Set<string>()
  /** Transports still in their first byte or Noise handshake, so that `closePending()` can close them. */
  private readonly securing = new Set<Transport>()

  constructor (private readonly opts: SecureLinksOptions) {}

  /** An accepted transport up to a secured link: Noise or plaintext told apart by the first byte, Noise run as the responder. */
  async inbound (transport: Transport): Promise<SecuredLink> {
    return await this.tracked(transport, this.secureInbound(transport))
  }

  /**
   * A dial attempt up to a secured link, over transports from `open`.
   * `preferred` tries Noise first and falls back to plaintext only for a
   * peer that answered as a plaintext peer, on a new connection (message 1
   * garbled the first one for it). A silent peer is taken for a plaintext
   * one after `PROBE_ROUND_TRIPS` times the dial's own duration, within
   * `secureProbeFloor` and `secureProbeTimeout`. An address whose last link
   * was plaintext (`lastSecurity`) is dialled in plaintext at once.
   */
  async outbound (address: string, open: () => Promise<Transport>, lastSecurity: LinkSecurity | undefined): Promise<SecuredLink> {
    const { secure, secureProbeFloor, secureProbeTimeout } = this.opts
    const pinnedId = this.pins.get(address)
    const plaintextPeer = secure === 'preferred' && this.opts.allowlist === undefined && lastSecurity === 'plaintext' && pinnedId === undefined
    if (secure === 'off' || plaintextPeer) return this.plaintextLink(await open(), 'outbound')
    const dialStarted = performance.now()
    const transport = await open()
    const probeTimeout = Math.round(Math.min(secureProbeTimeout, Math.max(secureProbeFloor, PROBE_ROUND_TRIPS * (performance.now() - dialStarted))))
    const baseline = this.baselineOnly.has(address)
    try {
      return await this.tracked(transport, this.noiseLink(transport, 'outbound', probeTimeout, baseline))
    } catch (err) {
      // A Noise peer that does not speak the offered cipher ran ChaChaPoly, so message 2 did not authenticate: offer that.
      if (err instanceof IntegrityError && !baseline && this.opts.noiseCiphers[0] !== BASELINE_CIPHER && this.opts.running()) {
        this.remember(this.baselineOnly, address)
        return await this.outbound(address, open, lastSecurity)
      }
      if (!(err instanceof PlaintextPeerError) || !this.opts.running()) throw err
      if (secure === 'required') throw new PlaintextRefusedError({ cause: err })
      if (pinnedId !== undefined) throw this.denied(new DowngradeRefusedError(address, pinnedId, { cause: err }), address, 'outbound')
      // No second connection for a peer the allowlist would refuse anyway.
      if (this.opts.allowlist !== undefined) throw this.deny(address, 'outbound', undefined)
      return this.plaintextLink(await open(), 'outbound')
    }
  }

  /**
   * The id in a hello must be the one its link proves: over Noise, the id
   * of the proven key; over plaintext, none that a key has proven to this
   * node (its own included), or anyone could take over a known peer's id.
   * @throws IdentityMismatchError
   */
  checkClaimedId (claimed: string, link: SecuredLink): void {
    if (link.publicKey !== undefined) {
      const proven = nodeIdFromPublicKey(link.publicKey)
      if (claimed !== proven) throw new IdentityMismatchError(claimed, `the key proven over Noise gives id ${proven}`)
      return
    }
    if (this.opts.secure !== 'off' && (claimed === this.opts.id || this.keyBoundIds.has(claimed))) {
      const error = new IdentityMismatchError(claimed, 'that id belongs to a key proven over Noise, which a plaintext link cannot prove')
      throw this.denied(error, link.transport.remoteAddress, link.direction)
    }
  }

  /** Pins `address`, dialled and proven over Noise to be `id`'s: a `preferred` dialer never falls back to plaintext there. */
  pin (address: string, id: string): void {
    this.pins.delete(address)
    this.pins.set(address, id)
    this.trim(this.pins)
    this.remember(this.keyBoundIds, id)
  }

  /** The id pinned to `address`, if any. */
  pinnedId (address: string): string | undefined {
    return this.pins.get(address)
  }

  /** Remembers `id`, admitted over `link`, as proven when a key proved it, forgetting the oldest such id beyond `maxKnownPeers`. */
  bindId (id: string, link: SecuredLink): void {
    if (link.publicKey !== undefined) this.remember(this.keyBoundIds, id)
  }

  /** Closes every transport still being secured: the node is stopping. */
  closePending (): void {
    for (const transport of this.securing) transport.close()
  }

  private async secureInbound (transport: Transport): Promise<SecuredLink> {
    const { kind, transport: classified } = await classifyInbound(transport, this.opts.connectionTimeout)
    if (kind === 'plaintext') return this.plaintextLink(classified, 'inbound')
    if (this.opts.secure === 'off') throw new NoiseRefusedError()
    return await this.noiseLink(classified, 'inbound', undefined, false)
  }

  /** A plaintext link, if this node's mode and allowlist permit one. */
  private plaintextLink (transport: Transport, direction: Direction): SecuredLink {
    if (this.opts.secure === 'required') {
      transport.close()
      throw new PlaintextRefusedError()
    }
    if (this.opts.allowlist !== undefined) {
      transport.close()
      throw this.deny(transport.remoteAddress, direction, undefined)
    }
    return { transport, security: 'plaintext', publicKey: undefined, cipher: undefined, direction }
  }

  /**
   * Runs the Noise handshake (as initiator when dialling), checking the
   * proven key against the allowlist. A `preferred` dialer takes silence for
   * `probeTimeout` ms as a plaintext peer's answer; a `baseline` one offers
   * ChaChaPoly.
   */
  private async noiseLink (transport: Transport, direction: Direction, probeTimeout: number | undefined, baseline: boolean): Promise<SecuredLink> {
    const { connectionTimeout, secure, maxNoiseMessages, allowlist, noiseCiphers, noiseRekeyMessages } = this.opts
    const secured = await secureTransport(transport, {
      role: direction === 'outbound' ? 'initiator' : 'responder',
      identity: this.opts.identity as Identity,
      timeout: connectionTimeout,
      // Only `preferred` has a plaintext fallback to decide on quickly.
      probeTimeout: direction === 'outbound' && secure === 'preferred' ? probeTimeout : undefined,
      maxMessages: maxNoiseMessages,
      ciphers: baseline ? [BASELINE_CIPHER] : noiseCiphers,
      rekeyInterval: noiseRekeyMessages,
      verifyRemoteKey: key => {
        if (allowlist !== undefined && !allowlist.has(publicKeyHex(key))) throw this.deny(transport.remoteAddress, direction, key)
      }
    })
    return { transport: secured, security: 'noise', publicKey: secured.remotePublicKey, cipher: secured.cipher, direction }
  }

  private deny (remoteAddress: string, direction: Direction, key: Uint8Array | undefined): AccessDeniedError {
    return this.denied(new AccessDeniedError(key === undefined ? undefined : publicKeyHex(key)), remoteAddress, direction, key)
  }

  /** Tells of a refused peer; returns `error` to throw. */
  private denied<E extends Denial['error']> (error: E, remoteAddress: string, direction: Direction, key?: Uint8Array): E {
    this.opts.onDenied({ remoteAddress, direction, publicKey: key === undefined ? undefined : publicKeyHex(key), fingerprint: key === undefined ? undefined : fingerprint(key), error })
    return error
  }

  /** Adds `value` to a bounded set of this node's, as its newest entry. */
  private remember (set: Set<string>, value: string): void {
    set.delete(value)
    set.add(value)
    this.trim(set)
  }

  /** Forgets the oldest entry of a table past `maxKnownPeers`: every table of what Noise proved is bounded by it. */
  private trim (table: Set<string> | Map<string, string>): void {
    if (table.size > this.opts.maxKnownPeers) table.delete(table.keys().next().value as string)
  }

  /** Runs `work` on a transport that `closePending()` must be able to close meanwhile. */
  private async tracked<T> (transport: Transport, work: Promise<T>): Promise<T> {
    this.securing.add(transport)
    try {
      return await work
    } finally {
      this.securing.delete(transport)
    }
  }
}

/**
 * End-to-end trust for the overlay: what a node authors, it signs (broadcasts,
 * in bundles) or seals to its recipient (routed messages); what it receives
 * through others, it verifies before it delivers or relays it. The overlay
 * driver calls it at those points and carries out what it decides; it holds
 * the node's keys, the keys of others (`KeyBook`), the replay state
 * (`ReplayGuard`) and a count of bad messages per link.
 *
 * A link that sends `maxInvalidMessages` messages that no honest node would
 * relay (malformed, forged or altered bundles; route replies with a key
 * that is not the target's; unsigned traffic where signatures are required)
 * is cut. Replays and sealed messages (whatever is wrong with them) are
 * refused without counting against the link: an honest relay may carry
 * those unknowingly.
 */
import { UntrustedMessageError, type UntrustedReason } from '../errors.js'
import type { Identity } from '../secure/identity.js'
import type { EndToEndMode, Origin, PeerInfo } from '../types.js'
import { Bundler, type Publish } from './bundler.js'
import { KeyBook } from './key-book.js'
import { ReplayGuard, type ReplayGuardOptions, type Stamp } from './replay-guard.js'
import { openMessage, sealMessage, type SealedContent, type SealedKind } from './sealed-message.js'
import { readBundle, signBundle, verifyBundle, type BundleEntry, type ReceivedBundle } from './signed-bundle.js'

export interface EndToEndOptions extends ReplayGuardOptions {
  mode: EndToEndMode
  /** Other nodes' keys kept. */
  maxKnownKeys: number
  /** Bad messages from one link before it is cut. */
  maxInvalidMessages: number
  /** Data bytes in one signed bundle at most. */
  maxBundleBytes: number
}

/** A message refused; `closed` says whether its link is being cut for it. */
export interface Refusal {
  error: UntrustedMessageError
  peer: PeerInfo
  closed: boolean
}

export interface EndToEndHost {
  /** Sends a signed bundle as a broadcast (see `Publish`). */
  publish: (id: string, bundle: Uint8Array, entries: BundleEntry[]) => ReturnType<Publish>
  refused: (refusal: Refusal) => void
}

/** Reasons no honest relay passes on, so they count against the link. */
const STRIKES: ReadonlySet<UntrustedReason> = new Set(['malformed', 'bad-signature', 'key-mismatch', 'unsigned'])
const MAX_COUNTER = 0xffffffff

export class EndToEnd {
  readonly keys: KeyBook
  private readonly replays: ReplayGuard
  private readonly bundler: Bundler
  private readonly strikes = new Map<string, number>()
  private epoch = Date.now()
  private counter = 0

  /** @param identity this node's keys; without one (`mode` 'off' and `secure` 'off') it only verifies */
  constructor (private readonly identity: Identity | undefined, private readonly self: Origin, readonly opts: EndToEndOptions, private readonly host: EndToEndHost) {
    this.keys = new KeyBook(opts.maxKnownKeys)
    this.replays = new ReplayGuard(opts)
    this.bundler = new Bundler(opts.maxBundleBytes, entries => this.publishBundle(entries))
  }

  /** Bundles this node signed, bundles it verified (each once, before delivery), messages it sealed, and sealed messages it opened. */
  readonly counts = { signed: 0, verified: 0, sealed: 0, opened: 0 }

  /** Whether this node signs and seals what it sends. */
  get signing (): boolean {
    return this.opts.mode !== 'off' && this.identity !== undefined
  }

  /** This node's X25519 key, which route replies carry so others can seal to it. */
  get linkKey (): Uint8Array | undefined {
    return this.identity?.publicKey
  }

  /** Authors a broadcast message: it goes out in the current bundle (see `Bundler.add`). */
  broadcast (entry: BundleEntry): ReturnType<Bundler['add']> {
    return this.bundler.add(entry)
  }

  /** Seals a message to `target`. @returns undefined while the key of `target` is unknown */
  seal (target: string, kind: SealedKind, data: Uint8Array): Uint8Array | undefined {
    const key = this.keys.linkKey(target)
    if (key === undefined || this.identity === undefined) return undefined
    this.counts.sealed++
    return sealMessage(this.identity, this.self.id, target, key, { stamp: this.stamp(), kind, name: this.self.name, data })
  }

  /**
   * A signed bundle that `peer` relayed, in a broadcast `frameId` from `origin`:
   * verified and new, or `undefined` once refused.
   */
  openBundle (peer: PeerInfo, frameId: string, origin: string, bytes: Uint8Array): ReceivedBundle | undefined {
    try {
      const bundle = readBundle(bytes)
      // The id is the digest of the content: content or id was changed on the way.
      if (bundle.id !== frameId) throw new UntrustedMessageError('bad-signature', `broadcast ${frameId} from ${origin} was altered (its content has id ${bundle.id})`, origin)
      const key = this.keys.signingKey(origin, bundle.signingKey)
      if (key === undefined) throw new UntrustedMessageError('key-mismatch', `bundle ${bundle.id} is signed by a key that is not ${origin}'s`, origin)
      if (!verifyBundle(bundle, key)) throw new UntrustedMessageError('bad-signature', `bundle ${bundle.id} from ${origin} does not match its signature`, origin)
      this.counts.verified++
      this.checkReplay(origin, bundle.stamp, `bundle ${bundle.id}`)
      return bundle
    } catch (err) {
      this.refuse(peer, err as Error, origin)
      return undefined
    }
  }

  /** A sealed message for this node that `peer` relayed: opened, verified and new, or `undefined` once refused. */
  openSealed (peer: PeerInfo, source: string, sealed: Uint8Array): SealedContent | undefined {
    try {
      if (this.identity === undefined) throw new UntrustedMessageError('undecryptable', 'this node has no key to open sealed messages with', source)
      const content = openMessage(this.identity, source, this.self.id, sealed)
      this.keys.learnLinkKey(source, content.senderKey)
      this.counts.opened++
      this.checkReplay(source, content.stamp, 'routed message')
      return content
    } catch (err) {
      // Nothing in a seal can be checked on the way: whatever is wrong with it, the link that relayed it is not to blame.
      this.refuse(peer, err as Error, source, false)
      return undefined
    }
  }

  /** Learns the X25519 key a route reply relayed by `peer` carries for `id`; one that is not `id`'s is refused. */
  keyClaim (peer: PeerInfo, id: string, key: Uint8Array): boolean {
    if (this.keys.learnLinkKey(id, key)) return true
    this.refuse(peer, new UntrustedMessageError('key-mismatch', `a route reply gives ${id} a key that is not its own`, id), id)
    return false
  }

  /** Whether unsigned traffic from `peer` may be delivered; where signatures are required it is refused. */
  acceptsUnsigned (peer: PeerInfo, what: string, origin: string): boolean {
    if (this.opts.mode !== 'required') return true
    this.refuse(peer, new UntrustedMessageError('unsigned', `${what} from ${origin} is not signed, and overlay.endToEnd is 'required'`, origin), origin)
    return false
  }

  /** A link is gone: its count of bad messages goes with it. */
  peerDown (peerId: string): void {
    this.strikes.delete(peerId)
  }

  private checkReplay (origin: string, stamp: Stamp, what: string): void {
    const verdict = origin === this.self.id ? 'replay' : this.replays.check(origin, stamp)
    if (verdict !== 'fresh') throw new UntrustedMessageError('replay', `${what} from ${origin} was seen before (${verdict})`, origin)
  }

  private refuse (peer: PeerInfo, err: Error, origin: string, blameLink = true): void {
    const error = err instanceof UntrustedMessageError ? err : new UntrustedMessageError('malformed', err.message, origin, { cause: err })
    let closed = false
    if (blameLink && STRIKES.has(error.reason)) {
      const strikes = (this.strikes.get(peer.id) ?? 0) + 1
      this.strikes.set(peer.id, strikes)
      closed = strikes >= this.opts.maxInvalidMessages
    }
    this.host.refused({ error, peer, closed })
  }

  private publishBundle (entries: BundleEntry[]): ReturnType<Publish> {
    const identity = this.identity
    if (identity === undefined) throw new TypeError('a node without an identity cannot sign')
    this.counts.signed++
    const { id, bytes } = signBundle({ signingKey: identity.signingPublicKey, name: this.self.name, stamp: this.stamp(), entries }, identity.signingKey)
    return this.host.publish(id, bytes, entries)
  }

  private stamp (): Stamp {
    if (this.counter > MAX_COUNTER) {
      this.epoch = Math.max(Date.now(), this.epoch + 1)
      this.counter = 0
    }
    return { epoch: this.epoch, counter: this.counter++, time: Date.now() }
  }
}

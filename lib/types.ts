/**
 * The types every layer speaks of: peers, messages as the application gets
 * them, and the modes a node runs in. This module imports nothing of the
 * project, so that any layer can take its types without an import circle.
 */
import type { Uint8ArrayList } from 'uint8arraylist'

/** Who dialled: `outbound` when this node did. */
export type Direction = 'inbound' | 'outbound'

/** How a link is carried: `noise` (encrypted, the peer's key proven) or `plaintext`. */
export type LinkSecurity = 'noise' | 'plaintext'

/** A Noise cipher, by its name in a Noise protocol name: AES-256-GCM or ChaCha20-Poly1305. */
export type NoiseCipher = 'AESGCM' | 'ChaChaPoly'

/** How nodes are connected: see `MeshNodeOptions.topology`. */
export type Topology = 'full-mesh' | 'overlay'

/** See `MeshNodeOptions.secure`. */
export type SecureMode = 'off' | 'preferred' | 'required'

/** See `OverlayOptions.endToEnd`. */
export type EndToEndMode = 'required' | 'preferred' | 'off'

/** The author of a broadcast or routed message. */
export interface Origin { id: string, name: string }

/**
 * How a message's `origin` is known. `link`: it came straight from the
 * connected peer that wrote it, as authentic as that link (`peer.security`).
 * `signed`: its author signed it (a broadcast) or sealed it to this node (a
 * routed message), and this node verified that. `vouched`: a line-protocol
 * peer wrote it, which cannot sign; the gateway it is connected to (the
 * message's `gateway`) signed it on its behalf. `unverified`: it was relayed
 * without a signature (`overlay.endToEnd` 'off' somewhere on the way).
 */
export type Authenticity = 'link' | 'signed' | 'vouched' | 'unverified'

/** A connected peer, as the node sees it. */
export interface PeerInfo {
  id: string
  name: string
  /** Where the peer accepts connections (`host:port`), if it said. */
  address: string | undefined
  /** The other end of the socket (`host:port`). */
  remoteAddress: string
  /** Who dialled: `outbound` when this node did. */
  direction: Direction
  /** When the handshake completed (ms since epoch). */
  connectedAt: number
  /** When anything was last received (ms since epoch). */
  lastSeen: number
  /** How the link is carried: `noise` (encrypted, the peer's key proven) or `plaintext`. */
  security: LinkSecurity
  /** The Noise cipher the link uses; `undefined` on a plaintext link. */
  cipher: NoiseCipher | undefined
  /** The peer's X25519 public key (64 hex characters), proven over Noise; `undefined` on a plaintext link. */
  publicKey: string | undefined
  /** `SHA256:...` of the peer's public key, for people to compare; `undefined` on a plaintext link. */
  fingerprint: string | undefined
}

/** What a broadcast achieved: peers it was queued for, and peers that failed (and were or are being disconnected). */
export interface BroadcastResult {
  queued: string[]
  failed: Array<{ peerId: string, error: Error }>
}

/**
 * Where a message came from beyond the connected peer: its author, the
 * links it crossed (`peer` and 1 when sent directly), how its author is
 * known, and for a `vouched` message the id of the gateway that vouched.
 */
export interface MessageSource {
  origin: Origin
  hops: number
  authenticity: Authenticity
  gateway?: string
}

/**
 * A message, as `messages()` yields it. `peer` is the connected peer it
 * came from; `origin` the node that wrote it, which in the overlay topology
 * may be further away: `hops` is the number of links it crossed (1 when
 * `origin` is `peer`). `authenticity` says how `origin` is known.
 */
export type IncomingMessage =
  | { type: 'chat', peer: PeerInfo, text: string } & MessageSource
  | { type: 'bytes', peer: PeerInfo, data: Uint8ArrayList } & MessageSource

/**
 * Handles `BYTES` payloads that start with a registered prefix, whether
 * they came straight from `peer` or were relayed through it (`source`).
 * Returning a promise holds back the peer's next messages until it settles.
 */
export type BytesHandler = (data: Uint8ArrayList, peer: PeerInfo, source: MessageSource) => void | Promise<void>

export interface HandlerOptions {
  /** Whether relayed payloads reach the handler too; a link-level protocol (the overlay's own) must see only its neighbours' frames. @default true */
  relayed?: boolean
}

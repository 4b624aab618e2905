/**
 * Every option of a mesh node: documented in `MeshNodeOptions`, each one's
 * default, range and unit in `NODE_OPTIONS` beside it, and the checks that
 * involve several options in `resolveOptions()`.
 */
import { isPrivateKey, randomBytes, type PrivateKey } from '../crypto/crypto.js'
import { applyTable, checked, defaultsOf, expected, integer, isFunction, isNonEmptyString, isString, oneOf, type OptionTable } from '../../transforms/core/option-table.js'
import { resolveOverlayOptions, type OverlayOptions, type ResolvedOverlayOptions } from './overlay-options.js'
import { STREAM_OPTIONS } from '../connection/stream-mux.js'
import { DEFAULT_MAX_NOISE_MESSAGES } from '../secure/noise/cipher-state.js'
import { LISTENS_BY_DEFAULT } from '../transport/default-transport.js'
import type { TransportFactory } from '../transport/transport.js'
import type { NoiseCipher, SecureMode, Topology } from '../types.js'
import { SECURE_TRANSPORT_OPTIONS } from '../secure/secure-transport.js'
import type { MessageTransform } from '../../transforms/core/link.js'
import { idProblem, nameProblem } from '../../transforms/core/line-protocol.js'
import { DEFAULT_DISCOVERY_INTERVAL, DEFAULT_MAX_LINE_LENGTH } from '../../transforms/core/limits.js'
import { FRAME_DECODER_OPTIONS } from '../../transforms/frame-decoder.js'
import { HANDSHAKE_OPTIONS } from '../../transforms/handshake.js'
import { HEARTBEAT_OPTIONS } from '../../transforms/heartbeat.js'

export interface MeshNodeOptions {
  /** Port to listen on; 0 picks a free one. */
  port?: number
  /**
   * Also listen for WebSocket connections on this port (0 picks a free
   * one), beside the transport's own listener, for browsers to dial. Such
   * connections are admitted, bounded and secured like any other.
   */
  wsPort?: number
  /** Host to listen on. */
  host?: string
  /**
   * Host to announce in `LISTEN:` and `PEERS:`.
   */
  advertiseHost?: string
  /** This node's id: no `:`, no spaces. */
  id?: string
  /** Display name. */
  name?: string
  /** Connected peers kept at most; more are refused with `MAX_PEERS`. Unset in an overlay: twice `overlay.activeViewSize` if that is more, room for joins and neighbour requests beside the neighbours. */
  maxPeers?: number
  /** Longest line accepted, in bytes. */
  maxLineLength?: number
  /** Largest `BYTES` payload accepted or sent, in bytes. */
  maxBytesPerMessage?: number
  /** Bytes each peer's outbound queue holds before senders wait. A message counts for its text or payload plus 64 bytes, about what the queue's record of it takes, so the bound holds for small messages too. */
  maxQueuedBytes?: number
  /** How long a send may wait on a full peer queue before that peer is dropped, in ms. */
  slowPeerTimeout?: number
  /** Time allowed for a dial and for a handshake, in ms. */
  connectionTimeout?: number
  /** How often a peer is sent `PING`, in ms: each interval in which nothing was heard from it. */
  maintenanceInterval?: number
  /** How often this node asks `discoveryFanout` of its peers for their peers, in ms. */
  discoveryInterval?: number
  /**
   * Peers asked for their peers (`REQUEST_PEERS`) per `discoveryInterval`,
   * picked at random. The protocol's peers ask every peer, which costs a
   * full mesh of N nodes N^2 requests and lists per round; with at most
   * this many peers, a node asks every one of them as they do.
   */
  discoveryFanout?: number
  /** Silence after which a peer is dropped, in ms. */
  peerTimeout?: number
  /** Addresses remembered at most; unconnected ones are forgotten to make room, those never dialled first. */
  maxKnownPeers?: number
  /** Accepted connections still in their handshake, at most; more are closed at once. */
  maxPendingHandshakes?: number
  /** Bytes a remote may send before its handshake completes; more closes the connection. */
  maxHandshakeBytes?: number
  /** Entries read from one `PEERS:` list at most; the rest are ignored and reported. */
  maxPeersPerList?: number
  /** Dials in flight at once. */
  dialConcurrency?: number
  /** Addresses dialled per received `PEERS:` list. */
  dialsPerDiscovery?: number
  /** Upper bound of the random delay before dialling a discovered address, in ms. */
  dialJitter?: number
  /** Dial addresses learnt from `PEERS:` lists automatically. */
  autoDial?: boolean
  /**
   * Listen for connections. A node that cannot (a browser page) does not:
   * it announces a `.invalid` address in `LISTEN:` that no peer dials, and
   * keeps to the peers it is connected to (`connect()`), dialling none it
   * hears of, as what others listen on (TCP) is out of its reach.
   */
  listen?: boolean
  /**
   * Connected peers named in one `PEERS:` list at most, picked at random
   * each time. Lists of every peer cost a full mesh of N nodes N addresses
   * per list, N lists per node and discovery round: N^3 in all.
   */
  connectedPeersShared?: number
  /** Addresses this node has dialled before, beyond the connected peers, shared in a `PEERS:` answer. */
  extraPeersShared?: number
  /** Messages buffered for each `messages()` reader before delivery waits for it. */
  inboxSize?: number
  /**
   * Bytes of chat and unclaimed `BYTES` messages kept while no `messages()`
   * reader is attached, for the next one that attaches. Past it they are
   * dropped, with one `limit:exceeded` event, and nothing more is kept until
   * a reader attaches. Payloads are kept as the views of the received bytes
   * they are. 0 keeps none (for a node that only listens to events).
   */
  maxRetainedBytes?: number
  /**
   * Protocol streams open with one peer at most, in each direction. A peer
   * that opens more is refused (`TooManyStreamsError` on its side); so is an
   * `openStream()` past it.
   */
  maxStreamsPerPeer?: number
  /** A protocol stream's first receive window: bytes its remote may send before the reader has read any. */
  streamWindow?: number
  /**
   * Bytes a protocol stream buffers at most for a reader that does not read.
   * Its receive window starts at `streamWindow` and doubles up to this while
   * the reader keeps up, so a fast stream is not held back by round trips;
   * a stalled stream holds no more than its window.
   */
  maxStreamWindow?: number
  /**
   * Bytes by which the receive windows of one peer's streams may grow in
   * total past `streamWindow` each. What a peer's streams can make this node
   * buffer is at most `maxStreamsPerPeer` times `streamWindow`, plus this.
   */
  maxStreamGrowthPerPeer?: number
  /** Attempts of `connect()` before it gives up. */
  bootstrapAttempts?: number
  /** First retry delay of `connect()`, doubled on every attempt (with jitter), in ms. */
  bootstrapBackoff?: number
  /**
   * Link security. `'off'`: the plain line protocol only; an incoming Noise
   * handshake is refused. `'preferred'`: Noise with every peer that speaks
   * it, plaintext with those that do not (each peer's `security` says
   * which). `'required'`: Noise only; plaintext peers are refused.
   */
  secure?: SecureMode
  /**
   * This node's long-term X25519 key: the path of a key file (created with
   * mode 0600 on first use, refused if others may read it), or a private
   * `KeyObject`. With an identity the node id is derived from its public key,
   * and `id` may only repeat that id.
   */
  identity?: string | PrivateKey
  /**
   * The only peers allowed: hex X25519 public keys, as a list or as the path
   * of a file with one key per line (`#` comments allowed). Any other peer,
   * and every plaintext peer, is refused after the handshake with a
   * `peer:denied` event. Needs `secure` other than 'off'.
   */
  allow?: string | readonly string[]
  /**
   * The longest a `'preferred'` dialer waits for a Noise answer before it
   * treats a silent peer as a plaintext peer (existing peers wait silently
   * for a hello line), in ms. It waits 8 times as long as the dial took
   * (about 8 round trips), within `secureProbeFloor` and this.
   */
  secureProbeTimeout?: number
  /** The shortest a `'preferred'` dialer waits for a Noise answer, in ms: a Noise peer answers at once, but a busy one takes a little time. */
  secureProbeFloor?: number
  /** Noise transport messages per link and direction before the link is closed with `ERR_NONCE_EXHAUSTED`, so that no nonce repeats. */
  maxNoiseMessages?: number
  /**
   * The Noise ciphers this node speaks, the one it offers first: AESGCM is
   * the faster on CPUs with AES instructions, ChaChaPoly (which every
   * meshline node speaks, and which must be in the list) on those without,
   * and in a browser, where the ciphers run in JavaScript.
   * Each link's cipher shows in `peers()`.
   */
  noiseCiphers?: readonly NoiseCipher[]
  /**
   * Noise transport messages per link and direction after which both ends
   * rekey (Noise spec, section 11.3); 0 for never. Two nodes use the
   * shorter of their intervals. A message carries at most 64 KiB.
   */
  noiseRekeyMessages?: number
  /** Redials of a lost peer that this node had dialled, before giving up; 0 turns redialling off. An address that fails this many dials in a row is forgotten. */
  reconnectAttempts?: number
  /** Delay before the first redial of a lost peer, and before discovery dials a failed address again, doubled on every failure (with jitter), in ms. */
  reconnectBackoff?: number
  /** Longest of those delays, before jitter, in ms. */
  reconnectMaxDelay?: number
  /** Addresses being redialled at once; more lost peers are left to discovery. */
  maxReconnects?: number
  /**
   * File that remembers the addresses this node dialled successfully, so
   * that a restarted node rejoins without its bootstrap, and which of them
   * proved a key over Noise (pinned: never dialled in plaintext again).
   * Written atomically (temporary file and rename), at most `maxKnownPeers`
   * addresses.
   */
  peersFile?: string
  /**
   * `full-mesh`: the line protocol's own topology, every node connects to
   * every node it learns of. `overlay`: each node keeps `overlay.activeViewSize`
   * neighbours (HyParView) and broadcasts travel along a spanning tree
   * (Plumtree); addresses from `PEERS:` lists are then remembered but not
   * dialled, whatever `autoDial` says.
   */
  topology?: Topology
  /** Limits and timers of the `overlay` topology (the table below). */
  overlay?: OverlayOptions
  /** How connections are made. */
  transport?: TransportFactory
  /** Your transforms, run on every connection's inbound messages after the protocol stages. */
  inbound?: MessageTransform[]
  /** Your transforms, run on every connection's outbound messages before the encoder. */
  outbound?: MessageTransform[]
}


/** Every `secure` mode, and every `topology`, for the checks here and the command line's. */
/** Every `secure` mode, and every `topology`, for the checks here and the command line's. */
export const SECURE_MODES: readonly SecureMode[] = ['off', 'preferred', 'required']
export const TOPOLOGIES: readonly Topology[] = ['full-mesh', 'overlay']

/** Options with no default value: unset, each means what its doc says. */
type Unset = 'advertiseHost' | 'transport' | 'identity' | 'allow' | 'peersFile' | 'wsPort'

export type ResolvedOptions = Required<Omit<MeshNodeOptions, Unset | 'overlay'>> & Pick<MeshNodeOptions, Unset> & { overlay: ResolvedOverlayOptions }

const isTransforms = (value: unknown): boolean => Array.isArray(value) && value.every(isFunction)

/** Each node option's default, range and unit; see `MeshNodeOptions` for what it does. */
export const NODE_OPTIONS = {
  port: integer(0, 0, { max: 65535 }),
  wsPort: checked<number | undefined>(undefined, 'a port from 0 to 65535', value => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535, 'none'),
  host: checked('0.0.0.0', 'a non-empty string', isNonEmptyString),
  advertiseHost: checked<string | undefined>(undefined, 'a non-empty string', isNonEmptyString, 'the listen host; for a wildcard one, the local address of each connection'),
  id: checked<string | undefined>(undefined, '1-128 printable ASCII characters without spaces or `:`', value => isString(value) && idProblem(value as string) === undefined, '32 random lowercase hex characters'),
  name: checked<string | undefined>(undefined, 'a string of at most 256 characters without control characters', value => isString(value) && nameProblem(value as string) === undefined, 'the id'),
  maxPeers: integer(10, 1, { defaultText: '10; with `topology: \'overlay\'`, 2 × `overlay.activeViewSize` if more' }),
  // At least 16, not the line framer's 1: a node must take its peers' handshake lines.
  maxLineLength: integer(DEFAULT_MAX_LINE_LENGTH, 16, { unit: 'bytes' }),
  maxBytesPerMessage: FRAME_DECODER_OPTIONS.maxBytesPerMessage,
  maxQueuedBytes: integer(1024 * 1024, 1, { unit: 'bytes' }),
  slowPeerTimeout: integer(10_000, 1, { unit: 'ms' }),
  connectionTimeout: HANDSHAKE_OPTIONS.timeout,
  maintenanceInterval: HEARTBEAT_OPTIONS.maintenanceInterval,
  discoveryInterval: integer(DEFAULT_DISCOVERY_INTERVAL, 1, { unit: 'ms' }),
  discoveryFanout: integer(10, 0),
  peerTimeout: HEARTBEAT_OPTIONS.peerTimeout,
  maxKnownPeers: integer(1000, 0),
  maxPendingHandshakes: integer(64, 1),
  // Room for a hello and a `LISTEN:` line at the default line limit: a BYTES
  // frame sent before the handshake would otherwise be buffered up to
  // maxBytesPerMessage for every pending handshake.
  maxHandshakeBytes: integer(2 * DEFAULT_MAX_LINE_LENGTH, 16, { unit: 'bytes' }),
  maxPeersPerList: integer(256, 0),
  dialConcurrency: integer(3, 1),
  // The protocol's 3 dials per list, 5 s of jitter and 5 extra addresses shared.
  dialsPerDiscovery: integer(3, 0),
  dialJitter: integer(5_000, 0, { unit: 'ms' }),
  autoDial: checked(true, 'a boolean', value => typeof value === 'boolean'),
  listen: checked(LISTENS_BY_DEFAULT, 'a boolean', value => typeof value === 'boolean', 'true (false in a browser)'),
  connectedPeersShared: integer(16, 0),
  extraPeersShared: integer(5, 0),
  inboxSize: integer(1024, 1),
  maxRetainedBytes: integer(1024 * 1024, 0, { unit: 'bytes' }),
  ...STREAM_OPTIONS,
  bootstrapAttempts: integer(5, 1),
  bootstrapBackoff: integer(500, 0, { unit: 'ms' }),
  secure: { ...oneOf<SecureMode>('off', SECURE_MODES), defaultText: "'off' (a library node speaks the v0 protocol byte for byte unless asked; the CLI defaults to 'preferred')" },
  identity: checked<string | PrivateKey | undefined>(undefined, 'a key file path or a private KeyObject', value => isPrivateKey(value) || isNonEmptyString(value), "a fresh key for this node object, when `secure` is not 'off'"),
  allow: checked<string | readonly string[] | undefined>(undefined, 'an allowlist file path or an array of hex public keys',
    value => isString(value) || (Array.isArray(value) && value.every(isString)), 'no allowlist'),
  // Noise peers answer at once; existing plaintext peers stay silent until their own timeout.
  secureProbeTimeout: integer(3_000, 1, { unit: 'ms' }),
  secureProbeFloor: integer(50, 1, { unit: 'ms' }),
  maxNoiseMessages: integer(DEFAULT_MAX_NOISE_MESSAGES, 1, { defaultText: '9007199254740991 (2^53-1)' }),
  noiseCiphers: SECURE_TRANSPORT_OPTIONS.ciphers,
  noiseRekeyMessages: integer(1_048_576, 0, { defaultText: '1048576 (2^20: a new key after at most 64 GiB)' }),
  reconnectAttempts: integer(6, 0),
  reconnectBackoff: integer(1_000, 0, { unit: 'ms' }),
  reconnectMaxDelay: integer(30_000, 0, { unit: 'ms' }),
  maxReconnects: integer(64, 0),
  peersFile: checked<string | undefined>(undefined, 'a non-empty path', isNonEmptyString, 'none (nothing is remembered)'),
  topology: oneOf<Topology>('full-mesh', TOPOLOGIES),
  overlay: checked<OverlayOptions>({}, 'an object', value => typeof value === 'object' && value !== null, 'DEFAULT_OVERLAY_OPTIONS'),
  transport: checked<TransportFactory | undefined>(undefined, 'a transport (an object with dial and listen functions)',
    value => typeof value === 'object' && value !== null && typeof (value as TransportFactory).dial === 'function' && typeof (value as TransportFactory).listen === 'function', 'TCP (WebSocket in a browser)'),
  inbound: checked<MessageTransform[]>([], 'an array of transforms', isTransforms),
  outbound: checked<MessageTransform[]>([], 'an array of transforms', isTransforms)
} satisfies OptionTable<MeshNodeOptions>

/** Every default but those computed per node (`id`, `name`) and the overlay's, which are in `DEFAULT_OVERLAY_OPTIONS`. */
export const DEFAULT_OPTIONS: Omit<ResolvedOptions, 'id' | 'name' | 'overlay'> = (({ id, name, overlay, ...rest }) => rest)(defaultsOf(NODE_OPTIONS))

/** An overlay node's default `maxPeers` per neighbour: joins and neighbour requests briefly need connections beyond the active view. */
const OVERLAY_PEERS_PER_NEIGHBOR = 2

/** Fills in defaults and checks every option. @throws InvalidOptionError */
export function resolveOptions (opts: MeshNodeOptions = {}): ResolvedOptions {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) throw expected('options', 'an object of options', opts)
  const id = opts.id ?? randomBytes(16).toString('hex')
  const name = opts.name === undefined || opts.name === '' ? id : opts.name
  const table = applyTable(NODE_OPTIONS, { ...opts, id, name })
  const overlay = resolveOverlayOptions(opts.overlay)
  const maxPeers = opts.maxPeers === undefined && table.topology === 'overlay' ? Math.max(table.maxPeers, OVERLAY_PEERS_PER_NEIGHBOR * overlay.activeViewSize) : table.maxPeers
  const resolved: ResolvedOptions = { ...table, id, name, maxPeers, overlay }
  if (resolved.allow !== undefined && resolved.secure === 'off') {
    throw expected('secure', '\'preferred\' or \'required\' when `allow` is set (only Noise proves a key)', resolved.secure)
  }
  if (resolved.topology === 'overlay' && resolved.overlay.activeViewSize >= resolved.maxPeers) {
    // Joins and neighbour requests briefly need connections beyond the active view.
    throw expected('overlay.activeViewSize', `below maxPeers (${resolved.maxPeers})`, resolved.overlay.activeViewSize)
  }
  return resolved
}

/**
 * Every option of a mesh node, with its default and unit, and the validation
 * that rejects a wrong value with a message naming it.
 */
import { KeyObject, randomBytes } from 'node:crypto'
import * as C from '../constants.js'
import { InvalidOptionError } from '../errors.js'
import type { TransportFactory } from '../transport/transport.js'
import type { MessageTransform } from '../../transforms/core/link.js'

/** How nodes are connected: see `MeshNodeOptions.topology`. */
export type Topology = 'full-mesh' | 'overlay'

/** Limits and timers of the overlay topology. Every field is optional. */
export interface OverlayOptions {
  /** Neighbours kept connected (HyParView active view); at least 2, and below `maxPeers`. @default 5 */
  activeViewSize?: number
  /** Addresses kept to replace failed neighbours from (HyParView passive view). @default 30 */
  passiveViewSize?: number
  /** Hops a JOIN travels by random walk (HyParView ARWL). @default 6 */
  activeWalkLength?: number
  /** Remaining walk length at which a forwarded JOIN adds the newcomer to the passive view (HyParView PRWL). @default 3 */
  passiveWalkLength?: number
  /** How often a sample of the views is exchanged with a random node, in ms. @default 10000 */
  shuffleInterval?: number
  /** Active-view entries sent in a shuffle. @default 3 */
  shuffleActive?: number
  /** Passive-view entries sent in a shuffle. @default 4 */
  shufflePassive?: number
  /** Hops a shuffle travels by random walk. @default 4 */
  shuffleWalkLength?: number
  /** How often a node with free active-view slots asks passive-view nodes to become neighbours, in ms. @default 1000 */
  repairInterval?: number
  /** Wait after the first IHAVE for a missing payload before pulling it with GRAFT, in ms. @default 500 */
  graftTimeout?: number
  /** Wait after a GRAFT before asking the next announcer, in ms. @default 250 */
  graftRetryTimeout?: number
  /** How long a link made eager by a GRAFT is not pruned, so that a tree repaired while broadcasts keep coming stays whole, in ms. @default 2000 */
  graftHoldTime?: number
  /** Wait for a new peer's capability announcement before treating it as a plain line-protocol peer, in ms. @default 2000 */
  capabilityTimeout?: number
  /** Broadcasts held for a peer while its capabilities are unknown; one more decides it is a plain peer. @default 256 */
  maxHeldMessages?: number
  /** Hop limit of broadcasts and routed messages, at most 255. @default 64 */
  maxHops?: number
  /** Broadcast ids remembered, so that each broadcast is delivered once. @default 65536 */
  maxSeenMessages?: number
  /** How long a broadcast id is remembered, in ms; at least `cacheTtl`. @default 120000 */
  seenTtl?: number
  /** Payload bytes kept to answer GRAFTs and to announce to new neighbours. @default 16777216 (16 MiB) */
  maxCachedBytes?: number
  /** How long a payload is kept to answer GRAFTs and to announce to new neighbours, in ms. @default 30000 */
  cacheTtl?: number
  /** Routes (node id to next hop) kept. @default 4096 */
  maxRoutes?: number
  /** How long a learnt route is used, in ms. @default 60000 */
  routeTtl?: number
  /** How long a direct message to a node that is not a neighbour waits for a route, in ms. @default 3000 */
  routeTimeout?: number
  /** Source of randomness for neighbour choices and walks, returning [0, 1); seed it for reproducible runs. @default Math.random */
  random?: () => number
}

export type ResolvedOverlayOptions = Required<OverlayOptions>

export const DEFAULT_OVERLAY_OPTIONS: ResolvedOverlayOptions = {
  activeViewSize: C.DEFAULT_ACTIVE_VIEW_SIZE,
  passiveViewSize: C.DEFAULT_PASSIVE_VIEW_SIZE,
  activeWalkLength: C.DEFAULT_ACTIVE_WALK_LENGTH,
  passiveWalkLength: C.DEFAULT_PASSIVE_WALK_LENGTH,
  shuffleInterval: C.DEFAULT_SHUFFLE_INTERVAL,
  shuffleActive: C.DEFAULT_SHUFFLE_ACTIVE,
  shufflePassive: C.DEFAULT_SHUFFLE_PASSIVE,
  shuffleWalkLength: C.DEFAULT_SHUFFLE_WALK_LENGTH,
  repairInterval: C.DEFAULT_REPAIR_INTERVAL,
  graftTimeout: C.DEFAULT_GRAFT_TIMEOUT,
  graftRetryTimeout: C.DEFAULT_GRAFT_RETRY_TIMEOUT,
  graftHoldTime: C.DEFAULT_GRAFT_HOLD_TIME,
  capabilityTimeout: C.DEFAULT_CAPABILITY_TIMEOUT,
  maxHeldMessages: C.DEFAULT_MAX_HELD_MESSAGES,
  maxHops: C.DEFAULT_MAX_HOPS,
  maxSeenMessages: C.DEFAULT_MAX_SEEN_MESSAGES,
  seenTtl: C.DEFAULT_SEEN_TTL,
  maxCachedBytes: C.DEFAULT_MAX_CACHED_BYTES,
  cacheTtl: C.DEFAULT_CACHE_TTL,
  maxRoutes: C.DEFAULT_MAX_ROUTES,
  routeTtl: C.DEFAULT_ROUTE_TTL,
  routeTimeout: C.DEFAULT_ROUTE_TIMEOUT,
  random: Math.random
}

export interface MeshNodeOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number
  /** Host to listen on. @default '0.0.0.0' */
  host?: string
  /**
   * Host to announce in `LISTEN:` and `PEERS:`.
   * @default the listen host; for a wildcard one, the local address of each connection
   */
  advertiseHost?: string
  /** This node's id: no `:`, no spaces. @default 32 random lowercase hex characters */
  id?: string
  /** Display name. @default the id */
  name?: string
  /** Connected peers kept at most; more are refused with `MAX_PEERS`. @default 10 */
  maxPeers?: number
  /** Longest line accepted, in bytes. @default 65536 (64 KiB) */
  maxLineLength?: number
  /** Largest `BYTES` payload accepted or sent, in bytes. @default 16777216 (16 MiB) */
  maxBytesPerMessage?: number
  /** Bytes each peer's outbound queue holds before senders wait. @default 4194304 (4 MiB) */
  maxQueuedBytes?: number
  /** How long a send may wait on a full peer queue before that peer is dropped, in ms. @default 10000 */
  slowPeerTimeout?: number
  /** Time allowed for a dial and for a handshake, in ms. @default 10000 */
  connectionTimeout?: number
  /** How often every peer is sent `PING`, in ms. @default 15000 */
  maintenanceInterval?: number
  /** How often every peer is asked for its peers, in ms. @default 30000 */
  discoveryInterval?: number
  /** Silence after which a peer is dropped, in ms. @default 60000 */
  peerTimeout?: number
  /** Addresses remembered at most; unconnected ones are forgotten to make room, those never dialled first. @default 1000 */
  maxKnownPeers?: number
  /** Accepted connections still in their handshake, at most; more are closed at once. @default 64 */
  maxPendingHandshakes?: number
  /** Bytes a remote may send before its handshake completes; more closes the connection. @default 131072 (128 KiB) */
  maxHandshakeBytes?: number
  /** Entries read from one `PEERS:` list at most; the rest are ignored and reported. @default 256 */
  maxPeersPerList?: number
  /** Dials in flight at once. @default 3 */
  dialConcurrency?: number
  /** Addresses dialled per received `PEERS:` list. @default 3 */
  dialsPerDiscovery?: number
  /** Upper bound of the random delay before dialling a discovered address, in ms. @default 5000 */
  dialJitter?: number
  /** Dial addresses learnt from `PEERS:` lists automatically. @default true */
  autoDial?: boolean
  /** Addresses this node has dialled before, beyond the connected peers, shared in a `PEERS:` answer. @default 5 */
  extraPeersShared?: number
  /** Messages buffered for each `messages()` reader before delivery waits for it. @default 1024 */
  inboxSize?: number
  /** Attempts of `connect()` before it gives up. @default 5 */
  bootstrapAttempts?: number
  /** First retry delay of `connect()`, doubled on every attempt (with jitter), in ms. @default 500 */
  bootstrapBackoff?: number
  /**
   * Link security. `'off'`: the plain line protocol only; an incoming Noise
   * handshake is refused. `'preferred'`: Noise with every peer that speaks
   * it, plaintext with those that do not (each peer's `security` says
   * which). `'required'`: Noise only; plaintext peers are refused.
   * @default 'off' (a library node speaks the v0 protocol byte for byte unless asked; the CLI defaults to 'preferred')
   */
  secure?: SecureMode
  /**
   * This node's long-term X25519 key: the path of a key file (created with
   * mode 0600 on first use, refused if others may read it), or a private
   * `KeyObject`. With an identity the node id is derived from its public key,
   * and `id` may only repeat that id.
   * @default a fresh key for this node object, when `secure` is not 'off'
   */
  identity?: string | KeyObject
  /**
   * The only peers allowed: hex X25519 public keys, as a list or as the path
   * of a file with one key per line (`#` comments allowed). Any other peer,
   * and every plaintext peer, is refused after the handshake with a
   * `peer:denied` event. Needs `secure` other than 'off'.
   * @default no allowlist
   */
  allow?: string | readonly string[]
  /** How long a `'preferred'` dialer waits for a Noise answer before it treats the peer as a plaintext peer, in ms. @default 3000 */
  secureProbeTimeout?: number
  /** Noise transport messages per link and direction before the link is closed with `ERR_NONCE_EXHAUSTED`, so that no nonce repeats. @default 9007199254740991 (2^53-1) */
  maxNoiseMessages?: number
  /** Redials of a lost peer that this node had dialled, before giving up; 0 turns redialling off. An address that fails this many dials in a row is forgotten. @default 6 */
  reconnectAttempts?: number
  /** Delay before the first redial of a lost peer, and before discovery dials a failed address again, doubled on every failure (with jitter), in ms. @default 1000 */
  reconnectBackoff?: number
  /** Longest of those delays, before jitter, in ms. @default 30000 */
  reconnectMaxDelay?: number
  /** Addresses being redialled at once; more lost peers are left to discovery. @default 64 */
  maxReconnects?: number
  /**
   * File that remembers the addresses this node dialled successfully, so
   * that a restarted node rejoins without its bootstrap. Written atomically
   * (temporary file and rename), at most `maxKnownPeers` addresses.
   * @default none (nothing is remembered)
   */
  peersFile?: string
  /**
   * `full-mesh`: the line protocol's own topology, every node connects to
   * every node it learns of. `overlay`: each node keeps `overlay.activeViewSize`
   * neighbours (HyParView) and broadcasts travel along a spanning tree
   * (Plumtree); addresses from `PEERS:` lists are then remembered but not
   * dialled, whatever `autoDial` says. @default 'full-mesh'
   */
  topology?: Topology
  /** Limits and timers of the `overlay` topology (the table below). @default DEFAULT_OVERLAY_OPTIONS */
  overlay?: OverlayOptions
  /** How connections are made. @default TCP */
  transport?: TransportFactory
  /** Your transforms, run on every connection's inbound messages after the protocol stages. @default [] */
  inbound?: MessageTransform[]
  /** Your transforms, run on every connection's outbound messages before the encoder. @default [] */
  outbound?: MessageTransform[]
}

/** See `MeshNodeOptions.secure`. */
export type SecureMode = 'off' | 'preferred' | 'required'

/** Every `secure` mode, and every `topology`, for the checks here and the command line's. */
export const SECURE_MODES: readonly SecureMode[] = ['off', 'preferred', 'required']
export const TOPOLOGIES: readonly Topology[] = ['full-mesh', 'overlay']

export type ResolvedOptions = Required<Omit<MeshNodeOptions, 'advertiseHost' | 'transport' | 'identity' | 'allow' | 'peersFile' | 'overlay'>> &
Pick<MeshNodeOptions, 'advertiseHost' | 'transport' | 'identity' | 'allow' | 'peersFile'> & { overlay: ResolvedOverlayOptions }

/** Every default but the overlay's, which are in `DEFAULT_OVERLAY_OPTIONS`. */
export const DEFAULT_OPTIONS: Omit<ResolvedOptions, 'id' | 'name' | 'overlay'> = {
  port: 0,
  host: '0.0.0.0',
  maxPeers: C.DEFAULT_MAX_PEERS,
  maxLineLength: C.DEFAULT_MAX_LINE_LENGTH,
  maxBytesPerMessage: C.DEFAULT_MAX_BYTES_PER_MESSAGE,
  maxQueuedBytes: C.DEFAULT_MAX_QUEUED_BYTES,
  slowPeerTimeout: C.DEFAULT_SLOW_PEER_TIMEOUT,
  connectionTimeout: C.DEFAULT_CONNECTION_TIMEOUT,
  maintenanceInterval: C.DEFAULT_MAINTENANCE_INTERVAL,
  discoveryInterval: C.DEFAULT_DISCOVERY_INTERVAL,
  peerTimeout: C.DEFAULT_PEER_TIMEOUT,
  maxKnownPeers: C.DEFAULT_MAX_KNOWN_PEERS,
  maxPendingHandshakes: C.DEFAULT_MAX_PENDING_HANDSHAKES,
  maxHandshakeBytes: C.DEFAULT_MAX_HANDSHAKE_BYTES,
  maxPeersPerList: C.DEFAULT_MAX_PEERS_PER_LIST,
  dialConcurrency: C.DEFAULT_DIAL_CONCURRENCY,
  dialsPerDiscovery: C.DEFAULT_DIALS_PER_DISCOVERY,
  dialJitter: C.DEFAULT_DIAL_JITTER,
  autoDial: true,
  extraPeersShared: C.DEFAULT_EXTRA_PEERS_SHARED,
  inboxSize: C.DEFAULT_INBOX_SIZE,
  bootstrapAttempts: C.DEFAULT_BOOTSTRAP_ATTEMPTS,
  bootstrapBackoff: C.DEFAULT_BOOTSTRAP_BACKOFF,
  secure: 'off',
  secureProbeTimeout: C.DEFAULT_SECURE_PROBE_TIMEOUT,
  maxNoiseMessages: C.DEFAULT_MAX_NOISE_MESSAGES,
  reconnectAttempts: C.DEFAULT_RECONNECT_ATTEMPTS,
  reconnectBackoff: C.DEFAULT_RECONNECT_BACKOFF,
  reconnectMaxDelay: C.DEFAULT_RECONNECT_MAX_DELAY,
  maxReconnects: C.DEFAULT_MAX_RECONNECTS,
  topology: 'full-mesh',
  inbound: [],
  outbound: []
}

/** Options that must be whole numbers of at least the given minimum. */
const INTEGER_MINIMUMS = {
  port: 0,
  maxPeers: 1,
  maxLineLength: 16,
  maxBytesPerMessage: 0,
  maxQueuedBytes: 1,
  slowPeerTimeout: 1,
  connectionTimeout: 1,
  maintenanceInterval: 1,
  discoveryInterval: 1,
  peerTimeout: 1,
  maxKnownPeers: 0,
  maxPendingHandshakes: 1,
  maxHandshakeBytes: 16,
  maxPeersPerList: 0,
  dialConcurrency: 1,
  dialsPerDiscovery: 0,
  dialJitter: 0,
  extraPeersShared: 0,
  inboxSize: 1,
  bootstrapAttempts: 1,
  bootstrapBackoff: 0,
  secureProbeTimeout: 1,
  maxNoiseMessages: 1,
  reconnectAttempts: 0,
  reconnectBackoff: 0,
  reconnectMaxDelay: 0,
  maxReconnects: 0
} satisfies Partial<Record<keyof ResolvedOptions, number>>

/** Overlay options that must be whole numbers of at least the given minimum. */
const OVERLAY_INTEGER_MINIMUMS = {
  activeViewSize: 2,
  passiveViewSize: 0,
  activeWalkLength: 0,
  passiveWalkLength: 0,
  shuffleInterval: 1,
  shuffleActive: 0,
  shufflePassive: 0,
  shuffleWalkLength: 0,
  repairInterval: 1,
  graftTimeout: 1,
  graftRetryTimeout: 1,
  graftHoldTime: 0,
  capabilityTimeout: 1,
  maxHeldMessages: 0,
  maxHops: 1,
  maxSeenMessages: 1,
  seenTtl: 1,
  maxCachedBytes: 0,
  cacheTtl: 0,
  maxRoutes: 0,
  routeTtl: 1,
  routeTimeout: 1
} satisfies Record<Exclude<keyof ResolvedOverlayOptions, 'random'>, number>

const ID_PATTERN = /^[\x21-\x39\x3b-\x7e]{1,128}$/

function expected (name: string, what: string, value: unknown): InvalidOptionError {
  return new InvalidOptionError(`Expected \`${name}\` to be ${what}, got ${JSON.stringify(value) ?? String(value)}`)
}

/** `defaults`, with every option of `opts` that is not `undefined` in place of its default. */
function withDefaults<T extends object> (defaults: T, opts: object): T {
  const resolved = { ...defaults }
  for (const [key, value] of Object.entries(opts)) {
    if (value !== undefined) Object.assign(resolved, { [key]: value })
  }
  return resolved
}

/** @throws InvalidOptionError unless each option named in `minimums` is a whole number of at least its minimum */
function checkIntegers (resolved: object, minimums: Record<string, number>, prefix = ''): void {
  for (const [key, min] of Object.entries(minimums)) {
    const value: unknown = resolved[key as keyof typeof resolved]
    if (!Number.isSafeInteger(value) || (value as number) < min) throw expected(`${prefix}${key}`, `an integer >= ${min}`, value)
  }
}

/** Fills in defaults and checks every option. @throws InvalidOptionError */
export function resolveOptions (opts: MeshNodeOptions = {}): ResolvedOptions {
  const id = opts.id ?? randomBytes(16).toString('hex')
  const resolved = withDefaults<ResolvedOptions>({ ...DEFAULT_OPTIONS, id, name: id, overlay: DEFAULT_OVERLAY_OPTIONS }, opts)
  resolved.overlay = resolveOverlayOptions(opts.overlay)
  if (opts.name === undefined || opts.name === '') resolved.name = id

  checkIntegers(resolved, INTEGER_MINIMUMS)
  if (resolved.port > 65535) throw expected('port', 'an integer from 0 to 65535', resolved.port)
  if (typeof resolved.id !== 'string' || !ID_PATTERN.test(resolved.id)) {
    throw expected('id', '1-128 printable ASCII characters without spaces or `:`', resolved.id)
  }
  // eslint-disable-next-line no-control-regex
  if (typeof resolved.name !== 'string' || /[\x00-\x1f\x7f]/.test(resolved.name) || resolved.name.length > 256) {
    throw expected('name', 'a string of at most 256 characters without control characters', resolved.name)
  }
  if (typeof resolved.host !== 'string' || resolved.host.length === 0) throw expected('host', 'a non-empty string', resolved.host)
  if (resolved.peersFile !== undefined && (typeof resolved.peersFile !== 'string' || resolved.peersFile.length === 0)) {
    throw expected('peersFile', 'a non-empty path', resolved.peersFile)
  }
  if (typeof resolved.autoDial !== 'boolean') throw expected('autoDial', 'a boolean', resolved.autoDial)
  if (!SECURE_MODES.includes(resolved.secure)) throw expected('secure', `one of ${SECURE_MODES.map(mode => `'${mode}'`).join(', ')}`, resolved.secure)
  const { identity, allow } = resolved
  if (identity !== undefined && !(identity instanceof KeyObject) && (typeof identity !== 'string' || identity.length === 0)) {
    throw expected('identity', 'a key file path or a private KeyObject', typeof identity)
  }
  if (allow !== undefined) {
    if (typeof allow !== 'string' && !(Array.isArray(allow) && allow.every(key => typeof key === 'string'))) {
      throw expected('allow', 'an allowlist file path or an array of hex public keys', typeof allow)
    }
    if (resolved.secure === 'off') throw expected('secure', '\'preferred\' or \'required\' when `allow` is set (only Noise proves a key)', resolved.secure)
  }
  if (!TOPOLOGIES.includes(resolved.topology)) throw expected('topology', "'full-mesh' or 'overlay'", resolved.topology)
  if (resolved.topology === 'overlay' && resolved.overlay.activeViewSize >= resolved.maxPeers) {
    // Joins and neighbour requests briefly need connections beyond the active view.
    throw expected('overlay.activeViewSize', `below maxPeers (${resolved.maxPeers})`, resolved.overlay.activeViewSize)
  }
  for (const key of ['inbound', 'outbound'] as const) {
    const list = resolved[key]
    if (!Array.isArray(list) || !list.every(t => typeof t === 'function')) throw expected(key, 'an array of transforms', typeof list)
  }
  return resolved
}

function resolveOverlayOptions (opts: OverlayOptions = {}): ResolvedOverlayOptions {
  if (typeof opts !== 'object' || opts === null) throw expected('overlay', 'an object', opts)
  const resolved = withDefaults(DEFAULT_OVERLAY_OPTIONS, opts)
  checkIntegers(resolved, OVERLAY_INTEGER_MINIMUMS, 'overlay.')
  // Hop counts travel as fields of at most 255.
  if (resolved.maxHops > 255) throw expected('overlay.maxHops', 'an integer from 1 to 255', resolved.maxHops)
  // A payload still cached after its id is forgotten could be announced and delivered again.
  if (resolved.seenTtl < resolved.cacheTtl) throw expected('overlay.seenTtl', `at least overlay.cacheTtl (${resolved.cacheTtl})`, resolved.seenTtl)
  if (typeof resolved.random !== 'function') throw expected('overlay.random', 'a function returning a number in [0, 1)', typeof resolved.random)
  return resolved
}

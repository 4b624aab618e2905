/**
 * Every option of a mesh node, with its default and unit, and the validation
 * that rejects a wrong value with a message naming it.
 */
import { KeyObject, randomBytes } from 'node:crypto'
import * as C from './constants.js'
import { InvalidOptionError } from './errors.js'
import type { TransportFactory } from './transport.js'
import type { MessageTransform } from '../transforms/link.js'

/** How nodes are connected: see `MeshNodeOptions.topology`. */
export type Topology = 'full-mesh' | 'overlay'

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
  /** How connections are made. @default TCP */
  transport?: TransportFactory
  /** Your transforms, run on every connection's inbound messages after the protocol stages. @default [] */
  inbound?: MessageTransform[]
  /** Your transforms, run on every connection's outbound messages before the encoder. @default [] */
  outbound?: MessageTransform[]
}

/** See `MeshNodeOptions.secure`. */
export type SecureMode = 'off' | 'preferred' | 'required'

const SECURE_MODES: readonly SecureMode[] = ['off', 'preferred', 'required']

export type ResolvedOptions = Required<Omit<MeshNodeOptions, 'advertiseHost' | 'transport' | 'identity' | 'allow' | 'peersFile'>> &
Pick<MeshNodeOptions, 'advertiseHost' | 'transport' | 'identity' | 'allow' | 'peersFile'>

export const DEFAULT_OPTIONS: Omit<ResolvedOptions, 'id' | 'name'> = {
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

const ID_PATTERN = /^[\x21-\x39\x3b-\x7e]{1,128}$/

function expected (name: string, what: string, value: unknown): InvalidOptionError {
  return new InvalidOptionError(`Expected \`${name}\` to be ${what}, got ${JSON.stringify(value) ?? String(value)}`)
}

/** Fills in defaults and checks every option. @throws InvalidOptionError */
export function resolveOptions (opts: MeshNodeOptions = {}): ResolvedOptions {
  const id = opts.id ?? randomBytes(16).toString('hex')
  const resolved: ResolvedOptions = { ...DEFAULT_OPTIONS, id, name: id }
  for (const [key, value] of Object.entries(opts)) {
    if (value !== undefined) Object.assign(resolved, { [key]: value })
  }
  if (opts.name === undefined || opts.name === '') resolved.name = id

  for (const [key, min] of Object.entries(INTEGER_MINIMUMS)) {
    const value = resolved[key as keyof typeof INTEGER_MINIMUMS]
    if (!Number.isSafeInteger(value) || value < min) throw expected(key, `an integer >= ${min}`, value)
  }
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
  for (const key of ['inbound', 'outbound'] as const) {
    const list = resolved[key]
    if (!Array.isArray(list) || !list.every(t => typeof t === 'function')) throw expected(key, 'an array of transforms', typeof list)
  }
  return resolved
}

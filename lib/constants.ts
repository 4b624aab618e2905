/**
 * Every default limit and interval of meshline, with its unit, in one place.
 * Options refer to these as `opts.x ?? DEFAULT_X`.
 */

const KiB = 1024
const MiB = 1024 * KiB

/** Longest line accepted, in bytes, excluding its `\n`. */
export const DEFAULT_MAX_LINE_LENGTH = 64 * KiB

/** Largest `BYTES` payload accepted or sent, in bytes (the protocol's 16 MiB). */
export const DEFAULT_MAX_BYTES_PER_MESSAGE = 16 * MiB

/** Bytes a peer's outbound queue may hold before senders wait. */
export const DEFAULT_MAX_QUEUED_BYTES = 4 * MiB

/** How long a sender may wait on a full peer queue before that peer is dropped, in ms. */
export const DEFAULT_SLOW_PEER_TIMEOUT = 10_000

/** How long a handshake may take, in ms (the protocol's connection timeout). */
export const DEFAULT_CONNECTION_TIMEOUT = 10_000

/** How often every peer is sent `PING`, in ms. */
export const DEFAULT_MAINTENANCE_INTERVAL = 15_000

/** How often every peer is sent `REQUEST_PEERS`, in ms. */
export const DEFAULT_DISCOVERY_INTERVAL = 30_000

/** Silence after which a peer is dropped, in ms. */
export const DEFAULT_PEER_TIMEOUT = 60_000

/** Connected peers a node keeps at most. */
export const DEFAULT_MAX_PEERS = 10

/** Addresses a node remembers at most (the oldest unconnected ones are forgotten first). */
export const DEFAULT_MAX_KNOWN_PEERS = 1000

/** Connections accepted but not yet through their handshake, at most. */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 64

/**
 * Bytes a remote may send before its handshake completes, in bytes: room for
 * a hello and a `LISTEN:` line at the default line limit. A BYTES frame sent
 * before the handshake would otherwise be buffered up to maxBytesPerMessage
 * for every pending handshake.
 */
export const DEFAULT_MAX_HANDSHAKE_BYTES = 2 * DEFAULT_MAX_LINE_LENGTH

/** Times a lost peer's address is redialled before giving up. */
export const DEFAULT_RECONNECT_ATTEMPTS = 6

/** Delay before the first redial of a lost peer, doubled on every attempt (with jitter), in ms. */
export const DEFAULT_RECONNECT_BACKOFF = 1_000

/** Longest delay between two redials of a lost peer, before jitter, in ms. */
export const DEFAULT_RECONNECT_MAX_DELAY = 30_000

/** Addresses being redialled at once (one timer each). */
export const DEFAULT_MAX_RECONNECTS = 64

/** Quiet time after a change of peers before the peers file is rewritten, in ms. */
export const PEERS_FILE_SAVE_DELAY = 1_000

/** Longest address a peers file line may hold, in bytes: a 253-byte host, brackets, `:` and a port. */
export const MAX_ADDRESS_LENGTH = 262

/** Dials in flight at once. */
export const DEFAULT_DIAL_CONCURRENCY = 3

/** Discovered addresses dialled per received `PEERS` list (the protocol's 3). */
export const DEFAULT_DIALS_PER_DISCOVERY = 3

/** Upper bound of the random delay before dialling a discovered address, in ms (the protocol's 5 s). */
export const DEFAULT_DIAL_JITTER = 5_000

/** Known addresses, beyond the connected ones, included in a `PEERS` answer (the protocol's 5). */
export const DEFAULT_EXTRA_PEERS_SHARED = 5

/** Largest `PEERS` list accepted: entries beyond it are ignored and reported. */
export const DEFAULT_MAX_PEERS_PER_LIST = 256

/** Messages buffered for each `messages()` reader before delivery waits for it. */
export const DEFAULT_INBOX_SIZE = 1024

/** Bootstrap attempts before giving up. */
export const DEFAULT_BOOTSTRAP_ATTEMPTS = 5

/** First retry delay of a bootstrap, doubled on every attempt, in ms. */
export const DEFAULT_BOOTSTRAP_BACKOFF = 500

/** Payloads at least this long are written by reference instead of copied into a coalesced write, in bytes. */
export const COALESCE_COPY_LIMIT = 16 * KiB

/** Connections the kernel queues for a TCP listener before they are accepted (Node's own default). */
export const DEFAULT_LISTEN_BACKLOG = 511

/** Bytes read from a socket and not yet consumed before it is paused. */
export const DEFAULT_READ_HIGH_WATER_MARK = 256 * KiB

/**
 * Noise transport messages a secure link seals (or opens) per direction
 * before it is closed, so that no nonce is ever reused (2^53-1, the largest
 * exact counter, far below the 2^64-1 the Noise spec reserves).
 */
export const DEFAULT_MAX_NOISE_MESSAGES = Number.MAX_SAFE_INTEGER

/**
 * How long a `preferred` dialer waits for the first byte of a Noise answer
 * before it treats the peer as a plaintext peer, in ms. Noise peers answer
 * at once; existing plaintext peers stay silent until their own timeout.
 */
export const DEFAULT_SECURE_PROBE_TIMEOUT = 3_000

/** Entries read from one list in an overlay frame (IHAVE ids, shuffle samples) at most; a longer list is a protocol error. */
export const MAX_OVERLAY_LIST_ENTRIES = 256

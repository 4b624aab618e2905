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

/* Overlay topology (HyParView membership, Plumtree broadcast, routing). */

/** Neighbours each overlay node keeps connected (HyParView active view). */
export const DEFAULT_ACTIVE_VIEW_SIZE = 5

/** Addresses each overlay node keeps to replace failed neighbours from (HyParView passive view). */
export const DEFAULT_PASSIVE_VIEW_SIZE = 30

/** Hops a JOIN is forwarded by random walk before the last node takes the newcomer as a neighbour (HyParView ARWL). */
export const DEFAULT_ACTIVE_WALK_LENGTH = 6

/** Remaining walk length at which a forwarded JOIN adds the newcomer to the passive view (HyParView PRWL). */
export const DEFAULT_PASSIVE_WALK_LENGTH = 3

/** How often a node exchanges a sample of its views with a random node, in ms. */
export const DEFAULT_SHUFFLE_INTERVAL = 10_000

/** Active-view entries sent in a shuffle (HyParView ka). */
export const DEFAULT_SHUFFLE_ACTIVE = 3

/** Passive-view entries sent in a shuffle (HyParView kp). */
export const DEFAULT_SHUFFLE_PASSIVE = 4

/** Hops a shuffle is forwarded by random walk. */
export const DEFAULT_SHUFFLE_WALK_LENGTH = 4

/** How often a node with free active-view slots asks passive-view nodes to become neighbours, in ms. */
export const DEFAULT_REPAIR_INTERVAL = 1_000

/** Wait after the first IHAVE for a missing payload before pulling it with GRAFT, in ms (Plumtree timer 1). */
export const DEFAULT_GRAFT_TIMEOUT = 500

/** Wait after a GRAFT before asking the next announcer, in ms (Plumtree timer 2). */
export const DEFAULT_GRAFT_RETRY_TIMEOUT = 250

/** How long a link made eager by a GRAFT is not pruned, in ms. */
export const DEFAULT_GRAFT_HOLD_TIME = 2_000

/** Wait for a new peer's capability announcement before treating it as a plain line-protocol peer, in ms. */
export const DEFAULT_CAPABILITY_TIMEOUT = 2_000

/** Broadcasts held for a peer while its capabilities are unknown; one more decides that it is a plain peer. */
export const DEFAULT_MAX_HELD_MESSAGES = 256

/** Hop limit of overlay broadcasts and routed messages. */
export const DEFAULT_MAX_HOPS = 64

/** Broadcast ids remembered to deliver each broadcast once. */
export const DEFAULT_MAX_SEEN_MESSAGES = 65_536

/** How long a broadcast id is remembered, in ms. */
export const DEFAULT_SEEN_TTL = 120_000

/** Payload bytes kept to answer GRAFTs and to announce to new neighbours. */
export const DEFAULT_MAX_CACHED_BYTES = 16 * MiB

/** How long a payload is kept to answer GRAFTs and to announce to new neighbours, in ms. */
export const DEFAULT_CACHE_TTL = 30_000

/** Routes (node id to next hop) an overlay node keeps. */
export const DEFAULT_MAX_ROUTES = 4096

/** How long a learnt route is used, in ms. */
export const DEFAULT_ROUTE_TTL = 60_000

/** How long a direct message to a node that is not a neighbour waits for a route, in ms. */
export const DEFAULT_ROUTE_TIMEOUT = 3_000

/** Entries read from one list in an overlay frame (IHAVE ids, shuffle samples) at most; a longer list is a protocol error. */
export const MAX_OVERLAY_LIST_ENTRIES = 256

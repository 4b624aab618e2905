/**
 * The line protocol's limits and timers, with their units: the defaults of
 * the transforms, which a node's options take over as theirs.
 */

const KiB = 1024
const MiB = 1024 * KiB

/** Longest line accepted, in bytes, excluding its `\n`. */
export const DEFAULT_MAX_LINE_LENGTH = 64 * KiB

/** Largest `BYTES` payload accepted or sent, in bytes (the protocol's 16 MiB). */
export const DEFAULT_MAX_BYTES_PER_MESSAGE = 16 * MiB

/** How long a handshake may take, in ms (the protocol's connection timeout). */
export const DEFAULT_CONNECTION_TIMEOUT = 10_000

/** How often every peer is sent `PING`, in ms. */
export const DEFAULT_MAINTENANCE_INTERVAL = 15_000

/** How often every peer is sent `REQUEST_PEERS`, in ms. */
export const DEFAULT_DISCOVERY_INTERVAL = 30_000

/** Silence after which a peer is dropped, in ms. */
export const DEFAULT_PEER_TIMEOUT = 60_000

/** Payloads at least this long are written by reference instead of copied into a coalesced write, in bytes. */
export const COALESCE_COPY_LIMIT = 16 * KiB

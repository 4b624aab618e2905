/** The events a `MeshNode` emits, with what each one carries. */
import type { Uint8ArrayList } from 'uint8arraylist'
import type { LimitExceededError, PeersFileError, UntrustedMessageError } from '../errors.js'
import type { Denial } from '../secure/secure-links.js'
import type { MessageSource, PeerInfo } from '../types.js'
import type { Message } from '../../transforms/core/line-protocol.js'

export interface MeshEvents {
  started: [{ id: string, name: string, address: string }]
  stopped: []
  'peer:connect': [{ peer: PeerInfo, peerCount: number }]
  'peer:disconnect': [{ peer: PeerInfo, reason: Error, peerCount: number }]
  /** A peer was dropped for `peerTimeout` of silence (followed by `peer:disconnect`). */
  'peer:timeout': [{ peer: PeerInfo }]
  /** Addresses learnt from a `PEERS:` list that were not known before. */
  'peers:discovered': [{ from: PeerInfo | undefined, addresses: string[] }]
  /** Chat text; `origin`, `hops` and `authenticity` as in `IncomingMessage`. */
  chat: [{ peer: PeerInfo, text: string } & MessageSource]
  /** `BYTES` payloads that no handler claimed. */
  bytes: [{ peer: PeerInfo, data: Uint8ArrayList } & MessageSource]
  /** A dial failed after its last attempt. */
  'dial:failed': [{ address: string, error: Error }]
  /** Something went wrong on a connection; `closed` says whether the connection was closed for it. */
  'connection:error': [{ error: Error, remoteAddress: string, peer: PeerInfo | undefined, closed: boolean }]
  /** A sub-protocol handler threw or rejected. */
  'handler:error': [{ error: Error, peer: PeerInfo, prefix: string }]
  /** A stream handler threw or rejected; the stream was reset. */
  'stream:error': [{ error: Error, peer: PeerInfo, protocol: string }]
  /**
   * A peer was refused by the allowlist: after the Noise handshake proved a
   * key that is not on it, or at once for a plaintext peer (`publicKey` undefined).
   */
  'peer:denied': [Denial]
  /** Control traffic received: `PING`, `PONG`, `REQUEST_PEERS`, `PEERS:`. */
  debug: [{ peer: PeerInfo, message: Message }]
  /**
   * An overlay message relayed by `peer` was refused end to end (forged,
   * altered, replayed, unsigned where signatures are required, or sealed for
   * another key): neither delivered nor relayed. `closed` says whether the
   * link was cut for sending `overlay.maxInvalidMessages` of them.
   */
  'message:refused': [{ error: UntrustedMessageError, peer: PeerInfo, closed: boolean }]
  /** A node-wide table (known addresses, redials) hit its bound: the excess was forgotten or refused. */
  'limit:exceeded': [{ error: LimitExceededError }]
  /** The peers file could not be read or written, or was damaged; the node runs on without it. */
  'peers-file:error': [{ error: PeersFileError }]
}

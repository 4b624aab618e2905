/**
 * How a browser finds nodes it can dial: the addresses the mesh passes
 * around (`PEERS:`, the overlay's views) are TCP listen addresses, out of a
 * page's reach, so meshline nodes also answer, on the request protocol
 * `/meshline/websocket-addresses/1`, where they and their peers listen for
 * WebSocket connections (`wsPort`). Asked for `peers`, a node answers with
 * its own address and asks each of its other meshline peers for theirs
 * (`self`), at once and within half of `connectionTimeout` (so that the
 * asker, waiting `connectionTimeout`, gets an answer); the answer is JSON,
 * `[{ "id", "address" }]`, one entry per node, at most `maxPeers` + 1.
 */
import { LimitExceededError, ProtocolUnsupportedError, StreamsUnsupportedError } from '../errors.js'
import type { RequestHandler, RequestOptions } from './streams.js'
import type { PeerInfo } from '../types.js'
import { idProblem, normalizeAddress } from '../../transforms/core/line-protocol.js'

export const WEBSOCKET_ADDRESSES_PROTOCOL = '/meshline/websocket-addresses/1'

/** Where a node listens for WebSocket connections. */
export interface WebSocketPeer {
  id: string
  /** `host:port` */
  address: string
}

export interface WebSocketPeersHost {
  readonly id: string
  /** This node's WebSocket listen address, as the peer on the other end of `peer`'s connection reaches it. */
  webSocketAddress: (peer: PeerInfo) => string | undefined
  peers: () => PeerInfo[]
  request: (peerId: string, protocol: string, data: Uint8Array, options?: RequestOptions) => Promise<Uint8Array>
  readonly maxPeers: number
  readonly connectionTimeout: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const SELF = encoder.encode('self')
const PEERS = encoder.encode('peers')
/** Bytes of one entry at most: an id of up to 100 characters and an address. */
const ENTRY_BYTES = 400

/** The entries of an answer that are well formed, at most `max` of them; the rest are dropped. */
function parseAnswer (bytes: Uint8Array, max: number): WebSocketPeer[] {
  let entries: unknown
  try {
    entries = JSON.parse(decoder.decode(bytes))
  } catch {
    return []
  }
  if (!Array.isArray(entries)) return []
  const valid: WebSocketPeer[] = []
  for (const entry of entries.slice(0, max)) {
    const { id, address } = (entry ?? {}) as Partial<Record<keyof WebSocketPeer, unknown>>
    if (typeof id !== 'string' || idProblem(id) !== undefined || typeof address !== 'string') continue
    try {
      valid.push({ id, address: normalizeAddress(address) })
    } catch {}
  }
  return valid
}

export class WebSocketPeers {
  constructor (private readonly host: WebSocketPeersHost) {}

  /** Answers requests for this node's address (`self`) or for its own and its peers' (`peers`). */
  readonly handler: RequestHandler = async (request, asker) => {
    const own = this.host.webSocketAddress(asker)
    const self = own === undefined ? [] : [{ id: this.host.id, address: own }]
    if (decoder.decode(request) !== 'peers') return encoder.encode(JSON.stringify(self))
    const others = this.host.peers().filter(peer => peer.id !== asker.id)
    const answers = await Promise.all(others.map(async peer => await this.ask(peer.id, SELF, { timeout: Math.floor(this.host.connectionTimeout / 2) })))
    const byId = new Map<string, WebSocketPeer>()
    for (const entry of [...self, ...answers.flat()]) if (!byId.has(entry.id)) byId.set(entry.id, entry)
    return encoder.encode(JSON.stringify([...byId.values()].slice(0, this.host.maxPeers + 1)))
  }

  /**
   * Where `peerId` and its peers listen for WebSocket connections.
   * @throws what `request()` throws; a peer that does not answer the protocol gives an empty list
   */
  async of (peerId: string): Promise<WebSocketPeer[]> {
    return await this.ask(peerId, PEERS, {}, true)
  }

  private async ask (peerId: string, what: Uint8Array, options: RequestOptions, rethrow = false): Promise<WebSocketPeer[]> {
    const max = this.host.maxPeers + 1
    try {
      return parseAnswer(await this.host.request(peerId, WEBSOCKET_ADDRESSES_PROTOCOL, what, { ...options, maxResponseBytes: max * ENTRY_BYTES }), max)
    } catch (error) {
      // A line-protocol peer, or a meshline node from before this protocol: it has nothing to tell.
      if (error instanceof StreamsUnsupportedError || error instanceof ProtocolUnsupportedError) return []
      if (rethrow && !(error instanceof LimitExceededError)) throw error
      return []
    }
  }
}

/**
 * The WebSocket-address exchange on its own, with a host the test plays:
 * an answer keeps at most `maxPeers` + 1 well-formed entries whatever a
 * peer sends, and a `peers` request gathers the node's own address and its
 * other peers' answers, one entry per node.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { WebSocketPeers, type WebSocketPeersHost } from '../../lib/mesh/websocket-peers.js'
import type { PeerInfo } from '../../lib/types.js'

const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
const peer = (id: string): PeerInfo => ({ id }) as PeerInfo

function host (answers: Record<string, unknown>, overrides: Partial<WebSocketPeersHost> = {}): WebSocketPeersHost {
  return {
    id: 'self',
    maxPeers: 3,
    connectionTimeout: 1000,
    webSocketAddress: () => '10.0.0.1:7001',
    peers: () => Object.keys(answers).map(peer),
    request: async peerId => encode(answers[peerId]),
    ...overrides
  }
}

describe('WebSocketPeers', () => {
  it('keeps at most maxPeers + 1 well-formed entries of an answer, and drops the rest', async () => {
    const flood = [
      { id: 'bad id', address: '10.0.0.2:1' },
      { id: 'ok1', address: 'not an address' },
      { id: 'ok2' },
      ...Array.from({ length: 50 }, (_, i) => ({ id: `n${i}`, address: `10.0.1.${i}:7001` }))
    ]
    const found = await new WebSocketPeers(host({ far: flood })).of('far')
    // The first maxPeers + 1 entries are read; the malformed among them are dropped.
    assert.deepEqual(found, [{ id: 'n0', address: '10.0.1.0:7001' }])
    assert.deepEqual(await new WebSocketPeers(host({ far: 'not a list' })).of('far'), [])
  })

  it('answers peers with its own address and each other peer\'s own, once per node', async () => {
    const asked: string[] = []
    const node = new WebSocketPeers(host({ a: [{ id: 'a', address: '10.0.0.2:7001' }], b: [{ id: 'a', address: '10.0.0.9:1' }], asker: [] }, {
      request: async (peerId, _protocol, data) => {
        asked.push(`${peerId} ${new TextDecoder().decode(data)}`)
        return encode(peerId === 'a' ? [{ id: 'a', address: '10.0.0.2:7001' }] : [{ id: 'a', address: '10.0.0.9:1' }])
      }
    }))
    const answer = await node.handler(new TextEncoder().encode('peers'), peer('asker'))
    assert.deepEqual(JSON.parse(new TextDecoder().decode(answer as Uint8Array)), [{ id: 'self', address: '10.0.0.1:7001' }, { id: 'a', address: '10.0.0.2:7001' }])
    assert.deepEqual(asked.sort(), ['a self', 'b self'], 'the asker is not asked back')
    const self = await node.handler(new TextEncoder().encode('self'), peer('asker'))
    assert.deepEqual(JSON.parse(new TextDecoder().decode(self as Uint8Array)), [{ id: 'self', address: '10.0.0.1:7001' }])
  })
})

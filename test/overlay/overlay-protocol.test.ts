import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import { OVERLAY_PREFIX, decodeFrame, describeFrame, encodeFrame, type OverlayFrame } from '../../lib/overlay/overlay-protocol.js'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

/** Re-chunks a payload into pieces of `size` bytes, as it may arrive from a socket. */
function rechunk (data: Uint8ArrayList, size: number): Uint8ArrayList {
  const flat = data.subarray()
  const out = new Uint8ArrayList()
  for (let i = 0; i < flat.length; i += size) out.append(flat.slice(i, i + size))
  return out
}

function roundTrip (frame: OverlayFrame, chunkSize = 1): OverlayFrame {
  const decoded = decodeFrame(rechunk(encodeFrame(frame), chunkSize))
  if ('payload' in decoded) return { ...decoded, payload: decoded.payload.slice() } as OverlayFrame
  return decoded
}

const FRAMES: OverlayFrame[] = [
  { type: 'caps', topology: 'overlay', reply: false },
  { type: 'caps', topology: 'full-mesh', reply: true },
  { type: 'join' },
  { type: 'forward-join', ttl: 6, peer: { id: 'n1', address: '127.0.0.1:4000' } },
  { type: 'neighbor', priority: 'high' },
  { type: 'neighbor', priority: 'low' },
  { type: 'neighbor-reply', accepted: true },
  { type: 'neighbor-reply', accepted: false },
  { type: 'disconnect' },
  { type: 'shuffle', ttl: 4, hops: 1, origin: 'a,b@c', entries: [{ id: 'a,b@c', address: 'sim:1' }, { id: 'x', address: '[::1]:9' }] },
  { type: 'shuffle-reply', target: 'a', hops: 2, entries: [] },
  { type: 'gossip', id: 'abc123', kind: 'chat', hops: 1, hopLimit: 64, origin: { id: 'o', name: 'Ada Lovelace' }, payload: text('hello\nworld') },
  { type: 'gossip', id: 'abc124', kind: 'bytes', hops: 3, hopLimit: 9, origin: { id: 'o', name: '' }, payload: new Uint8Array([0, 10, 255]) },
  { type: 'gossip', id: 'abc125', kind: 'route-request', hops: 1, hopLimit: 64, origin: { id: 'o', name: 'o' }, payload: text('target') },
  { type: 'ihave', ids: [{ id: 'm1', hops: 2 }, { id: 'm2', hops: 5 }] },
  { type: 'graft', id: 'm1' },
  { type: 'graft' },
  { type: 'prune' },
  { type: 'route', source: { id: 's', name: 'S name' }, target: 't', hops: 1, hopLimit: 64, kind: 'bytes', payload: new Uint8Array(0) },
  { type: 'route-reply', requester: 's', target: 't', hops: 4, hopLimit: 64 }
]

describe('overlay wire', () => {
  for (const frame of FRAMES) {
    it(`round-trips ${describeFrame(frame)}, one byte per chunk`, () => {
      assert.deepEqual(roundTrip(frame), frame)
      assert.deepEqual(roundTrip(frame, 7), frame)
    })
  }

  it('starts every frame with the distinctive prefix, and writes the header as text', () => {
    const encoded = new TextDecoder().decode(encodeFrame({ type: 'forward-join', ttl: 6, peer: { id: 'n1', address: 'h:1' } }).subarray())
    assert.equal(encoded, `${OVERLAY_PREFIX}FORWARD_JOIN 6 n1:h:1`)
  })

  it('appends a payload by reference, without copying it', () => {
    const payload = new Uint8Array(100_000)
    const encoded = encodeFrame({ type: 'gossip', id: 'm', kind: 'bytes', hops: 1, hopLimit: 2, origin: { id: 'o', name: '' }, payload })
    assert.ok([...encoded].includes(payload))
  })

  const bad: Array<[string, string]> = [
    ['unknown word', 'HELLO'],
    ['bad topology', 'CAPS star probe'],
    ['missing field', 'FORWARD_JOIN 6'],
    ['extra field', 'JOIN now'],
    ['non-numeric ttl', 'FORWARD_JOIN six n1:h:1'],
    ['negative ttl', 'FORWARD_JOIN -1 n1:h:1'],
    ['graft with two ids', 'GRAFT m1 m2'],
    ['peer without address', 'FORWARD_JOIN 6 n1'],
    ['bad address', 'FORWARD_JOIN 6 n1:h:99999'],
    ['bad message id', 'GRAFT a/b'],
    ['payload on a control frame', 'PRUNE\nxyz'],
    ['gossip without payload separator', 'GOSSIP m chat 1 2 o name'],
    ['empty ihave', 'IHAVE'],
    ['odd ihave', 'IHAVE m1 2 m2'],
    ['double space', 'NEIGHBOR  high'],
    ['name with a control character', 'GOSSIP m chat 1 2 o bad\u0007name\nx'],
    ['ttl out of range', 'FORWARD_JOIN 256 n1:h:1']
  ]
  for (const [what, header] of bad) {
    it(`rejects a frame with ${what} with ERR_OVERLAY_FRAME`, () => {
      assert.throws(() => decodeFrame(new Uint8ArrayList(text(OVERLAY_PREFIX + header))), { code: 'ERR_OVERLAY_FRAME' })
    })
  }

  it('rejects lists longer than the bound', () => {
    const ids = Array.from({ length: 257 }, (_, i) => `m${i} 1`).join(' ')
    assert.throws(() => decodeFrame(new Uint8ArrayList(text(`${OVERLAY_PREFIX}IHAVE ${ids}`))), { code: 'ERR_OVERLAY_FRAME' })
  })

  it('rejects a header that is not UTF-8', () => {
    const data = new Uint8ArrayList(text(OVERLAY_PREFIX), new Uint8Array([0xff, 0xfe]))
    assert.throws(() => decodeFrame(data), { code: 'ERR_OVERLAY_FRAME' })
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { AddressBook } from '../../lib/mesh/address-book.js'
import { PeerExchange, type PeerExchangeHost } from '../../lib/mesh/peer-exchange.js'
import { SelfAddresses } from '../../lib/mesh/self-addresses.js'
import type { PeerInfo } from '../../lib/types.js'

function exchange (opts: { connected?: string[], maxPeersPerList?: number, maxKnownPeers?: number, connectedPeersShared?: number, extraPeersShared?: number } = {}) {
  const self = new SelfAddresses('127.0.0.1', undefined, 16)
  self.listening(4000)
  const book = new AddressBook(opts.maxKnownPeers ?? 100)
  const seen = { discovered: [] as string[][], errors: [] as string[], limits: [] as string[], dials: 0 }
  const host: PeerExchangeHost = {
    connectedAddresses: () => opts.connected ?? [],
    book,
    self,
    dialSome: () => { seen.dials++ },
    onDiscovered: (_from, addresses) => { seen.discovered.push(addresses) },
    onListError: error => { seen.errors.push((error as Error & { code: string }).code) },
    onLimit: error => { seen.limits.push(error.code) }
  }
  const px = new PeerExchange({ maxPeersPerList: opts.maxPeersPerList ?? 256, maxKnownPeers: opts.maxKnownPeers ?? 100, connectedPeersShared: opts.connectedPeersShared ?? 16, extraPeersShared: opts.extraPeersShared ?? 5 }, host)
  return { px, book, seen }
}

const list = (...addresses: string[]) => ({ type: 'peers' as const, addresses })
const FROM: PeerInfo | undefined = undefined

describe('PeerExchange', () => {
  it('shares connected peers, then a few proven ones, never the receiver nor an IPv6 loopback', () => {
    const { px, book } = exchange({ connected: ['a:1', 'b:1', '[::1]:5', undefined as unknown as string], extraPeersShared: 1 })
    for (const address of ['p:1', 'q:1']) {
      book.add(address)
      book.markDialed(address)
    }
    book.add('heard:1')
    const shared = px.peersToShare('b:1')
    assert.deepEqual(shared.slice(0, 1), ['a:1'])
    assert.equal(shared.length, 2, 'one extra proven address')
    assert.ok(['p:1', 'q:1'].includes(shared[1] as string))
    assert.ok(!shared.includes('heard:1'), 'addresses merely heard of are not passed on')
  })

  it('names at most connectedPeersShared connected peers in a list, a different sample each time, so every peer is named in time', () => {
    const connected = Array.from({ length: 40 }, (_, i) => `10.0.0.${i}:1`)
    const { px } = exchange({ connected, connectedPeersShared: 8 })
    const named = new Set<string>()
    for (let i = 0; i < 100; i++) {
      const shared = px.peersToShare(undefined)
      assert.equal(shared.length, 8)
      for (const address of shared) named.add(address)
    }
    assert.equal(named.size, 40, 'a random sample each time: 100 lists of 8 name all 40 peers')
    assert.deepEqual(exchange({ connected, connectedPeersShared: 0 }).px.peersToShare(undefined), [])
  })

  it('learns new addresses, skips its own and IPv6 loopback ones, and dials some', () => {
    const { px, book, seen } = exchange()
    px.learn(list('10.0.0.1:1', '127.0.0.1:4000', '[::1]:7', '10.0.0.2:1'), FROM, 'x:1')
    assert.deepEqual(seen.discovered, [['10.0.0.1:1', '10.0.0.2:1']])
    assert.equal(book.size, 2)
    assert.equal(seen.dials, 1)
    px.learn(list('10.0.0.1:1'), FROM, 'x:1')
    assert.equal(seen.discovered.length, 1, 'nothing new, no event')
  })

  it('reads at most maxPeersPerList entries and reports the rest, and reports malformed entries', () => {
    const { px, book, seen } = exchange({ maxPeersPerList: 2 })
    px.learn({ type: 'peers', addresses: ['a:1', 'b:1', 'c:1'], rejected: ['nonsense'] }, FROM, 'x:1')
    assert.deepEqual(seen.errors, ['ERR_MALFORMED_PEERS', 'ERR_LIMIT_EXCEEDED'])
    assert.equal(book.size, 2)
  })

  it('reports once per list when a full book forgets addresses to make room', () => {
    const { px, seen } = exchange({ maxKnownPeers: 2 })
    px.learn(list('a:1', 'b:1'), FROM, 'x:1')
    assert.deepEqual(seen.limits, [])
    px.learn(list('c:1', 'd:1', 'e:1'), FROM, 'x:1')
    assert.deepEqual(seen.limits, ['ERR_LIMIT_EXCEEDED'])
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { AddressBook } from '../../lib/mesh/address-book.js'
import { Dialler, type DiallerHost, type DiallerOptions } from '../../lib/mesh/dialler.js'
import { SelfAddresses } from '../../lib/mesh/self-addresses.js'
import { DialError, SelfConnectionError, type MeshlineError } from '../../lib/errors.js'
import type { PeerInfo } from '../../lib/types.js'
import { waitFor } from '../../harness/async.js'

const OPTIONS: DiallerOptions = {
  maxPeers: 10,
  connectionTimeout: 1000,
  dialConcurrency: 2,
  dialsPerDiscovery: 3,
  dialJitter: 0,
  bootstrapAttempts: 3,
  bootstrapBackoff: 1,
  reconnectAttempts: 2,
  reconnectBackoff: 1,
  reconnectMaxDelay: 5,
  maxReconnects: 4
}

const peer = (address: string): PeerInfo => ({
  id: `id-${address}`, name: address, address, remoteAddress: address, direction: 'outbound', connectedAt: 0, lastSeen: 0, security: 'plaintext', cipher: undefined, publicKey: undefined, fingerprint: undefined
})

/** A dialler whose attempts run `open`, over a real book and self-address set; what it reports is collected. */
function dialler (open: (address: string) => Promise<PeerInfo>, opts: Partial<DiallerOptions> = {}, connected = 0) {
  const controller = new AbortController()
  const book = new AddressBook(100)
  const self = new SelfAddresses('127.0.0.1', undefined, 16)
  self.listening(4000)
  const failed: Array<[string, string]> = []
  const full = { count: 0 }
  const opens: string[] = []
  const host: DiallerHost = {
    running: true,
    signal: controller.signal,
    book,
    self,
    peerAt: () => undefined,
    peerCount: () => connected,
    open: async address => { opens.push(address); return await open(address) },
    joined: () => undefined,
    peerSoonAt: async () => undefined,
    onDialFailed: (address, error) => { failed.push([address, (error as MeshlineError).code]) },
    onLimit: () => {},
    full: () => { full.count++ }
  }
  return { d: new Dialler({ ...OPTIONS, ...opts }, host), book, self, failed, opens, full, stop: () => { controller.abort() } }
}

describe('Dialler', () => {
  it('shares one attempt per address among everyone who asks meanwhile', async () => {
    let release: (p: PeerInfo) => void = () => {}
    const { d, opens } = dialler(async () => await new Promise(resolve => { release = resolve }))
    const first = d.dial('10.0.0.1:1')
    const second = d.dial('10.0.0.1:1')
    assert.equal(first, second)
    assert.equal(d.isDialing('10.0.0.1:1'), true)
    await waitFor(() => opens.length === 1, 'the attempt to start')
    release(peer('10.0.0.1:1'))
    assert.equal((await first).address, '10.0.0.1:1')
    assert.equal(d.isDialing('10.0.0.1:1'), false)
  })

  it('refuses its own address, and learns an address that turns out to be itself', async () => {
    const { d, self, book } = dialler(async () => { throw new SelfConnectionError() })
    await assert.rejects(d.dial('127.0.0.1:4000'), (err: MeshlineError) => err.code === 'ERR_SELF_CONNECTION')
    book.add('10.0.0.9:1')
    await assert.rejects(d.dial('10.0.0.9:1'), (err: MeshlineError) => err.code === 'ERR_SELF_CONNECTION')
    assert.equal(self.has('10.0.0.9:1'), true)
    assert.equal(book.get('10.0.0.9:1'), undefined)
  })

  it('forgets an address after reconnectAttempts failed dials in a row', async () => {
    const { d, book } = dialler(async () => { throw new Error('refused') })
    book.add('10.0.0.2:1')
    for (let i = 0; i < OPTIONS.reconnectAttempts; i++) await assert.rejects(d.dial('10.0.0.2:1'))
    assert.equal(book.get('10.0.0.2:1'), undefined)
  })

  it('connect() tries bootstrapAttempts times, then fails with a DialError naming the last cause', async () => {
    const { d, opens, failed } = dialler(async () => { throw new Error('refused') })
    await assert.rejects(d.connect('10.0.0.3:1'), (err: unknown) => err instanceof DialError && err.attempts === OPTIONS.bootstrapAttempts && (err.cause as Error).message === 'refused')
    assert.equal(opens.length, OPTIONS.bootstrapAttempts)
    assert.deepEqual(failed, [['10.0.0.3:1', 'ERR_DIAL_FAILED']])
  })

  it('dials discovered addresses only while there is room under maxPeers, at most dialsPerDiscovery a time', async () => {
    const { d, book, opens, stop } = dialler(async () => await new Promise(() => {}), { maxPeers: 4, dialsPerDiscovery: 5 }, 2)
    for (let i = 1; i <= 6; i++) book.add(`10.0.1.${i}:1`)
    d.dialSome()
    await waitFor(() => opens.length === 2, 'two dials: four peers at most, two connected')
    d.dialSome()
    assert.equal(d.sizes.dialing + d.sizes.scheduledDials, 2, 'no more room')
    stop()
  })

  it('says so when known addresses go undialled because the node is at maxPeers', () => {
    const { d, book, full } = dialler(async () => await new Promise(() => {}), { maxPeers: 2 }, 2)
    d.dialSome()
    assert.equal(full.count, 0, 'nothing left undialled')
    book.add('10.0.2.1:1')
    d.dialSome()
    assert.equal(full.count, 1)
  })
})

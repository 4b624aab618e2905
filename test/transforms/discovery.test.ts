import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { discovery, type DiscoveryOptions } from '../../transforms/discovery.js'
import { REQUEST_PEERS_MESSAGE, type Message, type PeersMessage } from '../../transforms/core/line-protocol.js'
import { activeTimers, PENDING, settled, sleep, waitFor } from '../../harness/async.js'
import { Batches, FakeLink, finish } from '../support/pipeline.js'

interface Setup {
  link: FakeLink
  source: Batches
  received: PeersMessage[]
  out: AsyncGenerator<Message[]>
  /** What peersToShare returns; the test may change it. */
  shared: string[]
}

function setup (opts: Partial<DiscoveryOptions> = {}): Setup {
  const link = new FakeLink()
  const source = new Batches()
  const received: PeersMessage[] = []
  const state = { shared: ['10.0.0.1:1', '10.0.0.2:2'] }
  const out = discovery({
    link,
    // Long by default, so each test only sees the timer it is about.
    discoveryInterval: 10_000,
    peersToShare: () => state.shared,
    onPeers: msg => { received.push(msg) },
    ...opts
  })(source) as AsyncGenerator<Message[]>
  return {
    link,
    source,
    received,
    out,
    get shared () { return state.shared },
    set shared (value) { state.shared = value }
  }
}

describe('discovery: answers', () => {
  it('answers REQUEST_PEERS with PEERS from peersToShare, asked at the time of the request', async () => {
    const t = setup()
    const batch: Message[] = [REQUEST_PEERS_MESSAGE, { type: 'chat', text: 'hi' }]
    t.source.push(batch)
    assert.deepEqual(await t.out.next(), { value: batch, done: false }, 'the batch passes on unchanged')
    assert.deepEqual(t.link.sent, [{ type: 'peers', addresses: ['10.0.0.1:1', '10.0.0.2:2'] }])
    t.shared = ['10.0.0.3:3']
    t.source.push([REQUEST_PEERS_MESSAGE])
    await t.out.next()
    assert.deepEqual(t.link.sent[1], { type: 'peers', addresses: ['10.0.0.3:3'] })
    await finish(t.source, t.out)
  })

  it('answers with an empty PEERS list when it knows nobody', async () => {
    const t = setup()
    t.shared = []
    t.source.push([REQUEST_PEERS_MESSAGE])
    await t.out.next()
    assert.deepEqual(t.link.sent, [{ type: 'peers', addresses: [] }])
    await finish(t.source, t.out)
  })

  it('answers every REQUEST_PEERS in a batch', async () => {
    const t = setup()
    t.source.push([REQUEST_PEERS_MESSAGE, REQUEST_PEERS_MESSAGE])
    await t.out.next()
    assert.equal(t.link.count('peers'), 2)
    await finish(t.source, t.out)
  })

  it('hands every PEERS list to onPeers, in order, and passes it on', async () => {
    const t = setup()
    const first: PeersMessage = { type: 'peers', addresses: ['10.0.0.5:5'] }
    const second: PeersMessage = { type: 'peers', addresses: [], rejected: ['bad'] }
    t.source.push([first, { type: 'ping' }, second])
    assert.deepEqual(await t.out.next(), { value: [first, { type: 'ping' }, second], done: false })
    assert.deepEqual(t.received, [first, second])
    assert.deepEqual(t.link.sent, [], 'a PEERS list is not answered')
    await finish(t.source, t.out)
  })
})

describe('discovery: REQUEST_PEERS interval', () => {
  const INTERVAL = 30

  it('sends REQUEST_PEERS every discoveryInterval, starting with the first batch', async () => {
    const t = setup({ discoveryInterval: INTERVAL })
    const first = t.out.next()
    await sleep(INTERVAL * 3)
    assert.equal(t.link.sent.length, 0, 'nothing sent before the link is up')
    const start = Date.now()
    t.source.push([])
    await first
    await waitFor(() => t.link.count('request-peers') >= 3, 'three REQUEST_PEERS')
    const elapsed = Date.now() - start
    assert.ok(elapsed >= INTERVAL * 3 - 10, `three requests after ${elapsed} ms, interval ${INTERVAL} ms`)
    assert.equal(t.link.sent.length, t.link.count('request-peers'))
    await finish(t.source, t.out)
  })

  it('with discoveryInterval 0 asks nothing and starts no timer, but still answers and hands on lists', async () => {
    const before = activeTimers()
    const t = setup({ discoveryInterval: 0 })
    t.source.push([{ type: 'request-peers' }, { type: 'peers', addresses: ['10.0.0.9:9'] }])
    await t.out.next()
    assert.equal(activeTimers(), before, 'no timer: no request can follow')
    assert.equal(t.link.count('request-peers'), 0)
    assert.equal(t.link.count('peers'), 1)
    assert.equal(t.received.length, 1)
    await finish(t.source, t.out)
  })

  it('clears its timer when the source ends: no request afterwards, nothing keeps the process alive', async () => {
    const before = activeTimers()
    const t = setup({ discoveryInterval: INTERVAL })
    t.source.push([])
    await t.out.next()
    assert.ok(activeTimers() > before, 'a timer runs while the link is up')
    await finish(t.source, t.out)
    assert.equal(activeTimers(), before, 'a timer was left behind after the source ended')
    const sent = t.link.sent.length
    await sleep(INTERVAL * 3)
    assert.equal(t.link.sent.length, sent)
  })

  it('clears its timer when the consumer stops reading early', async () => {
    const before = activeTimers()
    const t = setup({ discoveryInterval: INTERVAL })
    t.source.push([])
    await t.out.next()
    await t.out.return(undefined)
    assert.equal(activeTimers(), before)
    await sleep(INTERVAL * 3)
    assert.deepEqual(t.link.sent, [])
  })

  it('starts no timer when the source ends before any batch', async () => {
    const before = activeTimers()
    const t = setup({ discoveryInterval: INTERVAL })
    const first = t.out.next()
    assert.equal(await settled(first), PENDING)
    assert.equal(activeTimers(), before)
    t.source.end()
    assert.equal((await first).done, true)
  })
})

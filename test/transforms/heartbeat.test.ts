import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidLengthError } from '../../lib/errors.js'
import { heartbeat, type HeartbeatOptions } from '../../transforms/heartbeat.js'
import { PING_MESSAGE, type Message } from '../../transforms/core/line-protocol.js'
import { activeTimers, PENDING, settled, sleep, waitFor } from '../../harness/async.js'
import { Batches, FakeLink, finish } from '../support/pipeline.js'

function setup (opts: Partial<HeartbeatOptions> = {}): { link: FakeLink, source: Batches, out: AsyncGenerator<Message[]> } {
  const link = new FakeLink()
  const source = new Batches()
  // Long defaults, so each test only sees the timer it is about.
  const out = heartbeat({ link, maintenanceInterval: 10_000, peerTimeout: 10_000, ...opts })(source) as AsyncGenerator<Message[]>
  return { link, source, out }
}

describe('heartbeat: PING and PONG', () => {
  it('answers every PING with PONG and passes the batch on unchanged', async () => {
    const { link, source, out } = setup()
    const batch: Message[] = [PING_MESSAGE, { type: 'chat', text: 'hi' }, PING_MESSAGE]
    source.push(batch)
    assert.deepEqual(await out.next(), { value: batch, done: false })
    assert.deepEqual(link.sent, [{ type: 'pong' }, { type: 'pong' }])
    await finish(source, out)
  })

  it('does not answer PONG or anything else', async () => {
    const { link, source, out } = setup()
    source.push([{ type: 'pong' }, { type: 'request-peers' }, { type: 'chat', text: 'PING' }])
    await out.next()
    assert.deepEqual(link.sent, [])
    await finish(source, out)
  })

  it('sends PING every maintenanceInterval in which nothing arrived, starting with the first batch', async () => {
    const INTERVAL = 30
    const { link, source, out } = setup({ maintenanceInterval: INTERVAL })
    const first = out.next()
    await sleep(INTERVAL * 3)
    assert.equal(link.count('ping'), 0, 'no PING before the link is up')
    const start = Date.now()
    source.push([])
    await first
    await waitFor(() => link.count('ping') >= 3, 'three PINGs')
    const elapsed = Date.now() - start
    assert.ok(elapsed >= INTERVAL * 3 - 10, `three PINGs after ${elapsed} ms, interval ${INTERVAL} ms`)
    await finish(source, out)
  })
  it('sends no PING while the peer is heard from, and PINGs again once it falls silent', async () => {
    const INTERVAL = 30
    const { link, source, out } = setup({ maintenanceInterval: INTERVAL })
    const start = Date.now()
    // A batch every third of an interval for five intervals: every interval hears something.
    while (Date.now() - start < INTERVAL * 5) {
      source.push([{ type: 'chat', text: 'busy' }])
      await out.next()
      await sleep(INTERVAL / 3)
    }
    assert.equal(link.count('ping'), 0, 'PING sent to a peer heard from in every interval')
    void out.next()
    const silentFrom = Date.now()
    await waitFor(() => link.count('ping') >= 1, 'a PING once the peer is silent')
    const silence = Date.now() - silentFrom
    assert.ok(silence <= INTERVAL * 2 + 50, `first PING after ${silence} ms of silence, interval ${INTERVAL} ms`)
    await finish(source, out)
  })
})

describe('heartbeat: peer timeout', () => {
  const TIMEOUT = 80

  it('closes the link with ERR_PEER_TIMEOUT after peerTimeout of silence, once', async () => {
    const { link, source, out } = setup({ peerTimeout: TIMEOUT })
    const start = Date.now()
    source.push([])
    await out.next()
    // The consumer waits for more: the heartbeat is reading, and the peer is silent.
    void out.next()
    await waitFor(() => link.closes.length > 0, 'the close')
    const elapsed = Date.now() - start
    assert.ok(elapsed >= TIMEOUT - 5, `closed after ${elapsed} ms of silence, peerTimeout ${TIMEOUT} ms`)
    assert.equal((link.closes[0] as Error & { code?: string }).code, 'ERR_PEER_TIMEOUT')
    await sleep(TIMEOUT * 2)
    assert.equal(link.closes.length, 1)
    await finish(source, out)
  })

  it('keeps a peer that sends something at least every peerTimeout, empty batches included', async () => {
    const { link, source, out } = setup({ peerTimeout: TIMEOUT })
    const start = Date.now()
    let lastActivity = start
    // Four times the timeout, with a batch every quarter of it: blank lines count as life too.
    while (Date.now() - start < TIMEOUT * 4) {
      source.push([])
      await out.next()
      lastActivity = Date.now()
      await sleep(TIMEOUT / 4)
    }
    assert.deepEqual(link.closes, [])
    // Then silence while the consumer waits for more: the timeout still applies.
    void out.next()
    await waitFor(() => link.closes.length > 0, 'the close after silence')
    const silence = Date.now() - lastActivity
    assert.ok(silence >= TIMEOUT - 5, `closed after ${silence} ms of silence`)
    await finish(source, out)
  })

  it('does not count time blocked on a slow consumer as the peer\'s silence', async () => {
    const { link, source, out } = setup({ peerTimeout: TIMEOUT })
    source.push([])
    await out.next()
    // The consumer holds the batch for three timeouts: nothing is read, so nothing can be heard.
    await sleep(TIMEOUT * 3)
    assert.deepEqual(link.closes, [])
    // Reading again restarts the clock from now, not from the last batch.
    const waiting = out.next()
    await sleep(TIMEOUT / 2)
    assert.deepEqual(link.closes, [])
    await waitFor(() => link.closes.length > 0, 'the close once the peer is really silent')
    source.end()
    await waiting
    await finish(source, out)
  })

  it('tells onActivity the time of every batch', async () => {
    const seen: number[] = []
    const { source, out } = setup({ onActivity: now => { seen.push(now) } })
    const before = Date.now()
    source.push([])
    source.push([PING_MESSAGE])
    await out.next()
    await out.next()
    assert.equal(seen.length, 2)
    assert.ok(seen.every(t => t >= before && t <= Date.now()))
    await finish(source, out)
  })
})

describe('heartbeat: timers end with the pipeline', () => {
  it('clears its timers when the source ends: no PING, no close afterwards, nothing keeps the process alive', async () => {
    const before = activeTimers()
    const { link, source, out } = setup({ maintenanceInterval: 20, peerTimeout: 50 })
    source.push([])
    await out.next()
    assert.ok(activeTimers() > before, 'timers run while the link is up')
    await finish(source, out)
    assert.equal(activeTimers(), before, 'timers left behind after the source ended')
    const sent = link.sent.length
    await sleep(120)
    assert.equal(link.sent.length, sent, 'PING sent after the end')
    assert.deepEqual(link.closes, [], 'close called after the end')
  })

  it('clears its timers when the consumer stops reading early', async () => {
    const before = activeTimers()
    const { link, source, out } = setup({ maintenanceInterval: 20, peerTimeout: 50 })
    source.push([])
    await out.next()
    await out.return(undefined)
    assert.equal(activeTimers(), before)
    await sleep(120)
    assert.deepEqual(link.sent, [])
    assert.deepEqual(link.closes, [])
  })

  it('clears its timers when the source fails, and passes the error on', async () => {
    const before = activeTimers()
    const link = new FakeLink()
    async function * failing (): AsyncGenerator<Message[]> {
      yield []
      throw new InvalidLengthError('BYTES:-1', 'negative')
    }
    const out = heartbeat({ link, maintenanceInterval: 20, peerTimeout: 50 })(failing())
    const iterator = out[Symbol.asyncIterator]()
    await iterator.next()
    await assert.rejects(iterator.next(), { code: 'ERR_INVALID_LENGTH' })
    assert.equal(activeTimers(), before)
    await sleep(120)
    assert.deepEqual(link.closes, [])
  })

  it('starts no timer when the source ends before any batch', async () => {
    const before = activeTimers()
    const { source, out } = setup({ maintenanceInterval: 20, peerTimeout: 50 })
    const first = out.next()
    assert.equal(await settled(first), PENDING)
    assert.equal(activeTimers(), before)
    source.end()
    assert.equal((await first).done, true)
  })
})

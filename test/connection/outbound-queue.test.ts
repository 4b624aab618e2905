import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import v8 from 'node:v8'
import vm from 'node:vm'
import { ConnectionClosedError, PeerTimeoutError, type SlowPeerError } from '../../lib/errors.js'
import { OutboundQueue, QUEUED_MESSAGE_OVERHEAD, queuedSize, wireSize, type OutboundQueueOptions } from '../../lib/connection/outbound-queue.js'
import type { Message } from '../../transforms/core/line-protocol.js'
import { PENDING, settled, sleep, waitFor } from '../../harness/async.js'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

/** The tests' unit of queue size, in bytes: every message counts for a few, so each is larger than the per-message overhead. */
const UNIT = 100

/** A chat message that counts for exactly `units` units, its text starting with `label`. */
function sized (label: string, units: number): Message {
  return { type: 'chat', text: label.padEnd(units * UNIT - QUEUED_MESSAGE_OVERHEAD, '.') }
}

const labels = (batch: Message[]): string[] => batch.map(m => (m.type === 'chat' ? m.text.replace(/\.+$/, '') : m.type))

function makeQueue (opts: Partial<OutboundQueueOptions> = {}): { queue: OutboundQueue, slow: SlowPeerError[], reader: AsyncIterator<Message[]> } {
  const slow: SlowPeerError[] = []
  // A long default slow-peer timeout: tests about it set their own; every test aborts or ends its queue.
  const queue = new OutboundQueue({ maxQueuedBytes: 30 * UNIT, slowPeerTimeout: 5_000, onSlow: err => { slow.push(err) }, ...opts })
  return { queue, slow, reader: queue[Symbol.asyncIterator]() }
}

/** Aborts the queue, swallowing the rejections of senders the test left waiting. */
function discard (queue: OutboundQueue, waiting: Array<Promise<void>> = []): void {
  for (const p of waiting) p.catch(() => {})
  queue.abort(new ConnectionClosedError('test over'))
}

async function nextBatch (reader: AsyncIterator<Message[]>): Promise<string[]> {
  const result = await reader.next()
  assert.equal(result.done, false, 'expected a batch, the queue ended')
  return labels(result.value as Message[])
}

describe('queuedSize', () => {
  it('counts a line by its length and a payload by its bytes, each with the per-message overhead', () => {
    assert.equal(queuedSize({ type: 'chat', text: 'hello' }), 5 + QUEUED_MESSAGE_OVERHEAD)
    assert.equal(queuedSize({ type: 'ping' }), 4 + QUEUED_MESSAGE_OVERHEAD)
    assert.equal(queuedSize({ type: 'bytes', data: new Uint8Array(100) }), 100 + QUEUED_MESSAGE_OVERHEAD)
    assert.equal(queuedSize(sized('a', 10)), 10 * UNIT)
  })

  it('tells the bytes a message takes on the wire apart from what it counts for in the queue', () => {
    const wire = (msg: Message): number => wireSize(msg, queuedSize(msg))
    assert.equal(wire({ type: 'chat', text: 'hello' }), 'hello\n'.length)
    assert.equal(wire({ type: 'ping' }), 'PING\n'.length)
    for (const length of [0, 9, 10, 65536]) assert.equal(wire({ type: 'bytes', data: new Uint8Array(length) }), `BYTES:${length}\n`.length + length)
  })
})

describe('OutboundQueue: byte bound', () => {
  it('queues at once while there is room, then makes senders wait', async () => {
    const { queue } = makeQueue({ maxQueuedBytes: 30 * UNIT })
    for (const label of ['a', 'b', 'c']) assert.equal(await settled(queue.push(sized(label, 10))), undefined)
    assert.equal(queue.queuedBytes, 30 * UNIT)
    assert.equal(queue.waiting, 0)
    const d = queue.push(sized('d', 10))
    assert.equal(await settled(d), PENDING)
    assert.equal(queue.waiting, 1)
    assert.equal(queue.queuedBytes, 30 * UNIT, 'a waiting message is not counted as queued')
    discard(queue, [d])
  })

  it('lets a waiting sender in when the reader takes a batch', async () => {
    const { queue, reader } = makeQueue({ maxQueuedBytes: 20 * UNIT })
    await queue.push(sized('a', 10))
    await queue.push(sized('b', 10))
    const c = queue.push(sized('c', 10))
    assert.equal(await settled(c), PENDING)
    assert.deepEqual(await nextBatch(reader), ['a', 'b'])
    assert.equal(await settled(c), undefined)
    assert.equal(queue.waiting, 0)
    assert.equal(queue.queuedBytes, 10 * UNIT)
    assert.deepEqual(await nextBatch(reader), ['c'])
    discard(queue)
  })

  it('offer() queues only when there is room now, and queues nothing otherwise', async () => {
    const { queue, reader } = makeQueue({ maxQueuedBytes: 20 * UNIT })
    assert.equal(queue.offer(sized('a', 15)), true)
    assert.equal(queue.offer(sized('b', 10)), false)
    assert.equal(queue.queuedBytes, 15 * UNIT)
    assert.equal(queue.offer(sized('c', 5)), true)
    assert.deepEqual(await nextBatch(reader), ['a', 'c'])
    discard(queue)
  })

  it('keeps FIFO order across offer and push: nothing overtakes a waiting sender', async () => {
    const { queue, reader } = makeQueue({ maxQueuedBytes: 10 * UNIT })
    await queue.push(sized('A', 6))
    const b = queue.push(sized('B', 6))
    // C would fit (6 + 3 <= 10) but B waits before it.
    assert.equal(queue.offer(sized('C', 3)), false)
    const d = queue.push(sized('D', 2))
    assert.equal(await settled(d), PENDING)
    assert.equal(queue.waiting, 2)
    assert.deepEqual(await nextBatch(reader), ['A'])
    // Taking A lets B in, and D behind it since both now fit.
    await b
    await d
    assert.equal(queue.offer(sized('E', 2)), true)
    assert.deepEqual(await nextBatch(reader), ['B', 'D', 'E'])
    discard(queue)
  })

  it('lets one message larger than the bound pass alone when the queue is empty', async () => {
    const { queue, reader } = makeQueue({ maxQueuedBytes: 10 * UNIT })
    assert.equal(await settled(queue.push(sized('big', 50))), undefined)
    assert.equal(queue.queuedBytes, 50 * UNIT)
    const small = queue.push(sized('small', 6))
    assert.equal(await settled(small), PENDING)
    assert.deepEqual(await nextBatch(reader), ['big'])
    await small
    assert.deepEqual(await nextBatch(reader), ['small'])
    discard(queue)
  })

  it('makes a message larger than the bound wait until the queue is empty, then lets it in alone', async () => {
    const { queue, reader } = makeQueue({ maxQueuedBytes: 10 * UNIT })
    await queue.push(sized('small', 4))
    const big = queue.push(sized('big', 50))
    assert.equal(await settled(big), PENDING)
    const after = queue.push(sized('after', 4))
    assert.deepEqual(await nextBatch(reader), ['small'])
    await big
    assert.equal(await settled(after), PENDING, 'nothing joins a message that is over the bound')
    assert.deepEqual(await nextBatch(reader), ['big'])
    await after
    assert.deepEqual(await nextBatch(reader), ['after'])
    discard(queue)
  })
})

describe('OutboundQueue: batches', () => {
  it('gives the reader everything queued at the moment it reads, in order', async () => {
    const { queue, reader } = makeQueue({ maxQueuedBytes: 1000 * UNIT })
    const sent = ['1', '2', '3', '4', '5']
    for (const label of sent) await queue.push(sized(label, 4))
    assert.deepEqual(await nextBatch(reader), sent)
    assert.equal(queue.queuedBytes, 0)
    discard(queue)
  })

  it('wakes a reader waiting on an empty queue at the first push', async () => {
    const { queue, reader } = makeQueue()
    const batch = reader.next()
    assert.equal(await settled(batch), PENDING)
    await queue.push(sized('x', 4))
    assert.deepEqual(labels((await batch).value as Message[]), ['x'])
    discard(queue)
  })

  it('gives a reader that is already waiting every message its sender queues in one burst of awaited pushes', async () => {
    const { queue, reader } = makeQueue({ maxQueuedBytes: 1000 * UNIT })
    const batch = reader.next()
    const sent = Array.from({ length: 50 }, (_, i) => String(i))
    for (const label of sent) await queue.push(sized(label, 4))
    assert.deepEqual(labels((await batch).value as Message[]), sent)
    discard(queue)
  })

  it('keeps no reference to a batch once its reader has taken it and waits for the next', async () => {
    const { queue, reader } = makeQueue({ maxQueuedBytes: 1000 * UNIT })
    let payload: WeakRef<Uint8Array> | undefined
    // In a function of its own, so that this test's frame holds no reference either.
    const push = (): void => {
      const data = new Uint8Array(100)
      payload = new WeakRef(data)
      assert.ok(queue.offer({ type: 'bytes', data }))
    }
    push()
    assert.equal((await reader.next()).done, false)
    const next = reader.next()
    assert.equal(await settled(next), PENDING)
    gc()
    assert.equal(payload?.deref(), undefined, 'the taken batch is still reachable from the queue')
    discard(queue)
  })

  it('carries bytes messages through by reference', async () => {
    const { queue, reader } = makeQueue({ maxQueuedBytes: 1000 * UNIT })
    const data = new Uint8Array([1, 2, 3])
    await queue.push({ type: 'bytes', data })
    const result = await reader.next()
    const msg = (result.value as Message[])[0]
    assert.ok(msg?.type === 'bytes' && msg.data === data)
    discard(queue)
  })
})

describe('OutboundQueue: end()', () => {
  it('lets queued and waiting messages drain, then ends the reader', async () => {
    const { queue, reader } = makeQueue({ maxQueuedBytes: 10 * UNIT })
    await queue.push(sized('a', 10))
    const b = queue.push(sized('b', 10))
    const c = queue.push(sized('c', 10))
    queue.end()
    assert.deepEqual(await nextBatch(reader), ['a'])
    assert.deepEqual(await nextBatch(reader), ['b'])
    assert.deepEqual(await nextBatch(reader), ['c'])
    await Promise.all([b, c])
    assert.equal((await reader.next()).done, true)
  })

  it('rejects later pushes and offers with ERR_CONNECTION_CLOSED', async () => {
    const { queue, reader } = makeQueue()
    await queue.push(sized('a', 4))
    queue.end()
    await assert.rejects(queue.push(sized('late', 4)), { code: 'ERR_CONNECTION_CLOSED' })
    assert.throws(() => queue.offer(sized('late', 4)), { code: 'ERR_CONNECTION_CLOSED' })
    assert.deepEqual(await nextBatch(reader), ['a'], 'the late message was not queued')
    assert.equal((await reader.next()).done, true)
  })

  it('ends a reader that waits on an empty queue', async () => {
    const { queue, reader } = makeQueue()
    const result = reader.next()
    assert.equal(await settled(result), PENDING)
    queue.end()
    assert.equal((await result).done, true)
  })

  it('rejects later pushes with the reason it was given', async () => {
    const { queue } = makeQueue()
    const reason = new ConnectionClosedError('closing')
    queue.end(reason)
    await assert.rejects(queue.push(sized('late', 4)), err => err === reason)
  })
})

describe('OutboundQueue: abort()', () => {
  it('rejects waiting senders with the reason, drops what is queued and stops the reader', async () => {
    const { queue, reader } = makeQueue({ maxQueuedBytes: 10 * UNIT })
    await queue.push(sized('a', 10))
    const b = queue.push(sized('b', 10))
    const c = queue.push(sized('c', 10))
    queue.abort(new PeerTimeoutError(10))
    await assert.rejects(b, { code: 'ERR_PEER_TIMEOUT' })
    await assert.rejects(c, { code: 'ERR_PEER_TIMEOUT' })
    assert.equal(queue.waiting, 0)
    assert.equal(queue.queuedBytes, 0)
    assert.equal((await reader.next()).done, true)
    await assert.rejects(queue.push(sized('late', 4)), { code: 'ERR_PEER_TIMEOUT' })
  })

  it('stops a reader that waits on an empty queue', async () => {
    const { queue, reader } = makeQueue()
    const result = reader.next()
    queue.abort(new ConnectionClosedError())
    assert.equal((await result).done, true)
  })

  it('rejects the senders still waiting after end() with its own reason', async () => {
    const { queue, reader } = makeQueue({ maxQueuedBytes: 10 * UNIT })
    await queue.push(sized('a', 10))
    const b = queue.push(sized('b', 10))
    queue.end()
    queue.abort(new PeerTimeoutError(10))
    await assert.rejects(b, { code: 'ERR_PEER_TIMEOUT' })
    assert.equal((await reader.next()).done, true)
    // Later pushes keep the first reason the queue was closed with.
    await assert.rejects(queue.push(sized('late', 4)), { code: 'ERR_CONNECTION_CLOSED' })
  })
})

describe('OutboundQueue: slow peer', () => {
  const TIMEOUT = 60

  it('reports ERR_SLOW_PEER when no waiting sender gets in for slowPeerTimeout', async () => {
    const { queue, slow } = makeQueue({ maxQueuedBytes: 10 * UNIT, slowPeerTimeout: TIMEOUT })
    await queue.push(sized('a', 10))
    const start = Date.now()
    const b = queue.push(sized('b', 10))
    await waitFor(() => slow.length > 0, 'onSlow')
    const elapsed = Date.now() - start
    assert.ok(elapsed >= TIMEOUT - 5, `reported after ${elapsed} ms, before slowPeerTimeout`)
    assert.equal(slow.length, 1)
    assert.equal(slow[0]?.code, 'ERR_SLOW_PEER')
    // Still stuck, but told only once.
    await sleep(TIMEOUT * 2)
    assert.equal(slow.length, 1)
    discard(queue, [b])
  })

  it('reports a stuck peer only once, even when more senders line up after the report', async () => {
    const { queue, slow } = makeQueue({ maxQueuedBytes: 10 * UNIT, slowPeerTimeout: TIMEOUT })
    await queue.push(sized('a', 10))
    const waiting = [queue.push(sized('b', 10))]
    await waitFor(() => slow.length > 0, 'onSlow')
    waiting.push(queue.push(sized('c', 10)))
    await sleep(TIMEOUT * 2)
    assert.equal(slow.length, 1, 'onSlow is documented as "told once"')
    discard(queue, waiting)
  })

  it('does not report a peer whose reader keeps making progress', async () => {
    const { queue, slow, reader } = makeQueue({ maxQueuedBytes: 10 * UNIT, slowPeerTimeout: TIMEOUT })
    const count = 12
    // The producer always has a sender waiting; the reader takes one batch every TIMEOUT / 3.
    const producer = (async () => {
      for (let i = 0; i < count; i++) await queue.push(sized(String(i), 10))
      queue.end()
    })()
    const received: string[] = []
    for (;;) {
      const result = await reader.next()
      if (result.done === true) break
      received.push(...labels(result.value))
      await sleep(TIMEOUT / 3)
    }
    await producer
    assert.deepEqual(received, Array.from({ length: count }, (_, i) => String(i)))
    await sleep(TIMEOUT * 1.5)
    assert.equal(slow.length, 0)
  })

  it('does not report when every waiting sender got in before the timeout', async () => {
    const { queue, slow, reader } = makeQueue({ maxQueuedBytes: 10 * UNIT, slowPeerTimeout: TIMEOUT })
    await queue.push(sized('a', 10))
    const b = queue.push(sized('b', 10))
    await nextBatch(reader)
    await b
    await sleep(TIMEOUT * 1.5)
    assert.equal(slow.length, 0)
    discard(queue)
  })

  it('does not report after abort()', async () => {
    const { queue, slow } = makeQueue({ maxQueuedBytes: 10 * UNIT, slowPeerTimeout: TIMEOUT })
    await queue.push(sized('a', 10))
    const b = queue.push(sized('b', 10))
    discard(queue, [b])
    await sleep(TIMEOUT * 1.5)
    assert.equal(slow.length, 0)
  })

  it('enqueue() takes a message at once where there is room, waits in line where there is none, and throws once ended', async () => {
    const { queue, reader } = makeQueue()
    assert.equal(queue.enqueue(sized('a', 20)), undefined, 'room: queued without a promise')
    const waiting = queue.enqueue(sized('b', 20))
    assert.ok(waiting instanceof Promise)
    assert.equal(await settled(waiting), PENDING)
    assert.deepEqual(labels((await reader.next()).value as Message[]), ['a'])
    await waiting
    queue.end()
    assert.throws(() => queue.enqueue(sized('c', 5)), (err: unknown) => err instanceof ConnectionClosedError)
    discard(queue)
  })
})


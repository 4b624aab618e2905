import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Inbox } from '../../lib/mesh/inbox.js'
import { PENDING, settled } from '../../harness/async.js'
import { collect } from '../support/pipeline.js'

function makeInbox (capacity: number): { inbox: Inbox<number>, returns: () => number } {
  let returns = 0
  const inbox = new Inbox<number>(capacity, () => { returns++ })
  return { inbox, returns: () => returns }
}

describe('Inbox: bound', () => {
  it('returns no promise while there is room, and a promise once full', async () => {
    const { inbox } = makeInbox(3)
    assert.equal(inbox.push(1), undefined)
    assert.equal(inbox.push(2), undefined)
    const full = inbox.push(3)
    assert.ok(full instanceof Promise, 'the push that fills the inbox must return a promise')
    assert.equal(await settled(full), PENDING)
  })

  it('resolves the promise once the reader catches up, keeping order', async () => {
    const { inbox } = makeInbox(2)
    inbox.push(1)
    const full = inbox.push(2) as Promise<void>
    assert.equal(await settled(full), PENDING)
    assert.deepEqual(await inbox.next(), { value: 1, done: false })
    assert.equal(await settled(full), undefined)
    assert.equal(inbox.push(3) instanceof Promise, true, 'full again')
    assert.deepEqual(await inbox.next(), { value: 2, done: false })
    assert.deepEqual(await inbox.next(), { value: 3, done: false })
  })

  it('releases every waiting writer once there is room', async () => {
    const { inbox } = makeInbox(1)
    const first = inbox.push(1) as Promise<void>
    const second = inbox.push(2) as Promise<void>
    assert.equal(await settled(first), PENDING)
    assert.deepEqual(await inbox.next(), { value: 1, done: false })
    assert.deepEqual(await inbox.next(), { value: 2, done: false })
    await Promise.all([first, second])
  })

  it('a delivery loop that awaits the promise never holds more than capacity items', async () => {
    const capacity = 4
    const { inbox } = makeInbox(capacity)
    let maxBuffered = 0
    let buffered = 0
    const writer = (async () => {
      for (let i = 0; i < 50; i++) {
        buffered++
        maxBuffered = Math.max(maxBuffered, buffered)
        await inbox.push(i)
      }
      inbox.end()
    })()
    const received: number[] = []
    for await (const item of inbox) {
      buffered--
      received.push(item)
      // A slow reader: the writer must wait for it, not pile up.
      await new Promise(resolve => { setImmediate(resolve) })
    }
    await writer
    assert.deepEqual(received, Array.from({ length: 50 }, (_, i) => i))
    // The item being handed to the reader counts here until its loop body runs: hence + 1.
    assert.ok(maxBuffered <= capacity + 1, `${maxBuffered} items buffered, capacity ${capacity}`)
  })

  it('wakes a reader waiting on an empty inbox at the first push', async () => {
    const { inbox } = makeInbox(4)
    const next = inbox.next()
    assert.equal(await settled(next), PENDING)
    inbox.push(7)
    assert.deepEqual(await next, { value: 7, done: false })
  })
})

describe('Inbox: end()', () => {
  it('lets the reader drain what is buffered, then finish', async () => {
    const { inbox, returns } = makeInbox(10)
    inbox.push(1)
    inbox.push(2)
    inbox.end()
    assert.deepEqual(await collect(inbox), [1, 2])
    assert.deepEqual(await inbox.next(), { value: undefined, done: true })
    assert.equal(returns(), 0, 'ending normally does not unregister through onReturn')
  })

  it('ends a reader waiting on an empty inbox', async () => {
    const { inbox } = makeInbox(10)
    const next = inbox.next()
    inbox.end()
    assert.deepEqual(await next, { value: undefined, done: true })
  })

  it('releases waiting writers and ignores later pushes', async () => {
    const { inbox } = makeInbox(1)
    const full = inbox.push(1) as Promise<void>
    inbox.end()
    await full
    assert.equal(inbox.push(2), undefined)
    assert.deepEqual(await collect(inbox), [1])
  })
})

describe('Inbox: return()', () => {
  it('unregisters once when the reader leaves its loop', async () => {
    const { inbox, returns } = makeInbox(10)
    inbox.push(1)
    inbox.push(2)
    for await (const item of inbox) {
      assert.equal(item, 1)
      break
    }
    assert.equal(returns(), 1)
    assert.deepEqual(await inbox.next(), { value: undefined, done: true }, 'buffered items are dropped')
    assert.equal(inbox.push(3), undefined)
    assert.deepEqual(await inbox.next(), { value: undefined, done: true })
  })

  it('releases a writer waiting on the full inbox, so delivery does not hang on a reader that left', async () => {
    const { inbox, returns } = makeInbox(1)
    const full = inbox.push(1) as Promise<void>
    assert.equal(await settled(full), PENDING)
    assert.deepEqual(await inbox.return(), { value: undefined, done: true })
    await full
    assert.equal(returns(), 1)
  })

  it('ends a reader waiting on an empty inbox', async () => {
    const { inbox } = makeInbox(4)
    const next = inbox.next()
    await inbox.return()
    assert.deepEqual(await next, { value: undefined, done: true })
  })
})

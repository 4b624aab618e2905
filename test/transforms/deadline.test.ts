import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { describe, it } from 'node:test'
import { Deadline, raceSignal, within } from '../../transforms/core/deadline.js'
import { activeTimers } from '../../harness/async.js'

describe('Deadline and within()', () => {
  it('settles as the promise does when it is in time, and leaves no timer behind', async () => {
    const before = activeTimers()
    assert.equal(await within(Promise.resolve('done'), 10_000, () => 'late'), 'done')
    await assert.rejects(within(Promise.reject(new Error('boom')), 10_000, () => 'late'), /boom/)
    assert.equal(activeTimers(), before)
  })

  it('gives what onExpire returns, or rejects with what it throws, once the time is up', async () => {
    const never = new Promise<string>(() => {})
    assert.equal(await within(never, 5, () => 'late'), 'late')
    await assert.rejects(within(never, 5, () => { throw new RangeError('too slow') }), RangeError)
  })

  it('bounds several waits with one clock', async () => {
    const deadline = new Deadline<never>(30, () => { throw new RangeError('expired') })
    assert.equal(await deadline.race(Promise.resolve(1)), 1)
    assert.equal(await deadline.race(Promise.resolve(2)), 2)
    await assert.rejects(deadline.race(new Promise(() => {})), RangeError)
    // Once expired, every later race fails at once too.
    await assert.rejects(deadline.race(new Promise(() => {})), RangeError)
    deadline.clear()
  })
})

describe('raceSignal()', () => {
  it('settles as the promise does, and rejects every wait still open with the reason once the signal aborts, through one listener', async () => {
    const controller = new AbortController()
    const { signal } = controller
    const done = await Promise.all(Array.from({ length: 50 }, async (_, i) => await raceSignal(Promise.resolve(i), signal)))
    assert.deepEqual(done, Array.from({ length: 50 }, (_, i) => i))
    const open = Array.from({ length: 100 }, async () => await raceSignal(new Promise<never>(() => {}), signal))
    assert.equal(getEventListeners(signal, 'abort').length, 1, 'one listener on the signal, however many waits')
    const reason = new Error('stopping')
    controller.abort(reason)
    for (const wait of open) await assert.rejects(wait, err => err === reason)
    await assert.rejects(raceSignal(Promise.resolve(1), signal), err => err === reason)
  })
})

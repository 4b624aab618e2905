import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { WakeUp } from '../../transforms/core/wake-up.js'
import { PENDING, settled } from '../../harness/async.js'

describe('WakeUp', () => {
  it('resolves a waiting reader at the first notify(), and only the wait it was given', async () => {
    const wakeUp = new WakeUp()
    const first = wakeUp.wait()
    assert.equal(await settled(first), PENDING)
    wakeUp.notify()
    wakeUp.notify()
    assert.equal(await settled(first), undefined)
    const second = wakeUp.wait()
    assert.equal(await settled(second), PENDING, 'the notify() calls before this wait are not kept for it')
    wakeUp.notify()
    assert.equal(await settled(second), undefined)
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { FanOut } from '../../lib/connection/fan-out.js'
import { ConnectionClosedError, SlowPeerError } from '../../lib/errors.js'
import { PENDING, settled } from '../../harness/async.js'

describe('FanOut', () => {
  it('records peers queued at once, after a wait, and those that failed either way', async () => {
    let release: () => void = () => {}
    const fan = new FanOut()
    fan.add('now', () => undefined)
    fan.add('later', () => new Promise<void>(resolve => { release = resolve }))
    fan.add('closing', () => { throw new ConnectionClosedError('closing') })
    fan.add('slow', () => Promise.reject(new SlowPeerError(10, 100)))
    const done = fan.done()
    assert.equal(await settled(done), PENDING, 'waits for the peer whose queue is full')
    release()
    const result = await done
    assert.deepEqual(result.queued.sort(), ['later', 'now'])
    assert.deepEqual(result.failed.map(f => [f.peerId, (f.error as ConnectionClosedError).code]).sort(), [['closing', 'ERR_CONNECTION_CLOSED'], ['slow', 'ERR_SLOW_PEER']])
  })

  it('resolves at once when every queue had room', async () => {
    const fan = new FanOut()
    for (const peer of ['a', 'b', 'c']) fan.add(peer, () => undefined)
    assert.notEqual(await settled(fan.done()), PENDING)
    assert.deepEqual(fan.result, { queued: ['a', 'b', 'c'], failed: [] })
  })
})

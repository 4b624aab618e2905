import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MessageCache, type CachedMessage } from '../../lib/overlay/message-cache.js'

function message (id: string, size = 10): CachedMessage {
  return { type: 'gossip', id, kind: 'bytes', hops: 1, hopLimit: 8, origin: { id: 'o', name: '' }, payload: new Uint8Array(size) }
}

const OPTS = { maxSeenMessages: 100, seenTtl: 1000, maxCachedBytes: 1000, cacheTtl: 500 }

describe('overlay message cache', () => {
  it('remembers an id once: a second add is refused', () => {
    const cache = new MessageCache(OPTS)
    assert.equal(cache.add(message('a'), 0), true)
    assert.equal(cache.add(message('a'), 1), false)
    assert.equal(cache.has('a', 2), true)
    assert.equal(cache.has('b', 2), false)
  })

  it('forgets ids after seenTtl, and payloads after cacheTtl', () => {
    const cache = new MessageCache(OPTS)
    cache.add(message('a'), 0)
    assert.ok(cache.get('a', 499) !== undefined)
    assert.equal(cache.get('a', 500), undefined)
    assert.equal(cache.has('a', 999), true)
    assert.equal(cache.has('a', 1000), false)
    assert.equal(cache.add(message('a'), 1000), true)
  })

  it('keeps at most maxSeenMessages ids, forgetting the oldest', () => {
    const cache = new MessageCache({ ...OPTS, maxSeenMessages: 3 })
    for (const id of ['a', 'b', 'c', 'd']) cache.add(message(id), 0)
    assert.equal(cache.size, 3)
    assert.equal(cache.has('a', 0), false)
    assert.equal(cache.has('d', 0), true)
  })

  it('keeps at most maxCachedBytes of payloads, dropping the oldest, and skips a payload larger than the bound', () => {
    const cache = new MessageCache({ ...OPTS, maxCachedBytes: 25 })
    cache.add(message('a'), 0)
    cache.add(message('b'), 0)
    cache.add(message('c'), 0)
    assert.equal(cache.get('a', 0), undefined)
    assert.deepEqual(cache.recent(0, 10).map(m => m.id), ['b', 'c'])
    cache.add(message('huge', 26), 0)
    assert.equal(cache.get('huge', 0), undefined)
    assert.equal(cache.has('huge', 0), true)
    assert.deepEqual(cache.recent(0, 1).map(m => m.id), ['c'])
  })

  it('caches nothing with cacheTtl 0', () => {
    const cache = new MessageCache({ ...OPTS, cacheTtl: 0 })
    cache.add(message('a'), 0)
    assert.equal(cache.get('a', 0), undefined)
    assert.equal(cache.has('a', 0), true)
  })
})

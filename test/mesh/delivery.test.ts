import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { describe, it } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import { Delivery } from '../../lib/mesh/delivery.js'
import { PING_MESSAGE, type Message } from '../../transforms/core/line-protocol.js'
import { PENDING, settled } from '../../harness/async.js'
import { Batches } from '../support/pipeline.js'
import type { PeerInfo } from '../../lib/types.js'
import type { MeshEvents } from '../../lib/mesh/events.js'

const peer: PeerInfo = {
  id: 'peer-id', name: 'peer', address: '127.0.0.1:7000', remoteAddress: '127.0.0.1:50000', direction: 'inbound', connectedAt: 0, lastSeen: 0
} as PeerInfo

const bytes = (text: string): Message => ({ type: 'bytes', data: new Uint8ArrayList(new TextEncoder().encode(text)) })
const text = (data: Uint8ArrayList): string => new TextDecoder().decode(data.subarray())

function setup (inboxSize = 4, maxRetainedBytes = 0): { events: EventEmitter<MeshEvents>, delivery: Delivery, source: Batches, done: Promise<void> } {
  const events = new EventEmitter<MeshEvents>()
  const delivery = new Delivery(events, inboxSize, maxRetainedBytes)
  const source = new Batches()
  return { events, delivery, source, done: delivery.consume(source, () => peer) }
}

describe('Delivery', () => {
  it('emits chat, unclaimed bytes and control traffic as events, in order', async () => {
    const { events, source, done } = setup()
    const seen: string[] = []
    events.on('chat', ({ text: t }) => { seen.push(`chat:${t}`) })
    events.on('bytes', ({ data }) => { seen.push(`bytes:${text(data)}`) })
    events.on('debug', ({ message }) => { seen.push(`debug:${message.type}`) })
    source.push([{ type: 'chat', text: 'hi' }, PING_MESSAGE, bytes('raw')])
    source.end()
    await done
    assert.deepEqual(seen, ['chat:hi', 'debug:ping', 'bytes:raw'])
  })

  it('gives claimed payloads to their handler only, and holds the next message until the handler settles', async () => {
    const { events, delivery, source, done } = setup()
    let release: () => void = () => {}
    const handled: string[] = []
    delivery.handle('APP:', async data => {
      handled.push(text(data))
      await new Promise<void>(resolve => { release = resolve })
    })
    const chats: string[] = []
    events.on('chat', ({ text: t }) => { chats.push(t) })
    events.on('bytes', () => { assert.fail('a claimed payload reached the bytes event') })
    source.push([bytes('APP:1'), { type: 'chat', text: 'after' }])
    source.end()
    while (handled.length === 0) await new Promise(resolve => setImmediate(resolve))
    assert.equal(await settled(done), PENDING)
    assert.deepEqual(chats, [], 'the chat behind the handler waits for it')
    release()
    await done
    assert.deepEqual(chats, ['after'])
  })

  it('gives relayed payloads to handlers with their origin and hops, except to link-only handlers', async () => {
    const { events, delivery, source, done } = setup()
    const handled: string[] = []
    delivery.handle('LINK:', (data, from, { origin, hops }) => { handled.push(`link ${text(data)} from ${from.id} by ${origin.id} at ${hops}`) }, { relayed: false })
    delivery.handle('APP:', (data, from, { origin, hops }) => { handled.push(`app ${text(data)} from ${from.id} by ${origin.id} at ${hops}`) })
    const unclaimed: string[] = []
    events.on('bytes', ({ data, origin, hops }) => { unclaimed.push(`${text(data)} by ${origin.id} at ${hops}`) })
    const author = { id: 'author-id', name: 'author' }
    const relayed = (payload: string): Promise<void> | undefined =>
      delivery.relayed({ type: 'bytes', peer, data: new Uint8ArrayList(new TextEncoder().encode(payload)), origin: author, hops: 3, authenticity: 'signed' })
    await relayed('APP:far')
    await relayed('LINK:far')
    source.push([bytes('LINK:near'), bytes('APP:near')])
    source.end()
    await done
    assert.deepEqual(handled, [
      'app APP:far from peer-id by author-id at 3',
      'link LINK:near from peer-id by peer-id at 1',
      'app APP:near from peer-id by peer-id at 1'
    ])
    assert.deepEqual(unclaimed, ['LINK:far by author-id at 3'], 'a link-only prefix relayed from afar is an ordinary payload')
  })

  it('reports a failing handler and goes on', async () => {
    const { events, delivery, source, done } = setup()
    delivery.handle('BAD:', () => { throw new Error('boom') })
    const errors: string[] = []
    events.on('handler:error', ({ error, prefix }) => { errors.push(`${prefix}${error.message}`) })
    const chats: string[] = []
    events.on('chat', ({ text: t }) => { chats.push(t) })
    source.push([bytes('BAD:x'), { type: 'chat', text: 'still here' }])
    source.end()
    await done
    assert.deepEqual(errors, ['BAD:boom'])
    assert.deepEqual(chats, ['still here'])
  })

  it('feeds every messages() reader and waits for a full one, losing nothing', async () => {
    const { delivery, source, done } = setup(2)
    const reader = delivery.messages()
    const all = Array.from({ length: 6 }, (_, i): Message => ({ type: 'chat', text: `m${i}` }))
    source.push(all)
    source.end()
    assert.equal(await settled(done), PENDING, 'delivery waits for the reader')
    const got: string[] = []
    for (let i = 0; i < all.length; i++) {
      const { value } = await reader.next()
      if (value?.type === 'chat') got.push(value.text)
    }
    await done
    assert.deepEqual(got, all.map(m => m.type === 'chat' ? m.text : ''))
    delivery.end()
    assert.equal((await reader.next()).done, true)
  })

  it('keeps messages while no reader is attached, for a reader that attaches late', async () => {
    const { delivery, source, done } = setup(2, 1024 * 1024)
    source.push([{ type: 'chat', text: 'early 1' }, { type: 'chat', text: 'early 2' }, bytes('early 3')])
    source.end()
    await done
    const late = delivery.messages()
    const got: string[] = []
    for (let i = 0; i < 3; i++) {
      const { value } = await late.next()
      got.push(value?.type === 'chat' ? value.text : text((value as { data: Uint8ArrayList }).data))
    }
    assert.deepEqual(got, ['early 1', 'early 2', 'early 3'])
    assert.equal(await settled(late.next()), PENDING, 'then it waits for what comes next')
    await late.return?.()
  })

  it('past maxRetainedBytes drops what it kept and says so once, then keeps nothing until a reader takes it', async () => {
    const { events, delivery, source, done } = setup(2, 64 * 4 + 40)
    const limits: string[] = []
    events.on('limit:exceeded', ({ error }) => { limits.push(`${error.limit}=${error.value}`) })
    source.push(Array.from({ length: 10 }, (_, i): Message => ({ type: 'chat', text: `m${i}` })))
    source.push([{ type: 'chat', text: 'after' }])
    source.end()
    await done
    assert.deepEqual(limits, ['maxRetainedBytes=296'])
    delivery.end()
    assert.equal((await delivery.messages().next()).done, true, 'a reader after the node stopped gets what is kept (nothing), then ends')
  })

  it('keeps nothing with maxRetainedBytes 0', async () => {
    const { delivery, source, done } = setup(2, 0)
    source.push([{ type: 'chat', text: 'unread' }])
    source.end()
    await done
    delivery.end()
    assert.equal((await delivery.messages().next()).done, true)
  })
})

/**
 * Your transforms inside a node, as the README's transform contract says:
 * what they see and in which order, the connection context they get, and
 * what a throwing transform does.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { ConnectionContext, Message, MeshNodeOptions, MessageTransform } from '../../lib/index.js'
import { memoryNetwork } from '../../lib/transport/index.js'
import { waitFor, within } from '../../harness/async.js'
import { fileNodes, nextEvent, QUIET } from '../support/mesh.js'

const { startNode } = fileNodes({ ...QUIET, transport: memoryNetwork() })
let hosts = 0
const start = async (opts: MeshNodeOptions = {}) => await startNode({ host: `ut-${++hosts}`, ...opts })

/** An inbound transform that records every message type it sees and the context it was given. */
function recorder (): { transform: MessageTransform, types: string[], contexts: Array<ConnectionContext | undefined>, peerIds: Array<string | undefined> } {
  const seen = { types: [] as string[], contexts: [] as Array<ConnectionContext | undefined>, peerIds: [] as Array<string | undefined> }
  const transform: MessageTransform = async function * record (source, context) {
    seen.contexts.push(context)
    for await (const batch of source) {
      for (const msg of batch) {
        seen.types.push(msg.type)
        seen.peerIds.push(context?.peerId)
      }
      yield batch
    }
  }
  return { transform, ...seen }
}

describe('user transforms in a node', () => {
  it('see every message after the handshake, in order, with the connection\'s context', async () => {
    const inbound = recorder()
    const b = await start({ inbound: [inbound.transform] })
    const a = await start()
    await a.connect(b.address)
    await a.broadcast('one')
    await a.broadcastBytes(new Uint8Array([1, 2]))
    await a.broadcast('two')
    await waitFor(() => inbound.types.filter(t => t === 'chat').length === 2, 'both chat lines through the transform')
    const [context] = inbound.contexts
    assert.equal(context?.direction, 'inbound')
    assert.equal(context?.peerId, a.id)
    assert.equal(typeof context?.remoteAddress, 'string')
    assert.ok(!inbound.types.includes('hello') && !inbound.types.includes('listen'), 'the handshake\'s own lines stay in the handshake')
    const appMessages = inbound.types.filter(t => t === 'chat' || t === 'bytes')
    assert.deepEqual(appMessages, ['chat', 'bytes', 'chat'])
    assert.ok(inbound.types.includes('request-peers'), 'control messages pass through user transforms too')
    assert.ok(inbound.peerIds.every(id => id === a.id), 'the peer id is known by the first message a transform sees')
  })

  it('a transform that throws closes only its connection, reported as ERR_TRANSFORM naming it', async () => {
    const explode: MessageTransform = async function * explode (source) {
      for await (const batch of source) {
        if (batch.some((m: Message) => m.type === 'chat' && m.text === 'boom')) throw new RangeError('cannot take this')
        yield batch
      }
    }
    const b = await start({ inbound: [explode] })
    const bad = await start()
    const good = await start()
    await bad.connect(b.address)
    await good.connect(b.address)
    const reported = nextEvent(b, 'connection:error', ({ error }) => (error as { code?: string }).code === 'ERR_TRANSFORM')
    await bad.send(b.id, 'boom')
    const [{ error, closed, peer }] = await reported
    assert.match(error.message, /inbound transform 0 \(explode\) threw: cannot take this/)
    assert.equal(closed, true)
    assert.equal(peer?.id, bad.id)
    await waitFor(() => !b.peers().some(p => p.id === bad.id), 'the peer it came from to be dropped')
    const arrived = nextEvent(b, 'chat', ({ text }) => text === 'still fine')
    await good.send(b.id, 'still fine')
    await within(arrived, 'chat from the other peer')
  })
})

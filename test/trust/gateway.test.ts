/**
 * Line-protocol peers cannot sign. With `relayPlainPeers`, an overlay node
 * relays what its plain peers send, signed by itself as their gateway, and
 * the rest of the overlay can tell that from a message its author signed.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, describe, it } from 'node:test'
import { MeshNode, type MeshNodeOptions } from '../../lib/index.js'
import { memoryNetwork } from '../../lib/transport/index.js'
import type { IncomingMessage } from '../../lib/types.js'
import { waitFor, within } from '../../harness/async.js'

const running = new Set<MeshNode>()
after(async () => { await Promise.all([...running].map(async node => { await node.stop() })) })

async function started (options: MeshNodeOptions): Promise<MeshNode> {
  const node = new MeshNode({ host: 'sim', connectionTimeout: 1000, ...options })
  running.add(node)
  await node.start()
  return node
}

/** Two plain peers (full-mesh nodes that dial no one themselves) on gateway G, and X beyond it in the overlay. */
async function bridge (relayPlainPeers: boolean): Promise<{ plain: MeshNode, other: MeshNode, g: MeshNode, x: MeshNode, atX: IncomingMessage[] }> {
  const transport = memoryNetwork()
  const overlay = { capabilityTimeout: 1000, repairInterval: 50 }
  const g = await started({ name: 'G', transport, topology: 'overlay', overlay: { ...overlay, relayPlainPeers } })
  const x = await started({ name: 'X', transport, topology: 'overlay', overlay })
  const plain = await started({ name: 'L', transport, autoDial: false })
  const other = await started({ name: 'L2', transport, autoDial: false })
  await x.connect(g.address)
  await plain.connect(g.address)
  await other.connect(g.address)
  await waitFor(() => g.overlayStatus()?.plain.length === 2 && g.overlayStatus()?.active.includes(x.id) === true, 'G to know its plain peers and X as a neighbour')
  const atX: IncomingMessage[] = []
  x.on('chat', msg => { atX.push({ type: 'chat', ...msg }) })
  return { plain, other, g, x, atX }
}

describe('gateways for line-protocol peers', () => {
  it('relays what a plain peer sends, vouched for by the gateway, to the overlay and its other plain peers, not back to it', async () => {
    const { plain, other, g, x } = await bridge(true)
    const atX = once(x, 'chat')
    const atOther = once(other, 'chat')
    const atPlain: string[] = []
    plain.on('chat', ({ text }) => { atPlain.push(text) })
    await plain.broadcast('from a line-protocol peer')
    const [msg] = await within(atX, 'the relayed message at X')
    assert.deepEqual([msg.text, msg.origin, msg.authenticity, msg.gateway, msg.peer.id], ['from a line-protocol peer', { id: plain.id, name: 'L' }, 'vouched', g.id, g.id])
    const [copy] = await within(atOther, 'the copy at the other plain peer')
    assert.deepEqual([copy.text, copy.origin.id, copy.authenticity], ['from a line-protocol peer', g.id, 'link'])
    // What G says itself follows on the same links: once it is at L, nothing of L's own came back before it.
    const next = once(x, 'chat')
    await g.broadcast('from G')
    assert.deepEqual([(await within(next, 'G\'s own at X'))[0].authenticity], ['signed'])
    await waitFor(() => atPlain.includes('from G'), 'G\'s own at L')
    assert.deepEqual(atPlain, ['from G'], 'L does not get its own message back')
  })

  it('keeps a plain peer\'s messages to the gateway without relayPlainPeers', async () => {
    const { plain, g, atX, x } = await bridge(false)
    const atG = once(g, 'chat')
    await plain.broadcast('for G only')
    assert.equal((await within(atG, 'the message at G'))[0].authenticity, 'link')
    const next = once(x, 'chat')
    await g.broadcast('from G')
    await within(next, 'G\'s own at X')
    assert.deepEqual(atX.map(msg => msg.type === 'chat' && msg.text), ['from G'])
  })
})

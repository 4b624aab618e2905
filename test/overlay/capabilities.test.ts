import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import { Capabilities, answerCapabilityProbes, type PeerKind } from '../../lib/overlay/capabilities.js'
import { decodeFrame, encodeFrame } from '../../lib/overlay/overlay-protocol.js'
import type { Message } from '../../transforms/core/line-protocol.js'
import { PENDING, activeTimers, settled, sleep } from '../../harness/async.js'
import type { PeerInfo } from '../../lib/types.js'

function tracked (opts: { capabilityTimeout?: number, maxHeldMessages?: number } = {}): { caps: Capabilities, decisions: Array<[string, PeerKind, number]> } {
  const decisions: Array<[string, PeerKind, number]> = []
  const caps = new Capabilities({
    capabilityTimeout: opts.capabilityTimeout ?? 10_000,
    maxHeldMessages: opts.maxHeldMessages ?? 10,
    onDecided: (peer, kind, held) => { decisions.push([peer, kind, held.length]) }
  })
  return { caps, decisions }
}

const chat = (text: string): Message => ({ type: 'chat', text })

describe('overlay capabilities', () => {
  it('takes a peer that answers nothing within capabilityTimeout for plain, with what was held for it', async () => {
    const { caps, decisions } = tracked({ capabilityTimeout: 10 })
    caps.added('p')
    assert.equal(caps.kind('p'), 'pending')
    assert.equal(caps.hold('p', chat('one')), true)
    await sleep(30)
    assert.deepEqual(decisions, [['p', 'plain', 1]])
    assert.equal(caps.hold('p', chat('two')), false, 'a decided peer is sent to at once')
  })

  it('decides once, but moves a peer taken for plain to overlay when it shows it speaks it', () => {
    const { caps, decisions } = tracked()
    caps.added('p')
    caps.decide('p', 'overlay')
    caps.decide('p', 'plain')
    caps.added('q')
    caps.decide('q', 'plain')
    caps.decide('q', 'overlay')
    assert.deepEqual(decisions, [['p', 'overlay', 0], ['q', 'plain', 0], ['q', 'overlay', 0]])
    assert.deepEqual([...caps.ofKind('overlay')], ['p', 'q'])
    caps.stop()
  })

  it('holds maxHeldMessages, then has the next one wait for the decision instead of guessing', async () => {
    const { caps, decisions } = tracked({ maxHeldMessages: 2 })
    caps.added('p')
    assert.deepEqual(['a', 'b'].map(text => caps.hold('p', chat(text))), [true, true])
    const third = caps.hold('p', chat('c'))
    assert.ok(third instanceof Promise)
    assert.equal(await settled(third), PENDING, 'still undecided')
    caps.decide('p', 'overlay')
    assert.deepEqual(await third, chat('c'))
    assert.deepEqual(decisions, [['p', 'overlay', 2]])
    assert.equal(caps.hold('p', chat('d')), false, 'decided: nothing held')
    caps.stop()
  })

  it('clears its timers when a peer goes and on stop', () => {
    const before = activeTimers()
    const { caps, decisions } = tracked()
    caps.added('p')
    caps.added('q')
    assert.equal(activeTimers(), before + 2)
    caps.removed('p')
    caps.stop()
    assert.equal(activeTimers(), before)
    assert.deepEqual(decisions, [])
  })

  it('answers a probe with its own topology, and nothing else, on a node without the overlay', async () => {
    const replies: Array<[string, Message]> = []
    const handler = answerCapabilityProbes('full-mesh', async (peerId, msg) => { replies.push([peerId, msg]) })
    const peer = { id: 'o', name: 'o' } as PeerInfo
    const direct = { origin: peer, hops: 1, authenticity: 'link' } as const
    await handler(encodeFrame({ type: 'caps', topology: 'overlay', reply: false }), peer, direct)
    await handler(encodeFrame({ type: 'caps', topology: 'overlay', reply: true }), peer, direct)
    await handler(encodeFrame({ type: 'prune' }), peer, direct)
    assert.equal(replies.length, 1)
    const [to, msg] = replies[0] as [string, Message]
    assert.equal(to, 'o')
    assert.deepEqual(msg.type === 'bytes' && decodeFrame(new Uint8ArrayList(msg.data)), { type: 'caps', topology: 'full-mesh', reply: true })
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Membership, type MembershipAction, type MembershipOptions } from '../../lib/overlay/membership.js'
import type { MembershipFrame, PeerRef } from '../../lib/overlay/overlay-protocol.js'
import { seeded } from '../../harness/random.js'
import { dialOnlyAddress } from '../../transforms/core/line-protocol.js'

const ref = (i: number | string): PeerRef => ({ id: `n${i}`, address: `sim:${String(i).replace(/\D/g, '') || 1}` })

function options (overrides: Partial<MembershipOptions> = {}): MembershipOptions {
  return {
    activeViewSize: 3,
    passiveViewSize: 6,
    activeWalkLength: 4,
    passiveWalkLength: 2,
    shuffleActive: 2,
    shufflePassive: 2,
    shuffleWalkLength: 3,
    requestTimeout: 1000,
    refusalMemory: 500,
    lostRetryTime: 10_000,
    random: seeded(1),
    ...overrides
  }
}

function types (actions: MembershipAction[]): string[] {
  return actions.map(a => a.type === 'send' || a.type === 'route' ? `${a.type}:${a.frame.type}>${a.to}` : `${a.type}:${a.type === 'dial' ? a.peer.id : a.peer}`)
}

/** A node with the given neighbours (each accepted through NEIGHBOR high). */
function withNeighbours (count: number, opts = options()): Membership {
  const node = new Membership(ref(0), opts)
  for (let i = 1; i <= count; i++) node.receive(ref(i), { type: 'neighbor', priority: 'high' }, 0)
  return node
}

describe('overlay membership (HyParView core)', () => {
  it('joins through a contact: the contact is a neighbour at once, and is sent a shuffle right after the JOIN', () => {
    const node = new Membership(ref(0), options())
    assert.deepEqual(types(node.join(ref(1), 0)), ['send:join>n1', 'up:n1', 'send:shuffle>n1'])
    assert.deepEqual([...node.active.keys()], ['n1'])
    assert.deepEqual(node.join(ref(1), 0), [], 'joining twice through the same contact does nothing')
    assert.deepEqual(types(node.join(ref(2), 0)), ['dial:n2'], 'a node with neighbours asks the next contact to be one')
  })

  it('says of each new neighbour whether it is a leaf (a node that does not listen)', () => {
    const node = withNeighbours(1)
    const page = { id: 'page', address: dialOnlyAddress('page') }
    const ups = [...node.receive(page, { type: 'join' }, 0), ...node.receive(ref(2), { type: 'neighbor', priority: 'high' }, 0)].filter(a => a.type === 'up')
    assert.deepEqual(ups, [{ type: 'up', peer: 'page', leaf: true }, { type: 'up', peer: 'n2', leaf: false }])
  })

  it('takes a joining node as a neighbour and forwards it to every other neighbour with the active walk length', () => {
    const node = withNeighbours(2)
    const actions = node.receive(ref(9), { type: 'join' }, 0)
    assert.deepEqual(types(actions), ['up:n9', 'send:forward-join>n1', 'send:forward-join>n2'])
    const forward = actions[1]
    assert.deepEqual(forward?.type === 'send' && forward.frame, { type: 'forward-join', ttl: 4, peer: ref(9) })
  })

  it('drops a random neighbour, to the passive view with DISCONNECT, when a join comes to a full view', () => {
    const node = withNeighbours(3)
    const actions = node.receive(ref(9), { type: 'join' }, 0)
    const dropped = actions.find(a => a.type === 'disconnect')
    assert.ok(dropped?.type === 'disconnect')
    assert.equal(node.active.size, 3)
    assert.ok(node.active.has('n9'))
    assert.ok(node.passive.has(dropped.peer))
    assert.ok(actions.some(a => a.type === 'down' && a.peer === dropped.peer))
  })

  it('forwards a FORWARD_JOIN by random walk, remembers the newcomer at the passive walk length, and takes it where the walk ends', () => {
    const node = withNeighbours(3)
    const walk = node.receive(ref(1), { type: 'forward-join', ttl: 2, peer: ref(9) }, 0)
    assert.equal(walk.length, 1)
    const next = walk[0]
    assert.ok(next?.type === 'send' && next.frame.type === 'forward-join' && next.frame.ttl === 1 && next.to !== 'n1')
    assert.ok(node.passive.has('n9'), 'ttl == passiveWalkLength adds to the passive view')
    const end = node.receive(ref(1), { type: 'forward-join', ttl: 0, peer: ref(8) }, 0)
    assert.deepEqual(end, [{ type: 'dial', peer: ref(8), request: { type: 'neighbor', priority: 'high' } }])
    assert.deepEqual(node.receive(ref(1), { type: 'forward-join', ttl: 0, peer: ref(0) }, 0), [], 'a walk that brings us ourselves ends')
    const lonely = withNeighbours(1)
    assert.deepEqual(types(lonely.receive(ref(1), { type: 'forward-join', ttl: 3, peer: ref(7) }, 0)), ['dial:n7'], 'no other neighbour: the walk ends here')
  })

  it('accepts NEIGHBOR high always, and low only with room', () => {
    const node = withNeighbours(3)
    assert.deepEqual(types(node.receive(ref(8), { type: 'neighbor', priority: 'low' }, 0)), ['send:neighbor-reply>n8'])
    assert.equal(node.active.has('n8'), false)
    assert.ok(node.passive.has('n8'), 'a refused node is still worth knowing')
    const high = node.receive(ref(9), { type: 'neighbor', priority: 'high' }, 0)
    assert.deepEqual(high[0], { type: 'send', to: 'n9', frame: { type: 'neighbor-reply', accepted: true } })
    assert.ok(node.active.has('n9'))
    assert.equal(node.active.size, 3)
    const roomy = withNeighbours(1)
    assert.deepEqual(types(roomy.receive(ref(5), { type: 'neighbor', priority: 'low' }, 0)), ['send:neighbor-reply>n5', 'up:n5'])
  })

  it('replaces a failed neighbour from the passive view, insisting (high) when it has none left', () => {
    const node = withNeighbours(1, options({ activeViewSize: 2 }))
    node.shuffleReply([ref(6)])
    const actions = node.disconnected('n1', 0)
    assert.deepEqual(actions, [{ type: 'down', peer: 'n1' }, { type: 'dial', peer: ref(6), request: { type: 'neighbor', priority: 'high' } }])
    assert.equal(node.passive.has('n1'), false, 'a failed node is not kept')
    assert.equal(node.wants('n6'), true)
    assert.deepEqual(types(node.receive(ref(6), { type: 'neighbor-reply', accepted: true }, 1)), ['up:n6'])
    assert.equal(node.passive.has('n6'), false)
  })

  it('insists (high) while two or more slots are free, even with nodes that refused it, and asks low for the last one', () => {
    const node = withNeighbours(1, options({ activeViewSize: 5 }))
    node.shuffleReply([ref(5), ref(6), ref(7), ref(8)])
    node.receive(ref(9), { type: 'neighbor-reply', accepted: false }, 0)
    const actions = node.repair(0)
    const priorities = actions.flatMap(a => a.type === 'dial' ? [a.request.priority] : [])
    assert.deepEqual(priorities, ['high', 'high', 'high', 'low'], '1 neighbour + 3 insisting = 4 of 5')
  })

  it('closes the connection after a refusal, keeps the node in the passive view, and gives up unanswered requests', () => {
    const node = withNeighbours(1, options({ activeViewSize: 3 }))
    node.shuffleReply([ref(5), ref(6)])
    assert.deepEqual(types(node.repair(0)).sort(), ['dial:n5', 'dial:n6'])
    assert.deepEqual(node.repair(10), [], 'requests in flight fill the free slots')
    assert.deepEqual(types(node.receive(ref(5), { type: 'neighbor-reply', accepted: false }, 10)), ['close:n5'])
    assert.ok(node.passive.has('n5'))
    assert.deepEqual(node.repair(20), [], 'a node that refused is not asked again at once')
    assert.deepEqual(types(node.repair(510)), ['dial:n5'], 'but once refusalMemory has passed')
    assert.ok(types(node.repair(1000)).includes('close:n6'), 'unanswered for requestTimeout')
  })

  it('takes a node whose dial failed for gone, without touching the neighbours, and asks another', () => {
    const node = withNeighbours(1, options({ activeViewSize: 3 }))
    node.shuffleReply([ref(5), ref(6)])
    assert.deepEqual(types(node.repair(0)).sort(), ['dial:n5', 'dial:n6'])
    assert.deepEqual(node.requestFailed('n1', 0), [], 'a neighbour is not a request')
    assert.ok(node.active.has('n1'))
    node.shuffleReply([ref(7)])
    assert.deepEqual(types(node.requestFailed('n5', 0)), ['dial:n7'])
    assert.equal(node.passive.has('n5'), false)
  })

  it('tries a node lost without DISCONNECT again, insisting, until it is back or lostRetryTime has passed, and then forgets the others', () => {
    const node = withNeighbours(3)
    assert.deepEqual(node.retryLost(0), [], 'nothing lost')
    node.disconnected('n1', 0)
    node.disconnected('n2', 0)
    const retry = node.retryLost(100)
    assert.equal(retry.length, 1)
    const [dial] = retry
    assert.ok(dial?.type === 'dial' && ['n1', 'n2'].includes(dial.peer.id) && dial.request.type === 'neighbor' && dial.request.priority === 'high')
    const peer = dial.type === 'dial' ? dial.peer.id : ''
    assert.deepEqual(types(node.requestFailed(peer, 200)).filter(t => t.startsWith('dial')), [], 'still lost: nothing else to ask')
    assert.equal(node.retryLost(300).length, 1, 'tried again at the next shuffle')
    assert.deepEqual(node.retryLost(10_000), [], 'forgotten after lostRetryTime')
    const back = withNeighbours(3)
    back.disconnected('n1', 0)
    back.disconnected('n2', 0)
    const [again] = back.retryLost(1)
    const id = again?.type === 'dial' ? again.peer.id : ''
    assert.ok(types(back.receive(ref(id.slice(1)), { type: 'neighbor-reply', accepted: true }, 2)).includes(`up:${id}`))
    assert.deepEqual(back.retryLost(3), [], 'one lost node back joins the sides: the other is not tried')
  })

  it('does not count a neighbour that left with DISCONNECT as lost', () => {
    const node = withNeighbours(3)
    node.receive(ref(2), { type: 'disconnect' }, 0)
    assert.deepEqual(node.retryLost(1), [])
  })

  it('moves a neighbour that sends DISCONNECT to the passive view, closes, and refills the slot from another passive node', () => {
    const node = withNeighbours(3)
    node.shuffleReply([ref(7)])
    const actions = node.receive(ref(2), { type: 'disconnect' }, 0)
    assert.deepEqual(types(actions), ['down:n2', 'close:n2', 'dial:n7'])
    assert.deepEqual(actions[2]?.type === 'dial' && actions[2].request, { type: 'neighbor', priority: 'low' })
  })

  it('shuffles a sample of both views with a random neighbour, forwards a shuffle by walk, and answers where the walk ends', () => {
    const node = withNeighbours(3)
    for (const i of [5, 6, 7]) node.receive(ref(1), { type: 'forward-join', ttl: 2, peer: ref(i) }, 0)
    const [shuffle] = node.shuffle()
    assert.ok(shuffle?.type === 'send' && shuffle.frame.type === 'shuffle')
    assert.equal(shuffle.frame.entries[0]?.id, 'n0')
    assert.equal(shuffle.frame.entries.length, 1 + 2 + 2)
    assert.equal(shuffle.frame.ttl, 3)
    const passing = node.receive(ref(1), { type: 'shuffle', ttl: 2, hops: 1, origin: 'n40', entries: [ref(40)] }, 0)
    assert.ok(passing[0]?.type === 'send' && passing[0].frame.type === 'shuffle' && passing[0].frame.ttl === 1 && passing[0].frame.hops === 2)
    const ending = node.receive(ref(1), { type: 'shuffle', ttl: 1, hops: 3, origin: 'n41', entries: [ref(41), ref(42)] }, 0)
    assert.equal(ending.length, 1)
    assert.ok(ending[0]?.type === 'route' && ending[0].to === 'n41' && ending[0].frame.entries.length === 2)
    assert.ok(node.passive.has('n41') && node.passive.has('n42'))
  })

  it('keeps the passive view bounded, making room with what it sent in its last shuffle first', () => {
    const node = withNeighbours(2, options({ passiveViewSize: 3, shufflePassive: 3 }))
    for (const i of [5, 6, 7]) node.receive(ref(1), { type: 'forward-join', ttl: 2, peer: ref(i) }, 0)
    const [shuffle] = node.shuffle()
    const sent = new Set(shuffle?.type === 'send' && shuffle.frame.type === 'shuffle' ? shuffle.frame.entries.map(e => e.id) : [])
    node.shuffleReply([ref(20), ref(21)])
    assert.equal(node.passive.size, 3)
    assert.ok(node.passive.has('n20') && node.passive.has('n21'))
    assert.equal([...node.passive.keys()].filter(id => !sent.has(id) && !id.startsWith('n2')).length, 0)
    node.shuffleReply([ref(0), ref(1)])
    assert.equal(node.passive.has('n0') || node.passive.has('n1'), false, 'never itself nor a neighbour')
  })

  it('forms a connected, symmetric, bounded overlay from 150 joins through random contacts, and heals after 20% fail', () => {
    const random = seeded(3)
    const opts = options({ activeViewSize: 5, passiveViewSize: 20, activeWalkLength: 5, passiveWalkLength: 2, shuffleActive: 3, shufflePassive: 4, shuffleWalkLength: 4, random })
    const sim = new MembershipSimulation(opts)
    for (let i = 0; i < 150; i++) {
      sim.add(i)
      if (i > 0) sim.join(i, Math.floor(random() * i))
      sim.run()
      // The driver's timers: shuffles every so often, repairs more often.
      if (i % 25 === 24) sim.everyNode(node => node.shuffle())
      if (i % 5 === 4) sim.everyNode(node => node.repair(0))
    }
    sim.check()
    for (let round = 0; round < 5; round++) sim.everyNode(node => node.shuffle())
    sim.check()
    assert.ok(sim.meanDegree() > 4, `mean degree ${sim.meanDegree()}`)
    for (const id of [...sim.nodes.keys()]) if (random() < 0.2) sim.kill(id)
    for (let round = 0; round < 3; round++) sim.everyNode(node => node.repair(round * 10))
    sim.check()
    assert.ok(sim.meanDegree() > 4, `mean degree after failures ${sim.meanDegree()}`)
  })
})

/** Membership cores wired by a synchronous message queue; connections are modelled so that closing one tells both ends. */
class MembershipSimulation {
  readonly nodes = new Map<string, Membership>()
  private readonly connections = new Set<string>()
  private readonly queue: Array<() => void> = []

  constructor (private readonly opts: MembershipOptions) {}

  add (i: number): void {
    this.nodes.set(`n${i}`, new Membership(ref(i), this.opts))
  }

  join (i: number, contact: number): void {
    this.connect(`n${i}`, `n${contact}`)
    this.apply(`n${i}`, (this.nodes.get(`n${i}`) as Membership).join(ref(contact), 0))
  }

  kill (id: string): void {
    this.nodes.delete(id)
    for (const key of [...this.connections]) {
      const [a, b] = key.split('|') as [string, string]
      if (a === id || b === id) this.close(a, b)
    }
    this.run()
  }

  everyNode (fn: (node: Membership) => MembershipAction[]): void {
    for (const [id, node] of this.nodes) this.apply(id, fn(node))
    this.run()
  }

  run (): void {
    for (let step = 0; this.queue.length > 0; step++) {
      assert.ok(step < 1_000_000, 'the simulation settles')
      ;(this.queue.shift() as () => void)()
    }
  }

  meanDegree (): number {
    let sum = 0
    for (const node of this.nodes.values()) sum += node.active.size
    return sum / this.nodes.size
  }

  /** Symmetric, bounded, backed by connections, and connected. */
  check (): void {
    for (const [id, node] of this.nodes) {
      assert.ok(node.active.size >= 1 && node.active.size <= this.opts.activeViewSize, `${id} has ${node.active.size} neighbours`)
      assert.ok(node.passive.size <= this.opts.passiveViewSize)
      for (const peer of node.active.keys()) {
        assert.ok(this.nodes.get(peer)?.active.has(id), `${id} -> ${peer} is symmetric`)
        assert.ok(this.connections.has(this.key(id, peer)), `${id} -> ${peer} has a connection`)
      }
    }
    const [first] = this.nodes.keys()
    const seen = new Set([first as string])
    const stack = [first as string]
    while (stack.length > 0) {
      for (const peer of (this.nodes.get(stack.pop() as string) as Membership).active.keys()) {
        if (!seen.has(peer)) {
          seen.add(peer)
          stack.push(peer)
        }
      }
    }
    assert.equal(seen.size, this.nodes.size, 'the overlay is connected')
  }

  private key (a: string, b: string): string {
    return a < b ? `${a}|${b}` : `${b}|${a}`
  }

  private connect (a: string, b: string): void {
    this.connections.add(this.key(a, b))
  }

  /** As a node's close: both ends hear of it at once, before anything else happens. */
  private close (a: string, b: string): void {
    if (!this.connections.delete(this.key(a, b))) return
    for (const [self, other] of [[a, b], [b, a]] as const) {
      const node = this.nodes.get(self)
      if (node !== undefined) this.apply(self, node.disconnected(other, 0))
    }
  }

  private deliver (from: string, to: string, frame: MembershipFrame, routed = false): void {
    this.queue.push(() => {
      const node = this.nodes.get(to)
      if (node === undefined || (!routed && !this.connections.has(this.key(from, to)))) return
      const sender = { id: from, address: `sim:${from.slice(1)}` }
      if (frame.type === 'shuffle-reply') node.shuffleReply(frame.entries)
      else this.apply(to, node.receive(sender, frame, 0))
    })
  }

  private apply (self: string, actions: MembershipAction[]): void {
    for (const action of actions) {
      switch (action.type) {
        case 'send': this.deliver(self, action.to, action.frame); break
        case 'route': this.deliver(self, action.to, action.frame, true); break
        case 'dial':
          if (this.nodes.has(action.peer.id)) {
            this.connect(self, action.peer.id)
            this.deliver(self, action.peer.id, action.request)
          } else {
            const node = this.nodes.get(self) as Membership
            this.queue.push(() => { this.apply(self, node.disconnected(action.peer.id, 0)) })
          }
          break
        case 'disconnect':
          this.deliver(self, action.peer, { type: 'disconnect' })
          this.queue.push(() => { this.close(self, action.peer) })
          break
        case 'close': this.close(self, action.peer); break
        case 'up': case 'down': break
      }
    }
  }
}

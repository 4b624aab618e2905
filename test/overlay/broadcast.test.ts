import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Plumtree, type BroadcastAction } from '../../lib/overlay/broadcast.js'
import type { CachedMessage } from '../../lib/overlay/message-cache.js'
import type { BroadcastFrame } from '../../lib/overlay/overlay-protocol.js'
import { seeded } from '../../harness/random.js'

const OPTS = { maxSeenMessages: 1000, seenTtl: 10_000, maxCachedBytes: 1 << 20, cacheTtl: 10_000, graftTimeout: 50, graftRetryTimeout: 20, maxHops: 64, graftHoldTime: 30, optimizationThreshold: 0, optimizationSamples: 1, initialEagerLinks: 64 }

function message (id: string, hops = 0): CachedMessage {
  return { type: 'gossip', id, kind: 'chat', hops, hopLimit: 64, origin: { id: 'o', name: '' }, payload: new TextEncoder().encode(id) }
}

function sends (actions: BroadcastAction[]): Array<[string[], string]> {
  return actions.flatMap(a => a.type === 'send' ? [[a.to, a.frame.type] as [string[], string]] : [])
}

/**
 * A discrete-event simulation of Plumtree cores on a random graph: links
 * deliver in order after a random delay, timers fire in simulated time.
 */
class Simulation {
  readonly cores: Plumtree[] = []
  readonly delivered: Array<Map<string, number>> = []
  readonly sent = { gossip: 0, ihave: 0, graft: 0, prune: 0 }
  readonly dead = new Set<number>()
  private now = 0
  private events: Array<{ at: number, seq: number, run: () => void }> = []
  private seq = 0
  private readonly timers = new Map<string, number>()
  private readonly linkClock = new Map<string, number>()

  constructor (readonly n: number, degree: number, private readonly random: () => number, opts = OPTS) {
    for (let i = 0; i < n; i++) {
      this.cores.push(new Plumtree(opts))
      this.delivered.push(new Map())
    }
    // A ring keeps the graph connected; random chords bring the degree up.
    const edges = new Set<string>()
    const link = (a: number, b: number): void => {
      if (a === b || edges.has(`${a}-${b}`)) return
      edges.add(`${a}-${b}`).add(`${b}-${a}`)
      this.cores[a]?.neighborUp(String(b), 0)
      this.cores[b]?.neighborUp(String(a), 0)
    }
    for (let i = 0; i < n; i++) link(i, (i + 1) % n)
    for (let i = 0; i < n * (degree - 2) / 2; i++) link(Math.floor(random() * n), Math.floor(random() * n))
  }

  broadcast (from: number, id: string): void {
    this.apply(from, (this.cores[from] as Plumtree).broadcast(message(id), this.now))
  }

  kill (node: number): void {
    this.dead.add(node)
    for (const peer of [...(this.cores[node] as Plumtree).eager, ...(this.cores[node] as Plumtree).lazy]) {
      (this.cores[Number(peer)] as Plumtree).neighborDown(String(node))
    }
  }

  run (): void {
    while (this.events.length > 0) {
      this.events.sort((a, b) => a.at - b.at || a.seq - b.seq)
      const event = this.events.shift() as { at: number, run: () => void }
      this.now = event.at
      event.run()
    }
  }

  private at (delay: number, run: () => void): void {
    this.events.push({ at: this.now + delay, seq: this.seq++, run })
  }

  private apply (node: number, actions: BroadcastAction[]): void {
    if (this.dead.has(node)) return
    const core = this.cores[node] as Plumtree
    for (const action of actions) {
      if (action.type === 'send') {
        for (const to of action.to) this.transmit(node, Number(to), action.frame)
      } else if (action.type === 'schedule') {
        const key = `${node}/${action.id}`
        const token = this.seq
        this.timers.set(key, token)
        this.at(action.delay, () => { if (this.timers.get(key) === token) this.apply(node, core.timeout(action.id, this.now)) })
      } else {
        this.timers.delete(`${node}/${action.id}`)
      }
    }
  }

  private transmit (from: number, to: number, frame: BroadcastFrame): void {
    this.sent[frame.type]++
    const key = `${from}-${to}`
    const at = Math.max(this.linkClock.get(key) ?? 0, this.now + 1 + Math.floor(this.random() * 5))
    this.linkClock.set(key, at)
    this.at(at - this.now, () => {
      if (this.dead.has(to) || this.dead.has(from)) return
      const core = this.cores[to] as Plumtree
      const peer = String(from)
      switch (frame.type) {
        case 'gossip': {
          const { fresh, actions } = core.onGossip(peer, frame as CachedMessage, this.now)
          if (fresh) this.delivered[to]?.set(frame.id, frame.hops)
          this.apply(to, actions)
          break
        }
        case 'ihave': this.apply(to, core.onIHave(peer, frame.ids, this.now)); break
        case 'graft': this.apply(to, core.onGraft(peer, frame.id, this.now)); break
        case 'prune': core.onPrune(peer); break
      }
    })
  }

  missing (id: string, origin: number): number[] {
    const out: number[] = []
    for (let i = 0; i < this.n; i++) if (i !== origin && !this.dead.has(i) && this.delivered[i]?.has(id) !== true) out.push(i)
    return out
  }
}

describe('overlay broadcast (Plumtree core)', () => {
  it('pushes a payload to neither the neighbour it came from nor its author', () => {
    const core = new Plumtree(OPTS)
    for (const peer of ['o', 'a', 'b', 'c']) core.neighborUp(peer, 0)
    core.onPrune('c')
    const { actions } = core.onGossip('a', message('m1', 1), 0)
    assert.deepEqual(sends(actions), [[['b'], 'gossip'], [['c'], 'ihave']])
  })

  it('pushes a broadcast eagerly to every neighbour at first, and delivers a payload once', () => {
    const core = new Plumtree(OPTS)
    core.neighborUp('a', 0)
    core.neighborUp('b', 0)
    assert.deepEqual(sends(core.broadcast(message('m1'), 0)), [[['a', 'b'], 'gossip']])
    const first = core.onGossip('a', message('m2', 1), 0)
    assert.equal(first.fresh, true)
    assert.deepEqual(sends(first.actions), [[['b'], 'gossip']])
    const again = core.onGossip('b', message('m2', 1), 0)
    assert.equal(again.fresh, false)
    assert.deepEqual(sends(again.actions), [[['b'], 'prune']])
    assert.deepEqual([...core.eager], ['a'])
    assert.deepEqual([...core.lazy], ['b'])
  })

  it('starts the neighbours past initialEagerLinks lazy, until a GRAFT or a payload from them makes them eager', () => {
    const core = new Plumtree({ ...OPTS, initialEagerLinks: 2 })
    for (const peer of ['a', 'b', 'c', 'd']) core.neighborUp(peer, 0)
    assert.deepEqual([[...core.eager], [...core.lazy]], [['a', 'b'], ['c', 'd']])
    assert.deepEqual(sends(core.broadcast(message('m1'), 0)), [[['a', 'b'], 'gossip'], [['c', 'd'], 'ihave']])
    // c counts us among its first eager links: its payload makes the link eager here too.
    const { actions } = core.onGossip('c', message('m2', 1), 1)
    assert.deepEqual(sends(actions)[0], [['c'], 'graft'])
    core.onGraft('d', 'm1', 2)
    assert.deepEqual([[...core.eager].sort(), [...core.lazy]], [['a', 'b', 'c', 'd'], []])
    core.onPrune('a')
    core.onPrune('b')
    core.onPrune('c')
    core.neighborUp('e', 3)
    assert.ok(core.eager.has('e'), 'one eager link left: a new neighbour joins as eager again')
    core.neighborUp('f', 3)
    core.neighborUp('page', 3, true)
    assert.ok(core.lazy.has('f') && core.eager.has('page'), 'a leaf starts eager past initialEagerLinks: it has no other way to the payloads')
  })

  it('floods fewer links with the first broadcast when few neighbours start eager, and still delivers to every node', () => {
    const n = 200
    const firstFlood = (initialEagerLinks: number): number => {
      const sim = new Simulation(n, 10, seeded(3), { ...OPTS, initialEagerLinks })
      sim.broadcast(0, 'first')
      sim.run()
      assert.deepEqual(sim.missing('first', 0), [])
      return sim.sent.gossip
    }
    const all = firstFlood(64)
    const few = firstFlood(3)
    assert.ok(all > 6 * n, `every link flooded: ${all} payloads`)
    assert.ok(few < all / 2, `${few} payloads with 3 eager links at first, ${all} with all`)
  })

  it('sends only ids on lazy links, and turns a link lazy when told PRUNE', () => {
    const core = new Plumtree(OPTS)
    for (const peer of ['a', 'b', 'c']) core.neighborUp(peer, 0)
    core.onPrune('c')
    const { actions } = core.onGossip('a', message('m', 2), 0)
    assert.deepEqual(sends(actions), [[['b'], 'gossip'], [['c'], 'ihave']])
    const ihave = actions.find(a => a.type === 'send' && a.frame.type === 'ihave')
    assert.deepEqual(ihave?.type === 'send' && ihave.frame, { type: 'ihave', ids: [{ id: 'm', hops: 3 }] })
  })

  it('does not forward past the hop limit', () => {
    const core = new Plumtree({ ...OPTS, maxHops: 3 })
    core.neighborUp('a', 0)
    core.neighborUp('b', 0)
    assert.deepEqual(sends(core.onGossip('a', message('m', 3), 0).actions), [])
    assert.deepEqual(sends(core.onGossip('a', { ...message('n', 1), hopLimit: 1 }, 0).actions), [])
  })

  it('pulls a payload announced by IHAVE after graftTimeout, then asks the next announcer', () => {
    const core = new Plumtree(OPTS)
    for (const peer of ['a', 'b']) core.neighborUp(peer, 0)
    core.onPrune('a')
    core.onPrune('b')
    assert.deepEqual(core.onIHave('a', [{ id: 'm', hops: 1 }], 0), [{ type: 'schedule', id: 'm', delay: 50 }])
    assert.deepEqual(core.onIHave('b', [{ id: 'm', hops: 1 }], 1), [])
    assert.deepEqual(core.timeout('m', 50), [
      { type: 'send', to: ['a'], frame: { type: 'graft', id: 'm' } },
      { type: 'schedule', id: 'm', delay: 20 }
    ])
    assert.ok(core.eager.has('a'), 'a GRAFT makes the link eager again')
    assert.deepEqual(sends(core.timeout('m', 70)), [[['b'], 'graft']])
    const { fresh, actions } = core.onGossip('b', message('m', 2), 80)
    assert.equal(fresh, true)
    assert.ok(actions.some(a => a.type === 'cancel' && a.id === 'm'))
    assert.deepEqual(core.timeout('m', 90), [])
    assert.deepEqual(core.onIHave('a', [{ id: 'm', hops: 1 }], 100), [], 'a delivered id is not missing')
  })

  it('pulls a payload from an announcer that is not a neighbour without pushing to it from then on', () => {
    const core = new Plumtree(OPTS)
    core.neighborUp('a', 0)
    core.onIHave('stranger', [{ id: 'm', hops: 1 }], 0)
    assert.deepEqual(sends(core.timeout('m', 50)), [[['stranger'], 'graft']])
    assert.equal(core.eager.has('stranger'), false)
    assert.equal(core.lazy.has('stranger'), false)
    assert.deepEqual(sends(core.broadcast(message('n'), 60)), [[['a'], 'gossip']])
  })

  it('keeps a link made eager by a GRAFT for graftHoldTime, whatever duplicates it carries', () => {
    const core = new Plumtree(OPTS)
    for (const peer of ['a', 'b']) core.neighborUp(peer, 0)
    core.onPrune('a')
    core.onIHave('a', [{ id: 'm', hops: 1 }], 0)
    core.timeout('m', 50)
    core.onGossip('b', message('m', 2), 55)
    assert.deepEqual(sends(core.onGossip('a', message('m', 2), 60).actions), [], 'held: no PRUNE')
    assert.ok(core.eager.has('a'))
    core.onGossip('b', message('n', 2), 90)
    assert.deepEqual(sends(core.onGossip('a', message('n', 2), 90).actions), [[['a'], 'prune']], 'after graftHoldTime')
    core.onGraft('b', undefined, 100)
    core.onGossip('a', message('o', 2), 101)
    assert.deepEqual(sends(core.onGossip('b', message('o', 2), 110).actions), [], 'a GRAFT received holds the link too')
  })

  it('sends a GRAFT without id when a first copy comes over a link it pruned, so that the other side keeps pushing', () => {
    const core = new Plumtree(OPTS)
    for (const peer of ['a', 'b']) core.neighborUp(peer, 0)
    core.onGossip('a', message('m1', 1), 0)
    core.onGossip('b', message('m1', 1), 0)
    assert.ok(core.lazy.has('b'))
    const { actions } = core.onGossip('b', message('m2', 1), 1)
    assert.deepEqual(sends(actions).find(([, type]) => type === 'graft'), [['b'], 'graft'])
    assert.ok(actions.some(a => a.type === 'send' && a.frame.type === 'graft' && a.frame.id === undefined))
    assert.ok(core.eager.has('b'))
  })

  it('switches the tree to a lazy link that saved optimizationThreshold hops on average over optimizationSamples broadcasts', () => {
    const core = new Plumtree({ ...OPTS, optimizationThreshold: 2, optimizationSamples: 3 })
    for (const peer of ['p', 'l']) core.neighborUp(peer, 0)
    core.onPrune('l')
    // Announced after the copy arrived (cached), and before it (missing): both count.
    core.onGossip('p', message('m1', 6), 1)
    assert.deepEqual(sends(core.onIHave('l', [{ id: 'm1', hops: 3 }], 2)), [], 'one comparison is not enough')
    core.onIHave('l', [{ id: 'm2', hops: 5 }], 3)
    assert.deepEqual(sends(core.onGossip('p', message('m2', 6), 4).actions).filter(([, type]) => type !== 'gossip' && type !== 'ihave'), [], 'saved 1: the average is 2 now')
    core.onGossip('p', message('m3', 7), 5)
    assert.deepEqual(sends(core.onIHave('l', [{ id: 'm3', hops: 2 }], 6)), [[['l'], 'graft'], [['p'], 'prune']], 'saved 3, 1 and 5: 3 on average')
    assert.ok(core.eager.has('l') && core.lazy.has('p'))
    core.onGossip('l', message('m4', 2), 7)
    assert.deepEqual(sends(core.onIHave('p', [{ id: 'm4', hops: 1 }], 8)), [], 'what was measured against the old tree was forgotten')
  })

  it('does not switch for savings below the threshold, nor with the optimisation off', () => {
    for (const [threshold, saved] of [[2, 1], [0, 5]] as const) {
      const core = new Plumtree({ ...OPTS, optimizationThreshold: threshold, optimizationSamples: 2 })
      for (const peer of ['p', 'l']) core.neighborUp(peer, 0)
      core.onPrune('l')
      for (const id of ['m1', 'm2', 'm3']) {
        core.onGossip('p', message(id, 6), 1)
        assert.deepEqual(sends(core.onIHave('l', [{ id, hops: 6 - saved }], 2)), [])
      }
      assert.ok(core.eager.has('p') && core.lazy.has('l'))
    }
  })

  it('answers GRAFT with the cached payload and makes the link eager', () => {
    const core = new Plumtree(OPTS)
    core.neighborUp('a', 0)
    core.onPrune('a')
    core.broadcast(message('m'), 0)
    const actions = core.onGraft('a', 'm', 1)
    assert.deepEqual(sends(actions), [[['a'], 'gossip']])
    assert.ok(core.eager.has('a'))
    assert.deepEqual(core.onGraft('a', 'unknown', 1), [])
  })

  it('tells a new neighbour the ids of cached broadcasts, and forgets a neighbour that is gone', () => {
    const core = new Plumtree(OPTS)
    core.broadcast(message('m1'), 0)
    core.broadcast(message('m2'), 0)
    assert.deepEqual(core.neighborUp('a', 1), [{ type: 'send', to: ['a'], frame: { type: 'ihave', ids: [{ id: 'm1', hops: 0 }, { id: 'm2', hops: 0 }] } }])
    core.neighborUp('b', 1)
    core.onIHave('b', [{ id: 'x', hops: 1 }], 2)
    core.neighborDown('b')
    assert.deepEqual([...core.eager], ['a'])
    assert.deepEqual(core.timeout('x', 60), [], 'no announcer left to ask')
  })

  it('bounds the ids it waits for', () => {
    const core = new Plumtree({ ...OPTS, maxSeenMessages: 2 })
    core.neighborUp('a', 0)
    core.onIHave('a', [{ id: 'x', hops: 1 }, { id: 'y', hops: 1 }], 0)
    const actions = core.onIHave('a', [{ id: 'z', hops: 1 }], 0)
    assert.deepEqual(actions, [{ type: 'cancel', id: 'x' }, { type: 'schedule', id: 'z', delay: 50 }])
    assert.equal(core.missingCount, 2)
  })

  it('settles into a spanning tree: N-1 payload transmissions per broadcast on a random graph of 200', () => {
    const n = 200
    const random = seeded(1)
    const sim = new Simulation(n, 5, random)
    for (let b = 0; b < 5; b++) {
      sim.broadcast(Math.floor(random() * n), `warm${b}`)
      sim.run()
    }
    const before = sim.sent.gossip
    for (let b = 0; b < 20; b++) {
      const origin = Math.floor(random() * n)
      sim.broadcast(origin, `m${b}`)
      sim.run()
      assert.deepEqual(sim.missing(`m${b}`, origin), [])
    }
    assert.equal((sim.sent.gossip - before) / 20, n - 1)
  })

  it('delivers to every survivor when 20% of the nodes fail, repairing the tree with GRAFT', () => {
    const n = 200
    const random = seeded(2)
    const sim = new Simulation(n, 5, random)
    sim.broadcast(0, 'warm')
    sim.run()
    for (let i = 0; i < n; i++) if (i !== 0 && random() < 0.2) sim.kill(i)
    // Neighbours learn of a failure only from their transport, here at once; the ring and chords may leave a survivor isolated, which no broadcast can reach.
    const reachable = new Set<number>([0])
    const queue = [0]
    while (queue.length > 0) {
      const node = queue.pop() as number
      for (const peer of [...(sim.cores[node] as Plumtree).eager, ...(sim.cores[node] as Plumtree).lazy]) {
        if (!reachable.has(Number(peer))) {
          reachable.add(Number(peer))
          queue.push(Number(peer))
        }
      }
    }
    const grafts = sim.sent.graft
    for (let b = 0; b < 10; b++) {
      sim.broadcast(0, `m${b}`)
      sim.run()
      assert.deepEqual(sim.missing(`m${b}`, 0).filter(node => reachable.has(node)), [])
    }
    assert.ok(sim.sent.graft > grafts, 'the tree was repaired by GRAFTs')
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { VirtualClock } from '../../bench/sim/clock.js'
import { SimNetwork, uniformLatency } from '../../bench/sim/network.js'
import { runSimulation, type SimScenario } from '../../bench/sim/scenario.js'
import { seeded } from '../../harness/random.js'
import { DeliveryLog } from '../../bench/scale-shape.js'

describe('overlay simulator (bench/sim)', () => {
  it('runs callbacks in virtual-time order, ties in the order scheduled, and skips cancelled ones', () => {
    const clock = new VirtualClock()
    const ran: string[] = []
    clock.schedule(5, () => { ran.push('b5') })
    clock.schedule(1, () => {
      ran.push('a1')
      clock.schedule(1, () => { ran.push('c2') })
    })
    clock.schedule(5, () => { ran.push('d5') })
    clock.schedule(3, () => { ran.push('never') }).cancel()
    const ticks: number[] = []
    const every = clock.every(2, 0, () => { ticks.push(clock.now) })
    clock.runUntil(6)
    every.cancel()
    clock.runUntil(100)
    assert.deepEqual(ran, ['a1', 'c2', 'b5', 'd5'])
    assert.deepEqual(ticks, [0, 2, 4, 6])
    assert.equal(clock.now, 100)
  })

  it('counts a broadcast as held by the survivors while its origin or a node that delivered it is alive', () => {
    const log = new DeliveryLog(4, () => 0)
    log.sent('a', 0, 3)
    log.delivered('a', 1, 1)
    assert.equal(log.heldBy('a', new Set([0, 2, 3])), true, 'its origin')
    assert.equal(log.heldBy('a', new Set([1, 2])), true, 'a node that delivered it')
    assert.equal(log.heldBy('a', new Set([2, 3])), false, 'crashed with its origin and the only node that had it')
    assert.equal(log.heldBy('unknown', new Set([0])), false)
  })

  it('does not let the close of an old connection reach a newer one between the same two nodes', () => {
    const clock = new VirtualClock()
    let slow = false
    const net = new SimNetwork<number>(clock, { latency: (from, to) => slow && from === 1 && to === 0 ? 10 : 1, loss: 0, retransmitDelay: 0, failureDetection: 3 }, seeded(1))
    const closed: Array<[number, number]> = []
    for (const node of [0, 1]) net.add(node, { receive: () => {}, closed: peer => { closed.push([node, peer]) }, accepted: () => {} })
    net.dial(0, 1, () => {})
    clock.runUntil(5)
    // Both ends close at once, node 1's close slow to arrive, and node 0 dials again at once.
    slow = true
    net.close(1, 0)
    slow = false
    net.close(0, 1)
    net.dial(0, 1, () => {})
    clock.runUntil(20)
    assert.ok(net.connected(0, 1) && net.connected(1, 0), 'the new connection is open at both ends')
    assert.deepEqual(closed, [])
    net.crash(1)
    clock.runUntil(30)
    assert.deepEqual(closed, [[0, 1]], 'so node 0 hears when node 1 crashes')
  })

  it('keeps frames on a link in order whatever their latencies, and cuts links across a partition until it heals', () => {
    const clock = new VirtualClock()
    const random = seeded(3)
    const net = new SimNetwork<number>(clock, { latency: uniformLatency(1, 5), loss: 0.3, retransmitDelay: 50, failureDetection: 10 }, random)
    const got: Array<[number, number]> = []
    const closed: Array<[number, number]> = []
    for (const node of [0, 1, 2]) net.add(node, { receive: (from, frame) => { got.push([from, frame]) }, closed: peer => { closed.push([node, peer]) }, accepted: () => {} })
    let dialled = false
    net.dial(0, 1, ok => { dialled = ok })
    clock.runUntil(1_000)
    assert.ok(dialled && net.connected(1, 0))
    for (let i = 0; i < 200; i++) net.send(0, 1, i)
    clock.runUntil(2_000)
    assert.deepEqual(got.map(([, frame]) => frame), Array.from({ length: 200 }, (_, i) => i), 'in order, none lost: loss is delay')
    net.partition(node => node === 0 ? 0 : 1)
    let across: boolean | undefined
    net.dial(2, 0, ok => { across = ok })
    clock.runUntil(3_000)
    assert.deepEqual(closed.sort(), [[0, 1], [1, 0]], 'both ends hear of it')
    assert.equal(across, false)
    net.heal()
    net.dial(2, 0, ok => { across = ok })
    clock.runUntil(4_000)
    assert.equal(across, true)
  })

  const scenario: SimScenario = { n: 150, seed: 7, latency: 'lan', loss: 0, broadcasts: 20, gapMs: 50, crashes: [0.2, 0.5], partitionMs: 10_000 }

  it('delivers every broadcast in steady state, through 20% and then 50% crashes, and after a partition heals; the same from the same seed', () => {
    const result = runSimulation(scenario)
    assert.equal(result.ok, true)
    assert.equal(result.steady.deliveryRatio, 1)
    // The first broadcast floods the links that start eager (initialEagerLinks, 6 a node); the others follow the tree.
    assert.ok(result.steady.payloadPerBroadcastRatio < 1 + 5 / scenario.broadcasts, `about one payload per node: ${result.steady.payloadPerBroadcastRatio}`)
    assert.deepEqual(result.crashResults.map(r => [r.deliveryRatio, r.crashed]), [[1, 30], [1, 60]])
    assert.ok(result.crashResults.every(r => r.repairMs >= 0), 'membership repaired after each crash')
    const partition = result.partition
    assert.ok(partition !== undefined && partition.mergeMs >= 0, 'the halves joined again')
    assert.equal(partition.deliveryWithinSide, 1)
    assert.equal(partition.caughtUp, 1, 'what each half broadcast reached the other from the payload cache')
    assert.equal(partition.after.deliveryRatio, 1)
    const again = runSimulation(scenario)
    assert.deepEqual({ ...again, wallMs: 0, heapMiB: 0 }, { ...result, wallMs: 0, heapMiB: 0 })
  })
})

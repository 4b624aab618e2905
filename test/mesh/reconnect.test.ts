import assert from 'node:assert/strict'
import net from 'node:net'
import { describe, it } from 'node:test'
import { Reconnector, reconnectDelay, type ReconnectorOptions } from '../../lib/mesh/reconnect.js'
import type { LimitExceededError } from '../../lib/errors.js'
import { sleep, waitFor } from '../../harness/async.js'
import { LiveHarness } from '../support/live.js'
import { causeCodes, nextEvent, withHarness } from '../support/mesh.js'
import { HOST, portOf } from '../../harness/loopback.js'

/** A reconnector whose dial attempts are recorded with their time, failing while `fail` says so. */
function harness (opts: Partial<ReconnectorOptions> & { fail?: (address: string, attempt: number) => boolean } = {}) {
  const attempts: Array<{ address: string, at: number }> = []
  const givenUp: Array<{ address: string, attempts: number, error: unknown }> = []
  const limits: LimitExceededError[] = []
  const counts = new Map<string, number>()
  const reconnector = new Reconnector({
    attempts: 4,
    backoff: 10,
    maxDelay: 1000,
    capacity: 10,
    onGiveUp: (address, n, error) => { givenUp.push({ address, attempts: n, error }) },
    onLimit: error => { limits.push(error) },
    dial: async address => {
      const n = (counts.get(address) ?? 0) + 1
      counts.set(address, n)
      attempts.push({ address, at: Date.now() })
      if (opts.fail?.(address, n) ?? true) throw new Error(`attempt ${n} failed`)
    },
    ...opts
  })
  return { reconnector, attempts, givenUp, limits }
}

describe('reconnectDelay', () => {
  it('doubles from backoff, caps at maxDelay, and jitters by a factor in [0.5, 1.5)', () => {
    const mid = (): number => 0.5
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(n => reconnectDelay(n, 100, 1000, mid)), [100, 200, 400, 800, 1000, 1000])
    assert.equal(reconnectDelay(3, 100, 1000, () => 0), 200)
    assert.ok(reconnectDelay(3, 100, 1000, () => 0.999999) < 600)
    for (let i = 0; i < 1000; i++) {
      const delay = reconnectDelay(2, 100, 1000)
      assert.ok(delay >= 100 && delay < 300, `delay ${delay} outside [100, 300)`)
    }
  })
})

describe('Reconnector', () => {
  it('retries with growing delays up to `attempts`, then gives up with the last error', async () => {
    const { reconnector, attempts, givenUp } = harness({ random: () => 0.5, backoff: 20 })
    const start = Date.now()
    assert.equal(reconnector.schedule('h:1'), true)
    assert.equal(reconnector.size, 1)
    await waitFor(() => givenUp.length === 1, 'give up', 2000)
    assert.equal(attempts.length, 4)
    const gaps = attempts.map((a, i) => a.at - (i === 0 ? start : (attempts[i - 1] as { at: number }).at))
    // 20, 40, 80, 160 ms nominal: each gap at least its delay, and clearly growing.
    for (const [i, gap] of gaps.entries()) assert.ok(gap >= 20 * 2 ** i - 2, `gap ${i} was ${gap} ms`)
    assert.ok((gaps[3] as number) > (gaps[0] as number) * 4)
    assert.equal(givenUp[0]?.attempts, 4)
    assert.match(String((givenUp[0]?.error as Error).message), /attempt 4 failed/)
    assert.equal(reconnector.size, 0)
  })

  it('stops at the first success', async () => {
    const { reconnector, attempts, givenUp } = harness({ fail: (_address, n) => n < 2 })
    reconnector.schedule('h:1')
    await waitFor(() => reconnector.size === 0, 'success', 2000)
    assert.equal(attempts.length, 2)
    assert.deepEqual(givenUp, [])
  })

  it('makes the first attempt at once when asked', async () => {
    const { reconnector, attempts } = harness({ backoff: 10_000, fail: () => false })
    reconnector.schedule('h:1', true)
    await waitFor(() => attempts.length === 1, 'first attempt', 500)
    reconnector.clear()
  })

  it('schedules an address once, and refuses more than `capacity` addresses with LimitExceededError', () => {
    const { reconnector, limits } = harness({ capacity: 2, backoff: 10_000 })
    assert.equal(reconnector.schedule('h:1'), true)
    assert.equal(reconnector.schedule('h:1'), false)
    assert.equal(reconnector.schedule('h:2'), true)
    assert.equal(reconnector.schedule('h:3'), false)
    assert.equal(reconnector.size, 2)
    assert.equal(limits.length, 1)
    assert.equal(limits[0]?.code, 'ERR_LIMIT_EXCEEDED')
    assert.equal(limits[0]?.limit, 'maxReconnects')
    reconnector.clear()
    assert.equal(reconnector.size, 0)
  })

  it('schedules nothing when attempts is 0', () => {
    const { reconnector } = harness({ attempts: 0 })
    assert.equal(reconnector.schedule('h:1'), false)
    assert.equal(reconnector.size, 0)
  })

  it('cancel() and clear() stop the timers, also while an attempt is in flight', async () => {
    let release: (() => void) | undefined
    const dials: string[] = []
    const reconnector = new Reconnector({
      attempts: 5,
      backoff: 5,
      maxDelay: 5,
      capacity: 10,
      onGiveUp: () => { assert.fail('gave up') },
      onLimit: () => {},
      dial: async address => {
        dials.push(address)
        await new Promise<void>(resolve => { release = resolve })
        throw new Error('refused')
      }
    })
    reconnector.schedule('h:1')
    await waitFor(() => dials.length === 1, 'first attempt', 2000)
    reconnector.cancel('h:1')
    release?.()
    reconnector.schedule('h:2', true)
    reconnector.clear()
    await sleep(50)
    assert.deepEqual(dials, ['h:1'])
    assert.equal(reconnector.size, 0)
  })
})

describe('MeshNode: redialling lost peers', () => {
  it('redials a peer it had dialled once it is back on the same port, with no call to connect()', async () => {
    await withHarness(LiveHarness, async nodes => {
      const a = await nodes.node({ autoDial: false })
      const b = await nodes.node({ autoDial: false })
      const port = portOf(b.address)
      await a.connect(b.address)
      const lost = nextEvent(a, 'peer:disconnect', ({ peer }) => peer.id === b.id)
      await b.stop()
      await lost
      assert.equal(a.stats().reconnecting, 1)
      await sleep(200)
      const back = nextEvent(a, 'peer:connect', () => true, 5000)
      const b2 = await nodes.node({ port, autoDial: false })
      const [{ peer }] = await back
      assert.equal(peer.id, b2.id)
      assert.equal(peer.direction, 'outbound')
      assert.equal(a.stats().reconnecting, 0)
    })
  })

  it('leaves redialling to the side that dialled', async () => {
    await withHarness(LiveHarness, async nodes => {
      const a = await nodes.node({ autoDial: false })
      const b = await nodes.node({ autoDial: false })
      await a.connect(b.address)
      const lost = nextEvent(b, 'peer:disconnect', ({ peer }) => peer.id === a.id)
      await a.stop()
      await lost
      assert.equal(b.stats().reconnecting, 0)
    })
  })

  it('gives up after reconnectAttempts with dial:failed, and forgets the address', async () => {
    await withHarness(LiveHarness, async nodes => {
      const a = await nodes.node({ autoDial: false, reconnectAttempts: 3, reconnectBackoff: 10, reconnectMaxDelay: 20 })
      const b = await nodes.node({ autoDial: false })
      const address = b.address
      await a.connect(address)
      const failed = nextEvent(a, 'dial:failed', event => event.address === address, 5000)
      await b.stop()
      const [{ error }] = await failed
      assert.equal(causeCodes(error)[0], 'ERR_DIAL_FAILED')
      assert.equal((error as Error & { attempts?: number }).attempts, 3)
      assert.equal(a.stats().reconnecting, 0)
      assert.equal(a.knownPeers().some(k => k.address === address), false)
    })
  })

  it('does not call back a peer dropped for a protocol error', async () => {
    await withHarness(LiveHarness, async nodes => {
      const a = await nodes.node({ autoDial: false })
      const server = net.createServer(socket => {
        socket.on('error', () => {})
        socket.once('data', () => { socket.write('f00d:rogue\nBYTES:-1\n') })
      })
      await new Promise<void>(resolve => { server.listen(0, HOST, resolve) })
      try {
        const lost = nextEvent(a, 'peer:disconnect')
        await a.connect(`${HOST}:${(server.address() as net.AddressInfo).port}`)
        const [{ reason }] = await lost
        assert.equal(causeCodes(reason)[0], 'ERR_INVALID_LENGTH')
        assert.equal(a.stats().reconnecting, 0)
      } finally {
        server.close()
      }
    })
  })
})

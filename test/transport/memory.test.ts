import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type Transport } from '../../lib/index.js'
import { seeded } from '../../harness/random.js'
import { crashable, duplexPair, memoryNetwork, tcpTransport } from '../../lib/transport/index.js'

async function collect (transport: Transport, count: number): Promise<number[]> {
  const out: number[] = []
  for await (const chunk of transport.source) {
    out.push(...chunk.subarray())
    if (out.length >= count) break
  }
  return out
}

async function * bytes (values: number[]): AsyncGenerator<Uint8Array> {
  for (const value of values) yield new Uint8Array([value])
}

describe('memory transport', () => {
  it('delivers what one end writes to the other, in order', async () => {
    const [a, b] = duplexPair()
    const values = Array.from({ length: 100 }, (_, i) => i)
    const [received] = await Promise.all([collect(b, 100), a.sink(bytes(values))])
    assert.deepEqual(received, values)
    a.close()
  })

  it('holds every chunk back by the link latency, keeping the order when delays differ', async () => {
    const delays = [40, 5, 25, 0, 10]
    let next = 0
    const [a, b] = duplexPair({ latency: () => delays[next++ % delays.length] as number })
    const started = Date.now()
    const [received] = await Promise.all([collect(b, 5), a.sink(bytes([1, 2, 3, 4, 5]))])
    assert.deepEqual(received, [1, 2, 3, 4, 5])
    assert.ok(Date.now() - started >= 38, 'the first chunk alone takes 40 ms')
    a.close()
  })

  it('loses whole chunks at the loss rate, from a seeded generator', async () => {
    const [a, b] = duplexPair({ loss: 0.5, random: seeded(9) })
    const values = Array.from({ length: 200 }, (_, i) => i)
    const done = a.sink(bytes(values))
    const received: number[] = []
    const reading = (async () => { for await (const chunk of b.source) received.push(...chunk.subarray()) })()
    await done
    await reading
    assert.ok(received.length > 60 && received.length < 140, `${received.length} of 200 arrived`)
    assert.deepEqual(received, [...received].sort((x, y) => x - y), 'what arrives is in order')
    a.close()
  })

  it('counts chunks in flight against highWaterMark, so a slow link pushes back on the writer', async () => {
    const [a, b] = duplexPair({ highWaterMark: 2, latency: 30 })
    let written = 0
    const writing = a.sink((async function * () {
      for (let i = 0; i < 4; i++) {
        yield new Uint8Array([i])
        written++
      }
    })())
    await new Promise(resolve => setTimeout(resolve, 10))
    assert.ok(written <= 3, `${written} written before the first one arrived`)
    const received = await collect(b, 4)
    await writing
    assert.deepEqual(received, [0, 1, 2, 3])
    a.close()
  })

  it('ends pending reads at once on close, even while a chunk is delayed', async () => {
    const [a, b] = duplexPair({ latency: 10_000 })
    await a.sink(bytes([1]))
    const reading = collect(b, 1)
    a.close()
    assert.deepEqual(await reading, [])
    await a.closed
  })
})

describe('crashable transport', () => {
  it('cuts every open connection it dialled or accepted at once, leaves the others, and refuses any later one', async () => {
    const network = memoryNetwork()
    const node = crashable(network)
    const dialOpts = { timeout: 1000 }
    const accepted: Transport[] = []
    const listener = await node.transport.listen('sim', 0, t => { accepted.push(t) })
    const inbound = await network.dial('sim', listener.port, dialOpts)
    const unrelated: Transport[] = []
    const other = await network.listen('sim', 0, t => { unrelated.push(t) })
    const outbound = await node.transport.dial('sim', other.port, dialOpts)
    const bystander = await network.dial('sim', other.port, dialOpts)
    node.crash()
    await Promise.all([inbound.closed, outbound.closed, ...accepted.map(async t => { await t.closed })])
    assert.equal(accepted.length, 1)
    let bystanderClosed = false
    void bystander.closed.then(() => { bystanderClosed = true })
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(bystanderClosed, false, 'a connection of another node stays open')
    bystander.close()
    // Dead: a dial to it is cut at once, and it dials nothing.
    const redial = await network.dial('sim', listener.port, dialOpts)
    await redial.closed
    assert.equal(accepted.length, 1, 'nothing more was accepted')
    await assert.rejects(node.transport.dial('sim', other.port, dialOpts), { code: 'ERR_CONNECTION_CLOSED' })
    await Promise.all([listener.close(), other.close()])
  })
})

describe('transport factories at their boundary', () => {
  const refused = (fn: () => unknown, pattern: RegExp): void => {
    assert.throws(fn, (err: Error & { code?: string }) => (err.code === 'ERR_INVALID_OPTION' || err.code === 'ERR_INVALID_ARGUMENT') && pattern.test(err.message))
  }

  it('refuses wrong and unknown options, and a wrapped transport that is none', () => {
    refused(() => memoryNetwork({ loss: 2 }), /`loss` to be a probability from 0 to 1/)
    refused(() => memoryNetwork({ latncy: 5 } as object), /did you mean `latency`/)
    refused(() => duplexPair({ highWaterMark: 0 }), /`highWaterMark`/)
    refused(() => tcpTransport({ backlog: -1 }), /`backlog`/)
    refused(() => crashable({} as never), /`inner` to be a transport/)
  })
})

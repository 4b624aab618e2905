import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { duplexPair, type Transport } from '../lib/index.js'
import { seeded } from './support/random.js'

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

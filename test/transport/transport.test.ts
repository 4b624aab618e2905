/**
 * One contract suite, run against every transport: TCP on 127.0.0.1, the
 * in-memory network, WebSocket on 127.0.0.1, and a bare in-memory duplex pair.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import v8 from 'node:v8'
import vm from 'node:vm'
import { Uint8ArrayList } from 'uint8arraylist'
import { duplexPair, memoryNetwork } from '../../lib/transport/memory.js'
import { tcpTransport } from '../../lib/transport/tcp.js'
import { websocketTransport } from '../../lib/transport/websocket.js'
import type { ByteChunk, Transport, TransportFactory } from '../../lib/transport/transport.js'
import { PENDING, settled, sleep, within } from '../../harness/async.js'
import { bytes } from '../support/bytes.js'
import { from } from '../support/pipeline.js'

const KiB = 1024
const MiB = 1024 * KiB

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

/** Polls `value` until it has not changed for `quiet` ms: the writer is blocked. */
async function untilStable (value: () => number, what: string, quiet = 100, deadline = 5000): Promise<number> {
  const start = Date.now()
  let last = value()
  let since = Date.now()
  for (;;) {
    await sleep(10)
    const now = value()
    if (now !== last) {
      last = now
      since = Date.now()
    } else if (Date.now() - since >= quiet) {
      return now
    }
    if (Date.now() - start > deadline) assert.fail(`${what} still changing after ${deadline} ms`)
  }
}

const bytesOf = (chunk: ByteChunk): Uint8Array => chunk instanceof Uint8Array ? chunk : chunk.subarray()

/** Reads until the source ends. */
async function readAll (source: AsyncIterable<ByteChunk>, onProgress?: (total: number) => void): Promise<Buffer> {
  const pieces: Uint8Array[] = []
  let total = 0
  for await (const chunk of source) {
    pieces.push(bytesOf(chunk))
    total += chunk.byteLength
    onProgress?.(total)
  }
  return Buffer.concat(pieces)
}

/** A deterministic pseudo-random generator (mulberry32), so failures reproduce. */
function random (seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = seed
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Harness {
  /** A new connected pair: `a` dialled (or is the first end), `b` accepted. */
  connect: () => Promise<{ a: Transport, b: Transport }>
  /** Dials an address nobody listens on; absent for transports without addresses. */
  dialNowhere?: () => Promise<Transport>
  /** Closes every transport and listener it opened. */
  teardown: () => Promise<void>
}

/** A harness over a factory: one listener, and dials to it. */
async function factoryHarness (factory: TransportFactory, host: string): Promise<Harness> {
  const opened: Transport[] = []
  const accepted: Transport[] = []
  const acceptors: Array<(transport: Transport) => void> = []
  const listener = await factory.listen(host, 0, transport => {
    opened.push(transport)
    const acceptor = acceptors.shift()
    if (acceptor !== undefined) acceptor(transport)
    else accepted.push(transport)
  })
  assert.ok(listener.port > 0, 'port 0 binds a real port')
  return {
    async connect () {
      const incoming = new Promise<Transport>(resolve => {
        const ready = accepted.shift()
        if (ready !== undefined) resolve(ready)
        else acceptors.push(resolve)
      })
      const a = await factory.dial(host, listener.port, { timeout: 2000 })
      opened.push(a)
      return { a, b: await within(incoming, 'accepting the connection') }
    },
    async dialNowhere () {
      // A port that was just free: bind it, then let it go.
      const probe = await factory.listen(host, 0, transport => { transport.close() })
      await probe.close()
      const transport = await factory.dial(host, probe.port, { timeout: 2000 })
      opened.push(transport)
      return transport
    },
    async teardown () {
      for (const transport of opened) transport.close()
      await within(Promise.all(opened.map(async t => { await t.closed })), 'closing every transport')
      await within(listener.close(), 'closing the listener')
    }
  }
}

function pairHarness (): Harness {
  const opened: Transport[] = []
  return {
    async connect () {
      const [a, b] = duplexPair()
      opened.push(a, b)
      return { a, b }
    },
    async teardown () {
      for (const transport of opened) transport.close()
      await within(Promise.all(opened.map(async t => { await t.closed })), 'closing every transport')
    }
  }
}


function transportContract (name: string, setup: () => Promise<Harness>): void {
  describe(`transport contract: ${name}`, () => {
    let harness: Harness
    before(async () => { harness = await setup() })
    after(async () => { await harness.teardown() })

    it('names each end the way the other sees it', async () => {
      const { a, b } = await harness.connect()
      assert.equal(b.remoteHost, a.localHost)
      assert.equal(a.remoteHost, b.localHost)
      assert.ok(a.remoteAddress.startsWith(a.remoteHost) || a.remoteAddress.startsWith(`[${a.remoteHost}]`))
    })

    it('carries bytes both ways at once, in order', async () => {
      const { a, b } = await harness.connect()
      const fromA = Array.from({ length: 100 }, (_, i) => bytes(`a${i};`))
      const fromB = Array.from({ length: 100 }, (_, i) => bytes(`b${i};`))
      const expectedAtB = Buffer.concat(fromA)
      const expectedAtA = Buffer.concat(fromB)
      // Each side keeps its write side open until it has read everything, so neither direction ends early.
      let aDone: () => void = () => {}
      let bDone: () => void = () => {}
      const aGotAll = new Promise<void>(resolve => { aDone = resolve })
      const bGotAll = new Promise<void>(resolve => { bDone = resolve })
      const [atA, atB] = await within(Promise.all([
        readAll(a.source, total => { if (total >= expectedAtA.length) aDone() }),
        readAll(b.source, total => { if (total >= expectedAtB.length) bDone() }),
        a.sink(from(fromA, Promise.all([aGotAll, bGotAll]).then(() => {}))),
        b.sink(from(fromB, Promise.all([aGotAll, bGotAll]).then(() => {})))
      ]), 'exchanging bytes')
      assert.equal(atA.toString(), expectedAtA.toString())
      assert.equal(atB.toString(), expectedAtB.toString())
    })

    it('carries a few MiB intact, in chunks of random sizes and kinds', async () => {
      const { a, b } = await harness.connect()
      const next = random(42)
      const total = 4 * MiB
      const data = Buffer.alloc(total)
      for (let i = 0; i < total; i += 4) data.writeUInt32LE(Math.floor(next() * 2 ** 32), i)
      const chunks: ByteChunk[] = []
      for (let offset = 0; offset < total;) {
        const size = Math.min(total - offset, 1 + Math.floor(next() * 64 * KiB))
        const piece = data.subarray(offset, offset + size)
        // Some chunks as lists of pieces, as the encoder writes them.
        if (next() < 0.3 && size > 1) chunks.push(new Uint8ArrayList(piece.subarray(0, size >> 1), piece.subarray(size >> 1)))
        else chunks.push(piece)
        offset += size
      }
      const [received] = await within(Promise.all([readAll(b.source), a.sink(from(chunks))]), 'transferring 4 MiB', 10_000)
      assert.equal(received.length, total)
      assert.ok(received.equals(data), 'the bytes arrived altered or out of order')
    })

    it('ends the reader once the writer ends, and the other direction stays open (half-close)', async () => {
      const { a, b } = await harness.connect()
      const [request] = await within(Promise.all([readAll(b.source), a.sink(from([bytes('question')]))]), 'a writing')
      assert.equal(request.toString(), 'question')
      // b read everything a wrote, up to its end; b may still answer.
      const [answer] = await within(Promise.all([readAll(a.source), b.sink(from([bytes('answer')]))]), 'b answering')
      assert.equal(answer.toString(), 'answer')
    })

    it('makes the writer wait while the reader does not read, with bounded buffering, then completes', async () => {
      const { a, b } = await harness.connect()
      const chunkSize = 64 * KiB
      const total = 64 * MiB
      let pulled = 0
      const sent = createHash('sha256')
      async function * produce (): AsyncGenerator<Uint8Array> {
        for (let i = 0; pulled < total; i++) {
          const chunk = new Uint8Array(chunkSize).fill(i % 251)
          sent.update(chunk)
          pulled += chunkSize
          yield chunk
        }
      }
      const writing = a.sink(produce())
      writing.catch(() => {})
      // The reader takes one chunk, then stops reading.
      const reader = b.source[Symbol.asyncIterator]()
      const first = await within(reader.next(), 'first chunk')
      assert.equal(first.done, false)
      const received = createHash('sha256')
      let receivedBytes = 0
      const take = (chunk: ByteChunk): void => {
        for (const piece of chunk instanceof Uint8Array ? [chunk] : chunk) received.update(piece)
        receivedBytes += chunk.byteLength
      }
      take(first.value as ByteChunk)

      const buffered = await untilStable(() => pulled, 'the writer') - receivedBytes
      assert.equal(await settled(writing), PENDING, 'the writer finished although nobody reads')
      assert.ok(pulled < total, 'the writer wrote everything although nobody reads')
      // Bounded: kernel and transport buffers, not the whole stream.
      assert.ok(buffered <= 40 * MiB, `${buffered} bytes buffered while the reader stopped`)

      // The reader resumes: everything arrives, and the writer completes.
      await within((async () => {
        for (let result = await reader.next(); result.done !== true; result = await reader.next()) take(result.value)
      })(), 'reading the rest', 10_000)
      await within(writing, 'the writer completing')
      assert.equal(receivedBytes, total)
      assert.equal(received.digest('hex'), sent.digest('hex'))
    })

    for (const closer of ['a', 'b'] as const) {
      it(`close() on ${closer} ends pending reads on both sides, and closed resolves`, async () => {
        const pair = await harness.connect()
        const other = pair[closer === 'a' ? 'b' : 'a']
        const readA = pair.a.source[Symbol.asyncIterator]().next()
        const readB = pair.b.source[Symbol.asyncIterator]().next()
        assert.equal(await settled(readA), PENDING)
        assert.equal(await settled(readB), PENDING)
        pair[closer].close()
        assert.equal((await within(readA, 'the read on a')).done, true)
        assert.equal((await within(readB, 'the read on b')).done, true)
        await within(pair[closer].closed, 'closed on the side that closed')
        // The other side is fully closed once its own write side is done too (at once with TCP half-close off).
        await within(other.sink(from([])), 'ending the other side\'s writes')
        await within(other.closed, 'closed on the other side')
      })

      it(`close() on ${closer} makes a write that waits on a reader that does not read fail with ERR_CONNECTION_CLOSED`, async () => {
        const pair = await harness.connect()
        let pulled = 0
        async function * endless (): AsyncGenerator<Uint8Array> {
          for (;;) {
            pulled += 64 * KiB
            yield new Uint8Array(64 * KiB)
          }
        }
        const writing = pair.a.sink(endless())
        writing.catch(() => {})
        await untilStable(() => pulled, 'the writer')
        assert.equal(await settled(writing), PENDING)
        pair[closer].close()
        await within(assert.rejects(writing, { code: 'ERR_CONNECTION_CLOSED' }), 'the pending write failing')
      })
    }

    it('fails writes after close() with ERR_CONNECTION_CLOSED', async () => {
      const { a } = await harness.connect()
      a.close()
      await within(a.closed, 'a.closed')
      await assert.rejects(a.sink(from([bytes('late')])), { code: 'ERR_CONNECTION_CLOSED' })
    })

    it('rejects a dial to an address nobody listens on with ERR_DIAL_FAILED', async (t) => {
      if (harness.dialNowhere === undefined) {
        t.skip('a duplex pair has no addresses')
        return
      }
      await within(assert.rejects(harness.dialNowhere(), { code: 'ERR_DIAL_FAILED' }), 'the dial failing')
    })
  })
}

transportContract('TCP on 127.0.0.1', async () => await factoryHarness(tcpTransport(), '127.0.0.1'))
transportContract('WebSocket on 127.0.0.1', async () => await factoryHarness(websocketTransport(), '127.0.0.1'))
transportContract('in-memory network', async () => await factoryHarness(memoryNetwork(), 'node-b'))
transportContract('in-memory duplex pair', async () => pairHarness())

describe('TCP transport: memory', () => {
  it('keeps no reference to a written chunk while its sink waits for the next one', async () => {
    const harness = await factoryHarness(tcpTransport(), '127.0.0.1')
    try {
      const { a, b } = await harness.connect()
      let written: WeakRef<Uint8Array> | undefined
      let release: () => void = () => {}
      const released = new Promise<void>(resolve => { release = resolve })
      // A plain iterator rather than a generator, so that only the sink can hold the chunk.
      let handedOut = false
      const source: AsyncIterable<ByteChunk> = {
        [Symbol.asyncIterator]: () => ({
          async next () {
            if (!handedOut) {
              handedOut = true
              const chunk = new Uint8Array(MiB)
              written = new WeakRef(chunk)
              return { value: new Uint8ArrayList(chunk), done: false }
            }
            await released
            return { value: undefined, done: true }
          }
        })
      }
      const sinking = a.sink(source)
      let received = 0
      const reading = (async () => { for await (const chunk of b.source) received += chunk.byteLength })()
      await within((async () => { while (received < MiB) await sleep(5) })(), 'the chunk to arrive')
      gc()
      gc()
      assert.equal(written?.deref(), undefined, 'the written chunk is still reachable')
      release()
      await within(sinking, 'the sink to end')
      await within(reading, 'the reader to end')
    } finally {
      await harness.teardown()
    }
  })
})

describe('TCP transport: writing', () => {
  /**
   * Streams `total` bytes in `chunkBytes` chunks from a source that always
   * has one ready, with a reader in the same process, and returns the most
   * bytes the sink took between two turns of the event loop.
   */
  async function mostBytesBetweenTurns (writeBurstBytes: number, total: number, chunkBytes: number): Promise<number> {
    const harness = await factoryHarness(tcpTransport({ writeBurstBytes }), '127.0.0.1')
    try {
      const { a, b } = await harness.connect()
      let taken = 0
      const chunk = new Uint8Array(chunkBytes)
      const source = (async function * () {
        while (taken < total) {
          taken += chunkBytes
          yield chunk
        }
      })()
      let most = 0
      let atLastTurn = 0
      let writing = true
      const turn = (): void => {
        most = Math.max(most, taken - atLastTurn)
        atLastTurn = taken
        if (writing) setImmediate(turn)
      }
      setImmediate(turn)
      const reading = readAll(b.source)
      await within(a.sink(source), 'the sink to end')
      writing = false
      assert.equal((await within(reading, 'the reader to end')).length, total)
      return most
    } finally {
      await harness.teardown()
    }
  }

  it('lets the event loop turn after every writeBurstBytes, however fast the peer reads', async () => {
    const most = await mostBytesBetweenTurns(64 * KiB, 16 * MiB, 8 * KiB)
    assert.ok(most <= 64 * KiB + 8 * KiB, `the sink took ${most} bytes between two turns of the event loop`)
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { pipe } from 'it-pipe'
import * as lp from 'it-length-prefixed'
import { Uint8ArrayList } from 'uint8arraylist'
import { ProtocolUnsupportedError, StreamClosedError, StreamFrameError, StreamResetError, StreamsUnsupportedError, TooManyStreamsError } from '../../lib/errors.js'
import { StreamMux, STREAM_OPTIONS, type AcceptStream, type StreamMuxOptions } from '../../lib/connection/stream-mux.js'
import type { ProtocolStream } from '../../lib/connection/protocol-stream.js'
import { BASE_WINDOW, EARLY_MAX_FRAME, ResetCode, encodeStreamFrame, isStreamPayload } from '../../lib/connection/stream-protocol.js'
import { classifier } from '../../transforms/classifier.js'
import { encoder } from '../../transforms/encoder.js'
import { frameDecoder } from '../../transforms/frame-decoder.js'
import { defaultsOf } from '../../transforms/core/option-table.js'
import type { Message } from '../../transforms/core/line-protocol.js'
import { progressRecorder, pushable } from '../../harness/streams.js'
import { PENDING, settled, waitFor, within } from '../../harness/async.js'

type Handlers = Record<string, AcceptStream>

interface End {
  mux: StreamMux
  /** Every message this end sent, as the wire carried it. */
  sent: Message[]
  handlers: Handlers
}

interface WireOptions {
  a?: Partial<StreamMuxOptions>
  b?: Partial<StreamMuxOptions>
  /** Largest chunk the byte stream between the ends is cut into; random sizes from 1. */
  maxChunk?: number
  /** Whether `b` is a line-protocol peer: it takes nothing and answers no probe. */
  legacyB?: boolean
  /** Holds back what `b` sends until `release()` is called. */
  holdB?: boolean
}

/**
 * Two muxes joined by the real line-protocol framing, each way: messages
 * are encoded, the bytes cut into random chunks, decoded and classified.
 */
function wire (opts: WireOptions = {}): { a: End, b: End, errors: unknown[], close: () => void, release: () => void } {
  const errors: unknown[] = []
  let release = (): void => {}
  const released = opts.holdB === true ? new Promise<void>(resolve => { release = resolve }) : Promise.resolve()
  const ends: End[] = []
  const outs = [pushable<Message[]>(), pushable<Message[]>()]
  const make = (index: number, own: Partial<StreamMuxOptions> | undefined): End => {
    const handlers: Handlers = {}
    const sent: Message[] = []
    const mux = new StreamMux({
      ...defaultsOf(STREAM_OPTIONS),
      role: index === 0 ? 'dialer' : 'listener',
      maxBytesPerMessage: 16 * 1024 * 1024,
      capabilityTimeout: 50,
      remoteId: () => index === 0 ? 'b' : 'a',
      link: {
        send: async msg => {
          sent.push(msg)
          ;(outs[index] as ReturnType<typeof pushable<Message[]>>).push([msg])
        }
      },
      // The other end answers a probe by showing itself, as a meshline node does.
      probe: async () => { if (!(index === 0 && opts.legacyB === true)) setImmediate(() => { (ends[index] as End).mux.remoteIsMeshline() }) },
      accept: protocol => handlers[protocol],
      ...own
    })
    return { mux, sent, handlers }
  }
  ends.push(make(0, opts.a), make(1, opts.b))
  const maxChunk = opts.maxChunk ?? 64 * 1024
  for (const index of [0, 1]) {
    const receiver = ends[1 - index] as End
    if (index === 0 && opts.legacyB === true) continue
    const held = async function * (source: AsyncIterable<Message[]>): AsyncGenerator<Message[]> {
      if (index === 1) await released
      yield * source
    }
    void pipe(
      held(outs[index] as AsyncIterable<Message[]>),
      encoder(),
      async function * (source) {
        for await (const list of source) {
          const bytes = list.subarray()
          for (let at = 0; at < bytes.length;) {
            const size = 1 + Math.floor(Math.random() * maxChunk)
            yield bytes.subarray(at, at + size)
            at += size
          }
        }
      },
      frameDecoder(),
      classifier({ role: 'none' }),
      receiver.mux.inbound,
      async source => { for await (const batch of source) assert.deepEqual(batch, [], 'only stream frames cross this wire') }
    ).catch((err: unknown) => { errors.push(err) })
  }
  return {
    a: ends[0] as End,
    b: ends[1] as End,
    errors,
    close: () => { for (const out of outs) out.end() },
    release: () => { release() }
  }
}

const OPEN = { timeout: 2_000 }
const bytesOf = (chunks: Array<Uint8Array | Uint8ArrayList>): Uint8Array => new Uint8Array(new Uint8ArrayList(...chunks).subarray())
const readAll = async (stream: ProtocolStream): Promise<Uint8Array> => {
  const chunks: Uint8ArrayList[] = []
  for await (const chunk of stream.source) chunks.push(chunk)
  return bytesOf(chunks)
}
const filled = (size: number, seed: number): Uint8Array => Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff)

/** A handler that echoes the stream back. */
const echo: AcceptStream = stream => { void pipe(stream, stream).catch(() => {}) }

describe('StreamMux', () => {
  it('opens a stream for a protocol the remote handles, and carries data both ways with half-close', async () => {
    const { a, b, close } = wire()
    b.handlers['/echo/1'] = echo
    const stream = await a.mux.open('/echo/1', OPEN)
    assert.equal(stream.protocol, '/echo/1')
    assert.equal(stream.direction, 'outbound')
    assert.equal(stream.id % 2, 1, 'the dialer numbers its streams odd')
    const payload = filled(300_000, 7)
    const [, echoed] = await Promise.all([stream.sink([payload.subarray(0, 1), payload.subarray(1)]), readAll(stream)])
    assert.deepEqual(echoed, payload)
    await waitFor(() => a.mux.sizes.outbound === 0 && b.mux.sizes.inbound === 0, 'both ends forget the stream once it ended both ways')
    close()
  })

  it('works with it-pipe and it-length-prefixed as they are', async () => {
    const { a, b, close } = wire({ maxChunk: 7 })
    b.handlers['/upper/1'] = ({ source, sink }) => {
      void pipe(source, source => lp.decode(source), async function * (source) {
        for await (const msg of source) yield new TextEncoder().encode(new TextDecoder().decode(msg.subarray()).toUpperCase())
      }, source => lp.encode(source), sink)
    }
    const stream = await a.mux.open('/upper/1', OPEN)
    const replies = await pipe(['hello', 'streams'].map(s => new TextEncoder().encode(s)), source => lp.encode(source), stream, source => lp.decode(source), async source => {
      const out: string[] = []
      for await (const msg of source) out.push(new TextDecoder().decode(msg.subarray()))
      return out
    })
    assert.deepEqual(replies, ['HELLO', 'STREAMS'])
    close()
  })

  it('refuses a protocol nobody handles with ProtocolUnsupportedError', async () => {
    const { a, close } = wire()
    const err = await a.mux.open('/nobody/1', OPEN).catch((e: unknown) => e)
    assert.ok(err instanceof ProtocolUnsupportedError)
    assert.equal(err.protocol, '/nobody/1')
    assert.equal(err.peerId, 'b')
    assert.equal(a.mux.sizes.outbound, 0)
    close()
  })

  it('refuses streams past maxStreamsPerPeer, on either side, and keeps the open ones', async () => {
    const { a, b, close } = wire({ b: { maxStreamsPerPeer: 2 } })
    b.handlers['/hold/1'] = () => {}
    const first = await a.mux.open('/hold/1', OPEN)
    await a.mux.open('/hold/1', OPEN)
    const remote = await a.mux.open('/hold/1', OPEN).catch((e: unknown) => e)
    assert.ok(remote instanceof TooManyStreamsError)
    assert.equal(remote.side, 'remote')
    await first.write(new Uint8Array([1]))

    const local = wire({ a: { maxStreamsPerPeer: 1 } })
    local.b.handlers['/hold/1'] = () => {}
    await local.a.mux.open('/hold/1', OPEN)
    const sentBefore = local.a.sent.length
    const refused = await local.a.mux.open('/hold/1', OPEN).catch((e: unknown) => e)
    assert.ok(refused instanceof TooManyStreamsError)
    assert.equal(refused.side, 'local')
    assert.equal(local.a.sent.length, sentBefore, 'a stream over the local limit sends nothing')
    close()
    local.close()
  })

  it('never sends a stream frame to a peer that does not answer the probe', async () => {
    const { a, close } = wire({ legacyB: true })
    const err = await a.mux.open('/echo/1', OPEN).catch((e: unknown) => e)
    assert.ok(err instanceof StreamsUnsupportedError)
    assert.equal(a.mux.remoteKind, 'line-protocol')
    const again = await a.mux.open('/echo/1', OPEN).catch((e: unknown) => e)
    assert.ok(again instanceof StreamsUnsupportedError, 'the answer is remembered')
    assert.equal(a.sent.filter(msg => msg.type === 'bytes' && isStreamPayload(msg.data)).length, 0)
    close()
  })

  it('a stalled reader stalls only its stream, and the stream buffers no more than its window', async () => {
    const window = 64 * 1024
    const { a, b, close } = wire({ a: { streamWindow: window, maxStreamWindow: window }, b: { streamWindow: window, maxStreamWindow: window } })
    const stalled: ProtocolStream[] = []
    b.handlers['/stall/1'] = stream => { stalled.push(stream) }
    b.handlers['/sink/1'] = stream => { void readAll(stream).then(async data => { await stream.sink([new TextEncoder().encode(String(data.length))]) }) }
    const blocked = await a.mux.open('/stall/1', OPEN)
    const blockedWrite = blocked.sink([filled(1024 * 1024, 1)])
    const other = await a.mux.open('/sink/1', OPEN)
    const size = 8 * 1024 * 1024
    const [, reply] = await Promise.all([other.sink([filled(size, 2)]), readAll(other)])
    assert.equal(new TextDecoder().decode(reply), String(size))
    assert.equal(await settled(blockedWrite), PENDING, 'the stalled stream waits for credit')
    const buffered = (stalled[0] as unknown as { buffered: number }).buffered
    assert.ok(buffered <= window, `stalled stream buffers ${buffered} bytes, window ${window}`)
    // Reading frees it.
    const data = await readAll(stalled[0] as ProtocolStream)
    await blockedWrite
    assert.equal(data.length, 1024 * 1024)
    close()
  })

  it('resets a stream whose sender overruns its window, and keeps the others', async () => {
    const window = 64 * 1024
    const { a, b, close } = wire({ b: { streamWindow: window, maxStreamWindow: window } })
    const accepted: ProtocolStream[] = []
    b.handlers['/hold/1'] = stream => { accepted.push(stream) }
    b.handlers['/echo/1'] = echo
    const victim = await a.mux.open('/hold/1', OPEN)
    const bystander = await a.mux.open('/echo/1', OPEN)
    // A misbehaving sender: a DATA frame past the granted window.
    await a.mux['opts'].link.send({ type: 'bytes', data: encodeStreamFrame({ type: 'data', id: victim.id, data: new Uint8ArrayList(new Uint8Array(window + 1)) }) })
    const remoteSide = accepted[0] as ProtocolStream
    const local = await readAll(remoteSide).catch((e: unknown) => e)
    assert.ok(local instanceof StreamResetError)
    assert.equal(local.reason, 'window-exceeded')
    const seen = await readAll(victim).catch((e: unknown) => e)
    assert.ok(seen instanceof StreamResetError)
    assert.equal(seen.by, 'remote')
    assert.equal(seen.reason, 'window-exceeded')
    const [, echoed] = await Promise.all([bystander.sink([filled(10_000, 3)]), readAll(bystander)])
    assert.equal(echoed.length, 10_000)
    close()
  })

  it('carries an abort\'s reason to the other side, and fails the aborted side\'s writes', async () => {
    const { a, b, close } = wire()
    const accepted: ProtocolStream[] = []
    b.handlers['/hold/1'] = stream => { accepted.push(stream) }
    const stream = await a.mux.open('/hold/1', OPEN)
    await stream.write(new Uint8Array([1, 2, 3]))
    stream.abort(new Error('user changed their mind'))
    const remote = accepted[0] as ProtocolStream
    const err = await readAll(remote).catch((e: unknown) => e)
    assert.ok(err instanceof StreamResetError)
    assert.equal(err.by, 'remote')
    assert.equal(err.reason, 'aborted')
    assert.equal(err.detail, 'user changed their mind')
    await assert.rejects(stream.write(new Uint8Array(1)), StreamResetError)
    await assert.rejects(remote.write(new Uint8Array(1)), StreamResetError)
    close()
  })

  it('refuses a second sink and a write after the half-close', async () => {
    const { a, b, close } = wire()
    b.handlers['/echo/1'] = echo
    const stream = await a.mux.open('/echo/1', OPEN)
    await stream.sink([new Uint8Array([1])])
    await assert.rejects(stream.sink([new Uint8Array([2])]), StreamClosedError)
    await assert.rejects(stream.write(new Uint8Array([2])), StreamClosedError)
    assert.deepEqual(await readAll(stream), new Uint8Array([1]))
    close()
  })

  it('ends every stream on both sides with a typed reason when the connection closes', async () => {
    const { a, b, close } = wire()
    const accepted: ProtocolStream[] = []
    b.handlers['/hold/1'] = stream => { accepted.push(stream) }
    const streams = await Promise.all([a.mux.open('/hold/1', OPEN), a.mux.open('/hold/1', OPEN)])
    a.mux.close(new Error('node stopping'))
    for (const stream of [...streams, ...accepted]) {
      const err = await within(readAll(stream).catch((e: unknown) => e), 'stream end')
      assert.ok(err instanceof StreamResetError)
      assert.equal(err.reason, 'closing')
      assert.match(err.detail, /node stopping/)
    }
    await assert.rejects(a.mux.open('/hold/1', OPEN), StreamResetError)
    close()
  })

  it('resets only the stream a malformed frame names; a frame naming none is a connection error', async () => {
    const { a, b, errors, close } = wire()
    const accepted: ProtocolStream[] = []
    b.handlers['/hold/1'] = stream => { accepted.push(stream) }
    b.handlers['/echo/1'] = echo
    const victim = await a.mux.open('/hold/1', OPEN)
    const bystander = await a.mux.open('/echo/1', OPEN)
    const bad = encodeStreamFrame({ type: 'fin', id: victim.id }) as Uint8Array
    const withBody = new Uint8Array(bad.length + 3)
    withBody.set(bad)
    await a.mux['opts'].link.send({ type: 'bytes', data: withBody })
    const err = await readAll(victim).catch((e: unknown) => e)
    assert.ok(err instanceof StreamResetError)
    assert.equal(err.reason, 'protocol')
    const [, echoed] = await Promise.all([bystander.sink([new Uint8Array([9])]), readAll(bystander)])
    assert.deepEqual(echoed, new Uint8Array([9]))
    assert.equal(errors.length, 0)
    await a.mux['opts'].link.send({ type: 'bytes', data: bad.subarray(0, bad.length - 2) })
    await waitFor(() => errors.length === 1, 'the connection fails')
    assert.ok(errors[0] instanceof StreamFrameError)
    close()
  })

  it('gives 100 concurrent streams fair progress', async () => {
    const window = 64 * 1024
    const { a, b, close } = wire({ a: { streamWindow: window, maxStreamWindow: window }, b: { streamWindow: window, maxStreamWindow: window } })
    const size = 192 * 1024
    const progress = progressRecorder(size)
    b.handlers['/count/1'] = progress.handle
    const streams = await Promise.all(Array.from({ length: 100 }, async () => await a.mux.open('/count/1', OPEN)))
    await Promise.all(streams.map(async (stream, n) => {
      await stream.sink((function * () { for (let i = 0; i < size / 16384; i++) yield filled(16384, n + i) })())
      await readAll(stream)
    }))
    assert.equal(progress.received.size, 100)
    assert.ok([...progress.received.values()].every(n => n === size), 'every stream delivered in full')
    const started = progress.startedWhenFirstDone()
    assert.ok(started >= 90, `when the first stream was done, ${started} of 100 had a quarter of their data across`)
    close()
  })

  it('delivers every stream\'s bytes intact under any chunking and interleaving (property)', async () => {
    // Each write is at most 100 of the transport's chunks: a 1-byte chunking of a megabyte would take minutes, and shows nothing more.
    const case_ = fc.integer({ min: 1, max: 3000 }).chain(maxChunk => fc.tuple(
      fc.array(fc.array(fc.integer({ min: 1, max: Math.min(40_000, maxChunk * 100) }), { minLength: 0, maxLength: 5 }), { minLength: 1, maxLength: 6 }),
      fc.constant(maxChunk)
    ))
    await fc.assert(fc.asyncProperty(
      case_,
      fc.integer({ min: 64 * 1024, max: 96 * 1024 }),
      async ([writes, maxChunk], window) => {
        const { a, b, close } = wire({ maxChunk, a: { streamWindow: window, maxStreamWindow: window * 2 }, b: { streamWindow: window, maxStreamWindow: window * 2 } })
        b.handlers['/echo/1'] = echo
        await Promise.all(writes.map(async (sizes, n) => {
          const stream = await a.mux.open('/echo/1', OPEN)
          const chunks = sizes.map((size, i) => filled(size, n * 7 + i))
          const [, echoed] = await Promise.all([stream.sink(chunks), readAll(stream)])
          assert.deepEqual(echoed, bytesOf(chunks))
        }))
        close()
      }
    ), { numRuns: 25 })
  })

  it('lets an opener write before it is accepted, and fails that stream with the refusal', async () => {
    const { a, b, close, release } = wire({ holdB: true })
    b.handlers['/echo/1'] = echo
    const early = await a.mux.open('/echo/1', { ...OPEN, early: true })
    await within(early.write(filled(BASE_WINDOW, 5)), 'a write of the base window before any answer')
    const beyond = early.write(new Uint8Array([1]))
    assert.equal(await settled(beyond), PENDING, 'more waits for the ACCEPT and its window')
    release()
    await beyond
    await early.closeWrite()
    assert.equal((await readAll(early)).length, BASE_WINDOW + 1)
    const refused = await a.mux.open('/nobody/1', { ...OPEN, early: true })
    await refused.write(new Uint8Array(10)).catch(() => {})
    const err = await readAll(refused).catch((e: unknown) => e)
    assert.ok(err instanceof ProtocolUnsupportedError)
    await assert.rejects(refused.write(new Uint8Array(1)), ProtocolUnsupportedError)
    await assert.rejects(refused.ready, ProtocolUnsupportedError)
    close()
  })

  it('grows a keeping-up reader\'s window within the peer\'s budget, and not past it', async () => {
    for (const budget of [0, 1024 * 1024]) {
      const { a, b, close } = wire({ b: { maxStreamGrowthPerPeer: budget } })
      let growth = 0
      let received = 0
      const read = new Promise<void>(resolve => {
        b.handlers['/sink/1'] = stream => {
          void (async () => {
            for await (const chunk of stream.source) {
              received += chunk.byteLength
              growth = Math.max(growth, stream.growth)
            }
            assert.equal(stream.growth, 0, 'a stream that receives no more gives its growth back')
            resolve()
          })()
        }
      })
      const stream = await a.mux.open('/sink/1', OPEN)
      await stream.sink([filled(4 * 1024 * 1024, 1)])
      await read
      assert.equal(received, 4 * 1024 * 1024)
      assert.ok(growth <= budget, `grew by ${growth} with a budget of ${budget}`)
      if (budget > 0) assert.ok(growth > 0, 'a reader that keeps up gets a bigger window')
      close()
    }
  })

  it('resets a stream whose OPEN announces a window below the base', async () => {
    const { a, b, close } = wire()
    b.handlers['/echo/1'] = echo
    const open = encodeStreamFrame({ type: 'open', id: 101, window: BASE_WINDOW, maxFrame: EARLY_MAX_FRAME, protocol: '/echo/1' }) as Uint8Array
    new DataView(open.buffer).setUint32(open.length - '/echo/1'.length - 8, BASE_WINDOW - 1)
    await a.mux['opts'].link.send({ type: 'bytes', data: open })
    await waitFor(() => b.sent.some(msg => msg.type === 'bytes' && isStreamPayload(msg.data)), 'the answer')
    assert.equal(b.mux.sizes.inbound, 0)
    close()
  })

  it('ignores frames for streams that ended (they may cross a reset on the wire)', async () => {
    const { a, b, close } = wire()
    b.handlers['/echo/1'] = echo
    const stream = await a.mux.open('/echo/1', OPEN)
    stream.abort(new Error('done'))
    for (const frame of [{ type: 'data', id: stream.id, data: new Uint8ArrayList(new Uint8Array(3)) }, { type: 'window', id: stream.id, credit: 5 }, { type: 'fin', id: stream.id }, { type: 'reset', id: 999, code: ResetCode.aborted, reason: '' }] as const) {
      b.mux.receive(new Uint8ArrayList(encodeStreamFrame(frame)))
      a.mux.receive(new Uint8ArrayList(encodeStreamFrame(frame)))
    }
    const fresh = await a.mux.open('/echo/1', OPEN)
    const [, echoed] = await Promise.all([fresh.sink([new Uint8Array([4])]), readAll(fresh)])
    assert.deepEqual(echoed, new Uint8Array([4]))
    close()
  })
})

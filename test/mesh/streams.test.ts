/**
 * Protocol streams between nodes on real loopback TCP (and the other links):
 * handlers and openStream with it-pipe and it-length-prefixed, refusals,
 * request/response, no head-of-line blocking, stopping, and a line-protocol
 * peer that is never sent a stream frame.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { pipe } from 'it-pipe'
import * as lp from 'it-length-prefixed'
import { Uint8ArrayList } from 'uint8arraylist'
import { MeshNode, type MeshNodeOptions, type ProtocolStream } from '../../lib/index.js'
import { memoryNetwork } from '../../lib/transport/index.js'
import { STREAM_PREFIX } from '../../lib/connection/stream-protocol.js'
import { PENDING, settled, waitFor, within } from '../../harness/async.js'
import { progressRecorder } from '../../harness/streams.js'
import { HOST, portOf } from '../../harness/loopback.js'
import { fileNodes, nextEvent, QUIET } from '../support/mesh.js'
import { RawSocket } from '../support/raw-socket.js'

const { startNode, stopNodes } = fileNodes({ ...QUIET, overlay: { capabilityTimeout: 200 } })
const code = (expected: string) => (err: unknown): boolean => (err as { code?: string }).code === expected
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array | Uint8ArrayList): string => new TextDecoder().decode(b instanceof Uint8Array ? b : b.subarray())

async function pair (opts: MeshNodeOptions = {}): Promise<[MeshNode, MeshNode]> {
  const a = await startNode(opts)
  const b = await startNode(opts)
  await a.connect(b.address)
  await b.waitForPeers(1, { timeout: 3000 })
  return [a, b]
}

async function readAll (stream: ProtocolStream): Promise<Uint8Array> {
  const list = new Uint8ArrayList()
  for await (const chunk of stream.source) list.append(chunk)
  return list.subarray()
}

/** A length-prefixed echo of upper-cased messages: the README's custom protocol. */
function upperCase (node: MeshNode): void {
  node.handleStream('/upper/1.0.0', ({ stream }) => {
    void pipe(stream, lp.decode, async function * (source) {
      for await (const msg of source) yield text(str(msg).toUpperCase())
    }, lp.encode, stream)
  })
}

describe('protocol streams between nodes', () => {
  it('a handler and openStream() compose with it-pipe and it-length-prefixed over TCP', async () => {
    const [a, b] = await pair()
    upperCase(b)
    const accepted = nextEvent(b, 'stream:error').catch(() => undefined)
    const stream = await a.openStream(b.id, '/upper/1.0.0')
    assert.equal(stream.protocol, '/upper/1.0.0')
    const replies = await pipe(['one', 'two', 'three'].map(text), lp.encode, stream, lp.decode, async source => {
      const out: string[] = []
      for await (const msg of source) out.push(str(msg))
      return out
    })
    assert.deepEqual(replies, ['ONE', 'TWO', 'THREE'])
    await waitFor(() => a.stats().streams === 0 && b.stats().streams === 0, 'the stream to be forgotten on both nodes')
    assert.equal(await settled(accepted), PENDING, 'no handler error')
    await stopNodes(a, b)
  })

  it('the handler is told who opened the stream; removing it refuses new streams', async () => {
    const [a, b] = await pair()
    const seen: Array<{ peer: string, protocol: string }> = []
    const off = b.handleStream('/who/1', ({ stream, peer, protocol }) => {
      seen.push({ peer: peer.id, protocol })
      void stream.sink([])
    })
    assert.throws(() => b.handleStream('/who/1', () => {}), code('ERR_DUPLICATE_HANDLER'))
    await readAll(await a.openStream(b.id, '/who/1'))
    assert.deepEqual(seen, [{ peer: a.id, protocol: '/who/1' }])
    off()
    await assert.rejects(a.openStream(b.id, '/who/1'), (err: Error) => code('ERR_PROTOCOL_UNSUPPORTED')(err) && err.message.includes('/who/1'))
    await stopNodes(a, b)
  })

  it('refuses what cannot be opened with typed errors', async () => {
    const [a, b] = await pair({ maxStreamsPerPeer: 1 })
    b.handleStream('/hold/1', () => {})
    await assert.rejects(a.openStream('nobody', '/hold/1'), code('ERR_PEER_NOT_FOUND'))
    await assert.rejects(a.openStream(b.id, '/missing/1'), code('ERR_PROTOCOL_UNSUPPORTED'))
    await a.openStream(b.id, '/hold/1')
    await assert.rejects(a.openStream(b.id, '/hold/1'), (err: unknown) => code('ERR_TOO_MANY_STREAMS')(err) && (err as { side: string }).side === 'local')
    const controller = new AbortController()
    controller.abort(new Error('changed my mind'))
    await assert.rejects(b.openStream(a.id, '/hold/1', { signal: controller.signal }), code('ERR_ABORTED'))
    assert.throws(() => a.handleStream('', () => {}), code('ERR_INVALID_ARGUMENT'))
    assert.throws(() => a.handleStream('bad\nname', () => {}), code('ERR_INVALID_ARGUMENT'))
    assert.throws(() => a.handle(`${STREAM_PREFIX}x`, () => {}), code('ERR_INVALID_ARGUMENT'))
    await assert.rejects(a.sendBytes(b.id, text(`${STREAM_PREFIX}forged`)), code('ERR_INVALID_MESSAGE'))
    await stopNodes(a, b)
    await assert.rejects(a.openStream(b.id, '/hold/1'), code('ERR_NOT_RUNNING'))
  })

  it('request() gets what the handler returns; a failing handler, a late one and a long answer fail typed', async () => {
    const [a, b] = await pair()
    b.handleRequests('/sum/1', request => text(String(request.reduce((sum, x) => sum + x, 0))))
    b.handleRequests('/fail/1', () => { throw new Error('secret internals') })
    b.handleRequests('/slow/1', async () => await new Promise<Uint8Array>(() => {}))
    b.handleRequests('/big/1', () => new Uint8Array(5000))
    assert.equal(str(await a.request(b.id, '/sum/1', new Uint8Array([1, 2, 3, 250]))), '256')
    const failed = nextEvent(b, 'stream:error')
    const err = await a.request(b.id, '/fail/1', text('x')).catch((e: unknown) => e)
    assert.ok(code('ERR_STREAM_RESET')(err))
    assert.doesNotMatch((err as Error).message, /secret/, 'the handler\'s error stays on its node')
    const [{ error, protocol, peer }] = await failed
    assert.equal(error.message, 'secret internals')
    assert.equal(protocol, '/fail/1')
    assert.equal(peer.id, a.id)
    await assert.rejects(a.request(b.id, '/slow/1', text('x'), { timeout: 100 }), code('ERR_TIMEOUT'))
    await assert.rejects(a.request(b.id, '/big/1', text('x'), { maxResponseBytes: 4096 }), code('ERR_LIMIT_EXCEEDED'))
    await waitFor(() => a.stats().streams === 0, 'every request stream to end on the requester')
    // A request over the handler's maxRequestBytes: the responder stops reading it and says why.
    b.handleRequests('/small/1', request => request, { maxRequestBytes: 16 })
    const refused = nextEvent(b, 'stream:error', ({ protocol }) => protocol === '/small/1')
    const tooLong = await a.request(b.id, '/small/1', new Uint8Array(100)).catch((e: unknown) => e)
    assert.ok(code('ERR_STREAM_RESET')(tooLong))
    assert.match((tooLong as Error).message, /maxRequestBytes \(16\)/)
    assert.equal(((await refused)[0].error as { code?: string }).code, 'ERR_LIMIT_EXCEEDED')
    await stopNodes(a, b)
  })

  it('a stream whose reader never reads holds back nothing else: 1,000 chats and 8 MiB on another stream arrive', async () => {
    const [a, b] = await pair()
    b.handleStream('/never-read/1', () => {})
    b.handleStream('/count/1', ({ stream }) => { void readAll(stream).then(async data => { await stream.sink([text(String(data.length))]) }) })
    const stuck = await a.openStream(b.id, '/never-read/1')
    const stuckWrite = stuck.sink([new Uint8Array(16 * 1024 * 1024)])
    stuckWrite.catch(() => {})
    const chats: string[] = []
    b.on('chat', ({ text }) => { chats.push(text) })
    for (let i = 0; i < 1000; i++) await a.send(b.id, `chat ${i}`)
    const other = await a.openStream(b.id, '/count/1')
    const size = 8 * 1024 * 1024
    const [, reply] = await Promise.all([other.sink([new Uint8Array(size)]), readAll(other)])
    assert.equal(str(reply), String(size))
    await waitFor(() => chats.length === 1000, 'every chat to arrive')
    assert.equal(chats[999], 'chat 999')
    assert.equal(await settled(stuckWrite), PENDING, 'the stuck stream waits for its reader')
    stuck.abort(new Error('test over'))
    await stopNodes(a, b)
  })

  it('100 concurrent streams over TCP all make progress: none waits for the others to finish', async () => {
    const [a, b] = await pair()
    const size = 256 * 1024
    const progress = progressRecorder(size)
    b.handleStream('/count/1', ({ stream }) => { progress.handle(stream) })
    const streams = await Promise.all(Array.from({ length: 100 }, async () => await a.openStream(b.id, '/count/1')))
    await Promise.all(streams.map(async stream => {
      for (let i = 0; i < size / 16384; i++) await stream.write(new Uint8Array(16384))
      await stream.closeWrite()
      await readAll(stream)
    }))
    assert.equal(progress.received.size, 100)
    assert.ok([...progress.received.values()].every(n => n === size))
    const started = progress.startedWhenFirstDone()
    assert.ok(started >= 90, `when the first stream was done, ${started} of 100 had a quarter of their data across`)
    await waitFor(() => a.stats().streams === 0 && b.stats().streams === 0, 'every stream to end')
    await stopNodes(a, b)
  })

  it('stopping a node ends every stream on both sides with a typed reason', async () => {
    const [a, b] = await pair()
    const accepted: ProtocolStream[] = []
    b.handleStream('/hold/1', ({ stream }) => { accepted.push(stream) })
    const stream = await a.openStream(b.id, '/hold/1')
    await waitFor(() => accepted.length === 1, 'the stream to be accepted')
    await b.stop()
    for (const end of [stream, accepted[0] as ProtocolStream]) {
      const err = await within(readAll(end).catch((e: unknown) => e), 'the stream to end')
      assert.ok(code('ERR_STREAM_RESET')(err))
      assert.equal((err as { reason: string }).reason, 'closing')
    }
    await stopNodes(a, b)
  })

  it('runs over Noise links and the in-memory transport as over plaintext TCP', async () => {
    for (const opts of [{ secure: 'required' }, { transport: memoryNetwork(), host: 'streams-memory' }] as MeshNodeOptions[]) {
      const a = await startNode(opts.transport === undefined ? opts : { ...opts, host: 'streams-a' })
      const b = await startNode(opts.transport === undefined ? opts : { ...opts, host: 'streams-b' })
      await a.connect(b.address)
      upperCase(b)
      b.handleRequests('/echo/1', request => request)
      assert.equal(str(await a.request(b.id, '/echo/1', text('over any link'))), 'over any link')
      await stopNodes(a, b)
    }
  })

  it('runs between overlay neighbours, which know each other from the capability probe', async () => {
    const [a, b] = await pair({ topology: 'overlay', maxPeers: 6, overlay: { activeViewSize: 3, capabilityTimeout: 200 } })
    b.handleRequests('/echo/1', request => request)
    assert.equal(str(await a.request(b.id, '/echo/1', text('neighbour'))), 'neighbour')
    await stopNodes(a, b)
  })

  it('a full-mesh node and an overlay node run streams, and the overlay\'s broadcasts still reach the full-mesh node as chat', async () => {
    const overlay = await startNode({ topology: 'overlay', maxPeers: 6, overlay: { activeViewSize: 3, capabilityTimeout: 200 } })
    const full = await startNode()
    await full.connect(overlay.address)
    overlay.handleRequests('/echo/1', request => request)
    assert.equal(str(await full.request(overlay.id, '/echo/1', text('probe first'))), 'probe first')
    await waitFor(() => overlay.overlayStatus()?.plain.includes(full.id) === true, 'the overlay node to take the full-mesh node for plain')
    const heard = nextEvent(full, 'chat')
    await overlay.broadcast('to everyone, plain or not')
    assert.equal((await heard)[0].text, 'to everyone, plain or not')
    await stopNodes(overlay, full)
  })

  it('never sends a stream frame to a line-protocol peer: openStream() fails typed, the peer sees only the probe', async () => {
    const node = await startNode()
    const raw = await RawSocket.connect(portOf(node.address))
    const received: Buffer[] = []
    raw.socket.on('data', (chunk: Buffer) => { received.push(chunk) })
    await raw.write(`legacy-peer:Legacy\nLISTEN:${HOST}:1\n`)
    await node.waitForPeers(1, { timeout: 3000 })
    const err = await node.openStream('legacy-peer', '/chat/1').catch((e: unknown) => e)
    assert.ok(code('ERR_STREAMS_UNSUPPORTED')(err), String(err))
    await assert.rejects(node.openStream('legacy-peer', '/chat/1'), code('ERR_STREAMS_UNSUPPORTED'), 'the answer is remembered')
    await node.send('legacy-peer', 'still chatting')
    const seen = (): string => Buffer.concat(received).toString('latin1')
    await waitFor(() => seen().includes('still chatting\n'), 'the chat line to follow the probe')
    // The probe names the prober's own topology: an overlay peer must not take this node for one of its own.
    assert.ok(seen().includes('meshline-overlay/1 CAPS full-mesh probe'), 'the capability probe went out')
    assert.ok(!seen().includes(STREAM_PREFIX), 'no stream frame did')
    raw.destroy()
    await stopNodes(node)
  })
})

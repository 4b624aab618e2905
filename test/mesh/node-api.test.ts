/**
 * The node's public methods at their boundary: one rule for a node that is
 * not running, arguments checked for JavaScript callers, `handle()`'s
 * registration rules, `connect()`'s per-call options and `waitForPeers()`.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MeshNode, type MeshNodeOptions, type TransportFactory } from '../../lib/index.js'
import { memoryNetwork } from '../../lib/transport/index.js'
import { OVERLAY_PREFIX } from '../../lib/overlay/overlay-protocol.js'
import { PENDING, settled, within } from '../../harness/async.js'
import { fileNodes, QUIET } from '../support/mesh.js'

const network = memoryNetwork()
const MEMORY: MeshNodeOptions = { ...QUIET, transport: network }
let hosts = 0
const { startNode, stopNodes } = fileNodes(MEMORY)
const start = async (opts: MeshNodeOptions = {}): Promise<MeshNode> => await startNode({ host: `api-${++hosts}`, ...opts })

const code = (expected: string) => (err: unknown): boolean => (err as { code?: string }).code === expected

describe('MeshNode API boundary', () => {
  it('rejects every network operation with NotRunningError before start() and after stop()', async () => {
    const idle = new MeshNode({ ...MEMORY, host: 'api-idle' })
    const stopped = await start()
    await stopNodes(stopped)
    for (const node of [idle, stopped]) {
      await assert.rejects(node.broadcast('hi'), code('ERR_NOT_RUNNING'))
      await assert.rejects(node.broadcastBytes(new Uint8Array(1)), code('ERR_NOT_RUNNING'))
      await assert.rejects(node.send('someone', 'hi'), code('ERR_NOT_RUNNING'))
      await assert.rejects(node.sendBytes('someone', new Uint8Array(1)), code('ERR_NOT_RUNNING'))
      await assert.rejects(node.connect('api-x:1'), code('ERR_NOT_RUNNING'))
      await assert.rejects(node.waitForPeers(1), code('ERR_NOT_RUNNING'))
      assert.throws(() => node.discover(), code('ERR_NOT_RUNNING'))
    }
    // Registration and queries work at any time.
    const off = idle.handle('app/', () => {})
    off()
    assert.deepEqual(idle.peers(), [])
  })

  it('refuses arguments of the wrong type, naming them', async () => {
    const node = await start()
    await assert.rejects(node.broadcast(42 as unknown as string), (err: Error) => code('ERR_INVALID_ARGUMENT')(err) && /`text` to be a string, got 42/.test(err.message))
    await assert.rejects(node.sendBytes(node.id, 'text' as unknown as Uint8Array), (err: Error) => code('ERR_INVALID_ARGUMENT')(err) && /`data`/.test(err.message))
    await assert.rejects(node.send(7 as unknown as string, 'hi'), (err: Error) => /`peerId`/.test(err.message))
    await assert.rejects(node.connect(5 as unknown as string), (err: Error) => /`address`/.test(err.message))
    await assert.rejects(node.connect('api-x:1', { attemps: 1 } as object), (err: Error) => code('ERR_INVALID_OPTION')(err) && /did you mean `attempts`/.test(err.message))
    await assert.rejects(node.waitForPeers(-1), code('ERR_INVALID_ARGUMENT'))
    assert.throws(() => new MeshNode({ maxpeers: 5 } as MeshNodeOptions), (err: Error) => code('ERR_INVALID_OPTION')(err) && /did you mean `maxPeers`/.test(err.message))
    assert.throws(() => new MeshNode('alice' as MeshNodeOptions), code('ERR_INVALID_OPTION'))
    assert.throws(() => new MeshNode({ transport: {} as TransportFactory }), (err: Error) => /`transport` to be a transport/.test(err.message))
  })

  it('handle() refuses an empty, reserved or duplicate prefix and a handler that is not a function; the longest prefix wins', async () => {
    const a = await start()
    const b = await start()
    assert.throws(() => a.handle('', () => {}), code('ERR_INVALID_ARGUMENT'))
    assert.throws(() => a.handle(`${OVERLAY_PREFIX}mine`, () => {}), code('ERR_INVALID_ARGUMENT'))
    assert.throws(() => a.handle('app/', 'not a function' as never), code('ERR_INVALID_ARGUMENT'))
    assert.throws(() => a.handle('app/', () => {}, { relayd: false } as object), code('ERR_INVALID_OPTION'))
    const got: string[] = []
    const offShort = b.handle('app/', data => { got.push(`short:${Buffer.from(data.subarray()).toString()}`) })
    assert.throws(() => b.handle('app/', () => {}), code('ERR_DUPLICATE_HANDLER'))
    const offLong = b.handle('app/v2/', data => { got.push(`long:${Buffer.from(data.subarray()).toString()}`) })
    await a.connect(b.address)
    await a.sendBytes(b.id, Buffer.from('app/v2/x'))
    await a.sendBytes(b.id, Buffer.from('app/y'))
    await a.broadcast('sync')
    await within(new Promise<void>(resolve => { b.once('chat', () => { resolve() }) }), 'the chat after both payloads')
    assert.deepEqual(got, ['long:app/v2/x', 'short:app/y'])
    offLong()
    offLong()
    offShort()
    // Once removed, the prefix may be registered again.
    b.handle('app/', () => {})
  })

  it('connect() takes this call\'s attempts, timeout and abort signal', async () => {
    // Dials that never complete, until the node stops.
    let dials = 0
    const hanging: TransportFactory = {
      listen: network.listen,
      dial: async (_host, _port, { signal }) => {
        dials++
        return await new Promise((_resolve, reject) => { signal?.addEventListener('abort', () => { reject(signal.reason) }, { once: true }) })
      }
    }
    const node = await start({ transport: hanging })
    const startedAt = Date.now()
    await assert.rejects(node.connect('api-nowhere:1', { timeout: 50 }), (err: Error & { cause?: unknown }) =>
      code('ERR_DIAL_FAILED')(err) && code('ERR_TIMEOUT')(err.cause))
    assert.ok(Date.now() - startedAt < 2000, 'gave up at its timeout, not after the dial\'s connectionTimeout')
    const controller = new AbortController()
    const aborted = node.connect('api-nowhere:2', { signal: controller.signal })
    controller.abort(new Error('user gave up'))
    await assert.rejects(aborted, (err: Error & { cause?: Error }) => code('ERR_ABORTED')(err) && err.cause?.message === 'user gave up')

    const refusing = await start({ bootstrapAttempts: 5, bootstrapBackoff: 1 })
    await assert.rejects(refusing.connect('api-closed:1', { attempts: 2 }), (err: Error & { attempts?: number }) => code('ERR_DIAL_FAILED')(err) && err.attempts === 2)
    assert.ok(dials >= 2)
  })

  it('a node at maxPeers says so once in limit:exceeded, and again after it dropped below', async () => {
    const hub = await start({ maxPeers: 1 })
    const limits: string[] = []
    hub.on('limit:exceeded', ({ error }) => { limits.push(`${error.limit}=${error.value}`) })
    const first = await start()
    await first.connect(hub.address)
    for (const extra of [await start(), await start()]) await assert.rejects(extra.connect(hub.address), code('ERR_DIAL_FAILED'))
    assert.deepEqual(limits, ['maxPeers=1'])
    const left = new Promise<void>(resolve => { hub.once('peer:disconnect', () => { resolve() }) })
    await stopNodes(first)
    await left
    const second = await start()
    await second.connect(hub.address)
    await assert.rejects((await start()).connect(hub.address), code('ERR_DIAL_FAILED'))
    assert.deepEqual(limits, ['maxPeers=1', 'maxPeers=1'])
  })

  it('messages() gives a reader that attaches late what arrived before it', async () => {
    const a = await start()
    const b = await start()
    await a.connect(b.address)
    const seen = new Promise<void>(resolve => { b.on('chat', ({ text }) => { if (text === 'third') resolve() }) })
    for (const text of ['first', 'second', 'third']) await a.broadcast(text)
    await within(seen, 'the chat events')
    const got: string[] = []
    for await (const msg of b.messages()) {
      if (msg.type === 'chat') got.push(msg.text)
      if (got.length === 3) break
    }
    assert.deepEqual(got, ['first', 'second', 'third'])
  })

  it('waitForPeers() resolves once the mesh has formed, and rejects on timeout, abort and stop', async () => {
    const hub = await start()
    const waiting = hub.waitForPeers(2)
    assert.equal(await settled(waiting), PENDING)
    const x = await start()
    const y = await start()
    await x.connect(hub.address)
    assert.equal(await settled(waiting), PENDING)
    await y.connect(hub.address)
    const peers = await within(waiting, 'two peers')
    assert.deepEqual(peers.map(p => p.id).sort(), [x.id, y.id].sort())
    assert.equal((await hub.waitForPeers(1)).length, 2, 'resolves at once when there are enough')

    const listeners = hub.listenerCount('peer:connect')
    await assert.rejects(hub.waitForPeers(5, { timeout: 20 }), code('ERR_TIMEOUT'))
    const controller = new AbortController()
    const aborted = hub.waitForPeers(5, { signal: controller.signal })
    controller.abort()
    await assert.rejects(aborted, code('ERR_ABORTED'))
    assert.equal(hub.listenerCount('peer:connect'), listeners, 'a wait that ended leaves no listener behind')
    const cut = hub.waitForPeers(5)
    await stopNodes(hub)
    await assert.rejects(cut, code('ERR_NOT_RUNNING'))
  })
})

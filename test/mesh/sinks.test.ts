/**
 * The batch API: `sender()` and `broadcaster()` as it-pipe sinks, and
 * `messages({ batch: true })`, between nodes on loopback TCP.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { pipe } from 'it-pipe'
import type { MeshNode, IncomingMessage } from '../../lib/index.js'
import { PENDING, activeTimers, settled, waitFor } from '../../harness/async.js'
import { fileNodes, QUIET } from '../support/mesh.js'
import { RawSocket } from '../support/raw-socket.js'
import { portOf, HOST } from '../../harness/loopback.js'

const { startNode, stopNodes } = fileNodes(QUIET)
const code = (expected: string) => (err: unknown): boolean => (err as { code?: string }).code === expected

async function pair (): Promise<[MeshNode, MeshNode]> {
  const a = await startNode()
  const b = await startNode()
  await a.connect(b.address)
  await b.waitForPeers(1, { timeout: 3000 })
  return [a, b]
}

/** Reads `count` messages from `node` in batches, returning them and how many batches it took. */
async function readBatches (node: MeshNode, count: number): Promise<{ messages: IncomingMessage[], batches: number }> {
  const messages: IncomingMessage[] = []
  let batches = 0
  for await (const batch of node.messages({ batch: true })) {
    assert.ok(Array.isArray(batch) && batch.length > 0)
    batches++
    messages.push(...batch)
    if (messages.length >= count) break
  }
  return { messages, batches }
}

describe('batch API: sender(), broadcaster(), messages({ batch: true })', () => {
  it('sender() takes chat text, payloads and arrays of both from an it-pipe source, in order; messages({ batch: true }) reads them in bursts', async () => {
    const [a, b] = await pair()
    const reading = readBatches(b, 5002)
    await pipe(
      async function * () {
        yield 'first'
        yield Array.from({ length: 5000 }, (_, i) => `chat ${i}`)
        yield [new Uint8Array([1, 2, 3]), 'last']
      },
      a.sender(b.id)
    )
    const { messages, batches } = await reading
    assert.deepEqual(messages.slice(0, 3).map(m => m.type === 'chat' ? m.text : 'bytes'), ['first', 'chat 0', 'chat 1'])
    assert.equal(messages.length, 5003)
    const bytes = messages[5001] as IncomingMessage
    assert.equal(bytes.type, 'bytes')
    assert.deepEqual(bytes.type === 'bytes' ? [...bytes.data.subarray()] : [], [1, 2, 3])
    assert.equal(messages[5002]?.type === 'chat' ? messages[5002].text : '', 'last')
    assert.ok(batches < 5003 / 10, `${batches} batches for 5,003 messages`)
    await stopNodes(a, b)
  })

  it('broadcaster() reaches every peer', async () => {
    const a = await startNode()
    const b = await startNode()
    const c = await startNode()
    await a.connect(b.address)
    await a.connect(c.address)
    const readers = [readBatches(b, 1000), readBatches(c, 1000)]
    await pipe([Array.from({ length: 1000 }, (_, i) => `all ${i}`)], a.broadcaster())
    for (const { messages } of await Promise.all(readers)) {
      assert.deepEqual(messages.map(m => m.type === 'chat' ? m.text : ''), Array.from({ length: 1000 }, (_, i) => `all ${i}`))
    }
    await stopNodes(a, b, c)
  })

  it('holds back its source while the peer\'s queue is full: a peer that stops reading stops the producer', async () => {
    const node = await startNode({ maxQueuedBytes: 64 * 1024, slowPeerTimeout: 60_000 })
    const raw = await RawSocket.connect(portOf(node.address))
    await raw.write(`stuck-peer:stuck\nLISTEN:${HOST}:1\n`)
    await node.waitForPeers(1, { timeout: 3000 })
    raw.socket.pause()
    let pulled = 0
    const sending = pipe(async function * () {
      for (let i = 0; i < 100_000; i++) {
        pulled++
        yield new Uint8Array(1024)
      }
    }, node.sender('stuck-peer'))
    sending.catch(() => {})
    // Until the kernel's socket buffers and the 64 KiB queue are full.
    let before = -1
    await waitFor(() => { const stable = pulled === before; before = pulled; return stable && pulled > 0 }, 'the producer to be held back', 5000)
    assert.equal(await settled(sending), PENDING)
    assert.ok(pulled < 100_000, `pulled ${pulled} of 100,000`)
    // Its connection gone, the waiting sink is told so, and no timer outlives it.
    const waitingSend = node.send('stuck-peer', 'waits behind the full queue')
    waitingSend.catch(() => {})
    raw.destroy()
    await assert.rejects(sending, code('ERR_CONNECTION_CLOSED'))
    await assert.rejects(waitingSend, code('ERR_CONNECTION_CLOSED'))
    await stopNodes(node)
    assert.equal(activeTimers(), 0, 'no timer left running')
  })

  it('refuses what send() and sendBytes() refuse, typed, and unknown peers', async () => {
    const [a, b] = await pair()
    await assert.rejects(pipe([42 as unknown as string], a.sender(b.id)), code('ERR_INVALID_ARGUMENT'))
    await assert.rejects(pipe(['BYTES:5'], a.sender(b.id)), code('ERR_INVALID_MESSAGE'))
    await assert.rejects(pipe(['hi'], a.sender('nobody')), code('ERR_PEER_NOT_FOUND'))
    assert.throws(() => a.messages({ batch: 'yes' } as never), code('ERR_INVALID_OPTION'))
    await stopNodes(a, b)
    await assert.rejects(pipe(['hi'], a.sender(b.id)), code('ERR_NOT_RUNNING'))
  })
})

/**
 * Backpressure over real TCP: a receiver that stops reading costs its sender
 * a bounded amount of memory and is dropped on purpose (ERR_SLOW_PEER) while
 * fast peers get every frame in order; long runs of chat and slow
 * `messages()` readers lose nothing.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { describe, it } from 'node:test'
import type { MeshNode } from '../../lib/index.js'
import { waitFor, within } from '../../harness/async.js'
import { Harness, newId, nextEvent, withHarness } from '../support/mesh.js'
import { HOST, portOf } from '../../harness/loopback.js'
import { liveMemory } from '../../harness/memory.js'
import type { BroadcastResult, IncomingMessage } from '../../lib/types.js'

const KiB = 1024
const MiB = 1024 * KiB
/** Upper bound of any single wait in this file, in ms: generous, never slept. */
const DEADLINE = 5000

/** External memory held by ArrayBuffers (Buffers) still reachable, in bytes: garbage is not counted as retained. */
const liveArrayBuffers = (): number => liveMemory().arrayBuffers

const codeOf = (err: unknown): string | undefined => (err as { code?: string } | undefined)?.code

/** The harness, also opening hand-driven peers that stop reading, and closing them. */
class SlowPeerHarness extends Harness {
  /**
   * A hand-driven peer: connects to `node`, sends `<id>:<name>` and
   * `LISTEN:`, reads the node's hello line, and hands back the socket with
   * nothing else read.
   */
  async rawPeer (node: MeshNode, id: string): Promise<net.Socket> {
    const socket = net.connect({ host: HOST, port: portOf(node.address) })
    this.onClose(() => { socket.destroy() })
    socket.on('error', () => {})
    const connected = nextEvent(node, 'peer:connect', ({ peer }) => peer.id === id, DEADLINE)
    const hello = `${node.id}:${node.name}\n`
    const answer = new Promise<string>((resolve, reject) => {
      let received = Buffer.alloc(0)
      const onData = (chunk: Buffer): void => {
        received = Buffer.concat([received, chunk])
        if (received.length < hello.length) return
        socket.off('data', onData)
        // Stop the flow at once: whatever else arrived stays unread.
        socket.pause()
        resolve(received.subarray(0, hello.length).toString('utf8'))
      }
      socket.on('data', onData)
      socket.once('close', () => { reject(new assert.AssertionError({ message: 'closed during the handshake' })) })
    })
    socket.write(`${id}:slow\nLISTEN:${HOST}:1\n`)
    assert.equal(await within(answer, 'the hello answer', DEADLINE), hello)
    await connected
    return socket
  }
}

/** Records the sequence numbers of the `BYTES` frames a node receives, checking each payload. */
function recordFrames (node: MeshNode, frameSize: number): number[] {
  const seen: number[] = []
  node.on('bytes', ({ data }) => {
    assert.equal(data.byteLength, frameSize)
    const seq = Buffer.from(data.subarray(0, 4)).readUInt32BE(0)
    assert.equal(data.get(frameSize - 1), seq & 0xff, `payload ${seq} corrupted`)
    seen.push(seq)
  })
  return seen
}

describe('backpressure: a receiver that stops reading', () => {
  it('keeps the sender bounded, drops the slow peer with ERR_SLOW_PEER, and delivers everything in order to fast peers', async () => {
    await withHarness(SlowPeerHarness, async h => {
      const maxQueuedBytes = 256 * KiB
      const slowPeerTimeout = 500
      const frameSize = 256 * KiB
      const frames = 64
      const a = await h.node({ maxQueuedBytes, slowPeerTimeout })
      const b = await h.node()
      const c = await h.node()
      const slowId = newId()

      const slowSocket = await h.rawPeer(a, slowId)
      await b.connect(a.address)
      await c.connect(a.address)
      assert.equal(a.peers().length, 3)
      const atB = recordFrames(b, frameSize)
      const atC = recordFrames(c, frameSize)

      const dropped = nextEvent(a, 'peer:disconnect', ({ peer }) => peer.id === slowId, 2 * DEADLINE)
      dropped.catch(() => {})
      let droppedAt: number | undefined
      void dropped.then(() => { droppedAt = Date.now() }, () => {})

      const baseline = liveArrayBuffers()
      let peak = 0
      const results: BroadcastResult[] = []
      const started = Date.now()
      for (let seq = 0; seq < frames; seq++) {
        const payload = Buffer.alloc(frameSize, seq & 0xff)
        payload.writeUInt32BE(seq, 0)
        results.push(await within(a.broadcastBytes(payload), `broadcast ${seq}`, DEADLINE))
        if (seq % 4 === 3) peak = Math.max(peak, liveArrayBuffers() - baseline)
      }

      // Memory: the sender holds about one queue's worth per peer, not the whole broadcast.
      const total = frames * frameSize
      assert.ok(peak < 4 * MiB, `live ArrayBuffers grew by ${(peak / MiB).toFixed(1)} MiB while broadcasting ${total / MiB} MiB`)

      // The slow peer was dropped on purpose, with its reason, in bounded time.
      const [{ reason }] = await dropped
      assert.equal(codeOf(reason), 'ERR_SLOW_PEER')
      assert.ok(droppedAt !== undefined && droppedAt - started < slowPeerTimeout + 2500, `slow peer dropped ${String((droppedAt ?? Infinity) - started)} ms after the first broadcast`)
      assert.deepEqual(a.peers().map(peer => peer.id).sort(), [b.id, c.id].sort())

      // Every broadcast reached both fast peers; the slow one failed once, then was skipped.
      let failures = 0
      let skipped = false
      for (const [seq, { queued, failed }] of results.entries()) {
        assert.ok(queued.includes(b.id) && queued.includes(c.id), `broadcast ${seq} not queued for the fast peers`)
        for (const { peerId, error } of failed) {
          assert.equal(peerId, slowId)
          assert.equal(codeOf(error), 'ERR_SLOW_PEER')
          failures++
        }
        if (failures > 0 || skipped) {
          skipped = true
          if (failed.length === 0) assert.ok(!queued.includes(slowId), `broadcast ${seq} queued for the dropped peer`)
        }
      }
      assert.equal(failures, 1, 'the slow peer should fail exactly one broadcast, the one that waited on it')

      const expected = Array.from({ length: frames }, (_, i) => i)
      await waitFor(() => atB.length === frames && atC.length === frames, 'both fast peers to receive every frame', DEADLINE)
      assert.deepEqual(atB, expected)
      assert.deepEqual(atC, expected)

      // The slow peer's socket was closed by the sender: once read, it ends.
      const slowClosed = new Promise<void>(resolve => { slowSocket.once('close', () => { resolve() }) })
      slowSocket.on('data', () => {})
      slowSocket.resume()
      await within(slowClosed, 'the slow peer\'s socket to close', DEADLINE)
    })
  })
})

describe('backpressure: long runs are delivered complete and in order', () => {
  it('delivers 100,000 chat messages from A to B, in order, through messages()', async () => {
    await withHarness(async h => {
      const count = 100_000
      const a = await h.node({ maxQueuedBytes: 64 * KiB })
      const b = await h.node()
      let disconnects = 0
      a.on('peer:disconnect', () => { disconnects++ })
      const inbox = b.messages()
      await a.connect(b.address)

      const receiving = (async () => {
        let next = 0
        for await (const msg of inbox) {
          assert.equal(msg.type, 'chat')
          assert.equal(msg.peer.id, a.id)
          if (msg.type === 'chat' && msg.text !== `message ${next}`) assert.fail(`expected "message ${next}", got ${JSON.stringify(msg.text)}`)
          if (++next === count) break
        }
        return next
      })()
      for (let i = 0; i < count; i++) await a.send(b.id, `message ${i}`)
      assert.equal(await within(receiving, 'all messages at B', 4 * DEADLINE), count)
      assert.equal(disconnects, 0)
    })
  })

  it('loses nothing when a messages() reader is slow and its inbox is tiny', async () => {
    await withHarness(async h => {
      const count = 4000
      const slowFor = 200
      // About 1 KiB each, so that what waits unread overflows socket buffers and reaches the sender.
      const padding = 'x'.repeat(1000)
      const a = await h.node({ maxQueuedBytes: 16 * KiB, slowPeerTimeout: 4000 })
      const b = await h.node({ inboxSize: 4 })
      let disconnects = 0
      a.on('peer:disconnect', () => { disconnects++ })
      b.on('peer:disconnect', () => { disconnects++ })
      const slowReader = b.messages()
      const fastReader = b.messages()
      await a.connect(b.address)

      const read = async (inbox: AsyncIterable<IncomingMessage>, lag: boolean): Promise<number> => {
        let next = 0
        for await (const msg of inbox) {
          const text = msg.type === 'chat' ? msg.text : `<${msg.type}>`
          if (text !== `${next} ${padding}`) assert.fail(`expected message ${next}, got ${JSON.stringify(text.slice(0, 20))}`)
          if (lag && next < slowFor) {
            // Mostly a turn of the event loop, sometimes a real timer.
            if (next % 10 === 0) await new Promise(resolve => setTimeout(resolve, 1))
            else await new Promise(resolve => setImmediate(resolve))
          }
          if (++next === count) break
        }
        return next
      }
      const slow = read(slowReader, true)
      const fast = read(fastReader, false)
      for (let i = 0; i < count; i++) await within(a.send(b.id, `${i} ${padding}`), `send ${i}`, DEADLINE)
      assert.deepEqual(await within(Promise.all([slow, fast]), 'both readers to finish', 4 * DEADLINE), [count, count])
      assert.equal(disconnects, 0)
    })
  })
})

/**
 * Ordering and loss over a throttled link: node A sends `messages` messages
 * to node B through a proxy that cuts the byte stream at random boundaries
 * and delays every piece (support/throttling-proxy.ts). Every 100th message is a
 * `BYTES` frame whose payload (0 to 2 KiB, newlines included) is derived from
 * its sequence number; the rest are chat lines. B checks that each one
 * arrives exactly once, complete, and in order. A sends in windows of
 * awaited sends, so a full queue makes it wait instead of buffering.
 */
import assert from 'node:assert/strict'
import { MeshNode } from '../../../lib/index.js'
import { within } from '../../../harness/async.js'
import { FAST } from '../../support/live.js'
import { portOf } from '../../../harness/loopback.js'
import { throttlingProxy } from '../../support/throttling-proxy.js'

export interface OrderingReport {
  messages: number
  bytesFrames: number
  /** Pieces the proxy cut the two streams into. */
  pieces: number
  /** Payload bytes carried, chat text and BYTES payloads. */
  payloadBytes: number
  ms: number
}

/** The payload of BYTES message `seq`: its decimal sequence number, then a pattern with newlines, `seq % 2048` bytes long in all. */
function payloadOf (seq: number): Uint8Array {
  const head = new TextEncoder().encode(`${seq}|`)
  const length = Math.max(head.length, seq % 2048)
  const payload = new Uint8Array(length)
  payload.set(head)
  for (let i = head.length; i < length; i++) payload[i] = (seq + i * 7) % 11 === 0 ? 0x0a : (seq + i) & 0xff
  return payload
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export async function orderedOverThrottledLink (messages: number, window = 1000): Promise<OrderingReport> {
  const b = new MeshNode({ ...FAST, autoDial: false, peerTimeout: 30_000 })
  const a = new MeshNode({ ...FAST, autoDial: false, peerTimeout: 30_000 })
  const nodes = [a, b]
  await Promise.all(nodes.map(async node => await node.start()))
  const proxy = await throttlingProxy({ port: portOf(b.address), maxDelay: 2, maxPiece: 8192, seed: 7 })
  try {
    await a.connect(proxy.address)
    let next = 0
    let failure: Error | undefined
    let payloadBytes = 0
    let finish: () => void = () => {}
    const finished = new Promise<void>(resolve => { finish = resolve })
    const expect = (what: string, ok: boolean): void => {
      if (!ok && failure === undefined) failure = new assert.AssertionError({ message: `message ${next}: ${what}` })
    }
    const advance = (): void => {
      next++
      if (next === messages || failure !== undefined) finish()
    }
    b.on('chat', ({ peer, text }) => {
      if (peer.id !== a.id) return
      expect(`expected chat "m ${next}", got ${JSON.stringify(text.slice(0, 40))}`, next % 100 !== 0 && text === `m ${next}`)
      payloadBytes += text.length
      advance()
    })
    b.on('bytes', ({ peer, data }) => {
      if (peer.id !== a.id) return
      expect(`expected a BYTES frame of ${payloadOf(next).length} bytes, got ${data.byteLength}`, next % 100 === 0 && sameBytes(data.subarray(), payloadOf(next)))
      payloadBytes += data.byteLength
      advance()
    })
    b.on('peer:disconnect', ({ reason }) => { failure ??= new assert.AssertionError({ message: `the link broke at message ${next}: ${reason.message}` }) ; finish() })

    const started = Date.now()
    for (let seq = 0; seq < messages && failure === undefined; seq += window) {
      const sends: Array<Promise<void>> = []
      for (let i = seq; i < Math.min(messages, seq + window); i++) {
        sends.push(i % 100 === 0 ? a.sendBytes(b.id, payloadOf(i)) : a.send(b.id, `m ${i}`))
      }
      await Promise.all(sends)
    }
    await within(finished, `message ${next} of ${messages}`, 60_000)
    if (failure !== undefined) throw failure
    assert.equal(next, messages)
    return { messages, bytesFrames: Math.ceil(messages / 100), pieces: proxy.pieces, payloadBytes, ms: Date.now() - started }
  } finally {
    await Promise.all(nodes.map(async node => { await node.stop() }))
    await proxy.close()
  }
}

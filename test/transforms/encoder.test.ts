import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import { encoder, FrameEncoder } from '../../transforms/encoder.js'
import { DUPLICATE_MESSAGE, MAX_PEERS_MESSAGE, PING_MESSAGE, PONG_MESSAGE, REQUEST_PEERS_MESSAGE, type Message } from '../../transforms/core/line-protocol.js'
import { from } from '../support/pipeline.js'

const latin1 = (list: Uint8ArrayList): string => Buffer.from(list.subarray()).toString('latin1')

describe('FrameEncoder: bytes on the wire', () => {
  for (const [msg, wire] of [
    [{ type: 'chat', text: 'hello world' }, 'hello world\n'],
    [PING_MESSAGE, 'PING\n'],
    [PONG_MESSAGE, 'PONG\n'],
    [REQUEST_PEERS_MESSAGE, 'REQUEST_PEERS\n'],
    [{ type: 'peers', addresses: ['1.2.3.4:5', '[::1]:7'] }, 'PEERS:1.2.3.4:5,[::1]:7\n'],
    [{ type: 'peers', addresses: [] }, 'PEERS:\n'],
    [{ type: 'hello', id: '0123abcd', name: 'Alice: the first' }, '0123abcd:Alice: the first\n'],
    [{ type: 'hello', id: '0123abcd', name: '' }, '0123abcd:\n'],
    [{ type: 'listen', address: '10.0.0.1:4000' }, 'LISTEN:10.0.0.1:4000\n'],
    [DUPLICATE_MESSAGE, 'DUPLICATE\n'],
    [MAX_PEERS_MESSAGE, 'MAX_PEERS\n'],
    [{ type: 'bytes', data: new Uint8Array([0x61, 0x0a, 0x00, 0xff]) }, 'BYTES:4\na\n\0\xff'],
    [{ type: 'bytes', data: new Uint8ArrayList(new Uint8Array([0x61]), new Uint8Array([0x62])) }, 'BYTES:2\nab'],
    [{ type: 'bytes', data: new Uint8Array(0) }, 'BYTES:0\n']
  ] as Array<[Message, string]>) {
    it(`writes ${msg.type} as ${JSON.stringify(wire)}`, () => {
      assert.equal(latin1(new FrameEncoder().encode([msg])), wire)
    })
  }

  it('writes chat text as UTF-8', () => {
    const text = 'héllo ✓ 🌍'
    assert.deepEqual([...new FrameEncoder().encode([{ type: 'chat', text }]).subarray()], [...new TextEncoder().encode(`${text}\n`)])
  })

  it('refuses chat text with a newline with ERR_INVALID_MESSAGE', () => {
    const core = new FrameEncoder()
    assert.throws(() => core.encode([PING_MESSAGE, { type: 'chat', text: 'two\nlines' }]), { code: 'ERR_INVALID_MESSAGE' })
    // Nothing of a refused batch is left behind for the next one.
    assert.equal(latin1(core.encode([PONG_MESSAGE])), 'PONG\n')
  })
})

describe('FrameEncoder: coalescing', () => {
  it('packs many small frames of a batch into one chunk', () => {
    const batch: Message[] = []
    for (let i = 0; i < 100; i++) batch.push({ type: 'chat', text: `message ${i}` }, PING_MESSAGE, { type: 'bytes', data: new Uint8Array([i]) })
    const out = new FrameEncoder().encode(batch)
    assert.equal([...out].length, 1)
    let expected = ''
    for (let i = 0; i < 100; i++) expected += `message ${i}\nPING\nBYTES:1\n${String.fromCharCode(i)}`
    assert.equal(latin1(out), expected)
  })

  it('copies a payload below copyLimit into the packed chunk', () => {
    const data = new Uint8Array(100).fill(7)
    const out = new FrameEncoder().encode([{ type: 'bytes', data }])
    const pieces = [...out]
    assert.equal(pieces.length, 1)
    assert.notEqual(pieces[0]?.buffer, data.buffer)
  })

  it('passes a payload at copyLimit by reference, in order', () => {
    const data = new Uint8Array(16 * 1024).fill(1)
    const out = new FrameEncoder().encode([PING_MESSAGE, { type: 'bytes', data }, PONG_MESSAGE])
    const pieces = [...out]
    assert.equal(pieces.length, 3)
    assert.equal(pieces[1], data)
    assert.equal(Buffer.from(pieces[0] ?? []).toString(), 'PING\nBYTES:16384\n')
    assert.equal(Buffer.from(pieces[2] ?? []).toString(), 'PONG\n')
  })

  it('passes the pieces of a large Uint8ArrayList payload by reference', () => {
    const parts = [new Uint8Array(3), new Uint8Array(5)]
    const out = new FrameEncoder({ copyLimit: 8 }).encode([{ type: 'bytes', data: new Uint8ArrayList(...parts) }])
    assert.deepEqual([...out].slice(1), parts)
    assert.equal([...out][1], parts[0])
    assert.equal([...out][2], parts[1])
  })

  it('never rewrites bytes already handed out when its pool fills up', () => {
    const core = new FrameEncoder()
    const first = core.encode([{ type: 'chat', text: 'first' }])
    const snapshot = first.slice()
    const text = 'x'.repeat(1000)
    for (let i = 0; i < 200; i++) {
      const out = core.encode([{ type: 'chat', text }, { type: 'bytes', data: new Uint8Array(999).fill(i) }])
      assert.equal(out.byteLength, 1001 + 'BYTES:999\n'.length + 999)
    }
    assert.deepEqual(first.slice(), snapshot)
  })

  it('shares its pool with other encoders without touching what they handed out, refused batches included', () => {
    const [a, b] = [new FrameEncoder(), new FrameEncoder()]
    const handedOut: Array<[Uint8ArrayList, string]> = []
    for (let i = 0; i < 300; i++) {
      const text = `${i % 2 === 0 ? 'a' : 'b'}${i} ${'y'.repeat(i * 7 % 900)}`
      const core = i % 2 === 0 ? a : b
      handedOut.push([core.encode([{ type: 'chat', text }, { type: 'bytes', data: new Uint8Array(i % 50).fill(i) }]), `${text}\nBYTES:${i % 50}\n${String.fromCharCode(i % 256).repeat(i % 50)}`])
      if (i % 10 === 0) assert.throws(() => (i % 20 === 0 ? b : a).encode([PING_MESSAGE, { type: 'chat', text: 'bad\n' }]), { code: 'ERR_INVALID_MESSAGE' })
    }
    for (const [out, expected] of handedOut) assert.equal(latin1(out), expected)
  })

  it('writes a line larger than its pool', () => {
    const text = 'é'.repeat(100_000)
    assert.equal(Buffer.from(new FrameEncoder().encode([{ type: 'chat', text }, PING_MESSAGE]).subarray()).toString(), `${text}\nPING\n`)
  })
})

describe('encoder', () => {
  it('yields one list per non-empty batch', async () => {
    const out: string[] = []
    for await (const list of encoder()(from<Message[]>([[PING_MESSAGE, PONG_MESSAGE], [], [{ type: 'chat', text: 'hi' }]]))) out.push(latin1(list))
    assert.deepEqual(out, ['PING\nPONG\n', 'hi\n'])
  })

  it('throws ERR_INVALID_MESSAGE for chat text with a newline', async () => {
    await assert.rejects(async () => {
      for await (const list of encoder()(from<Message[]>([[{ type: 'chat', text: 'a\nb' }]]))) assert.fail(`unexpected output ${latin1(list)}`)
    }, { code: 'ERR_INVALID_MESSAGE' })
  })
})

describe('encoder: chat built by transforms is checked too', () => {
  it('refuses chat that a receiver would read as a control line or as other text', () => {
    for (const text of ['BYTES:3', 'PING', 'a\uD800b', '   ']) {
      assert.throws(() => new FrameEncoder().encode([{ type: 'chat', text }]), { code: 'ERR_INVALID_MESSAGE' })
    }
  })
})

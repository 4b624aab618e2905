import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import { FrameDecoder, frameDecoder, parseBytesLength, type FrameDecoderOptions } from '../../transforms/frame-decoder.js'
import type { Frame } from '../../transforms/core/line-protocol.js'
import { bytes, chunked } from '../support/bytes.js'
import { from } from '../support/pipeline.js'
import type { ByteChunk } from '../../transforms/core/bytes.js'

function concat (...parts: Array<string | Uint8Array>): Uint8Array {
  return new Uint8ArrayList(...parts.map(part => typeof part === 'string' ? bytes(part) : part)).subarray()
}

/** Frames as comparable values: lines stay strings, payloads become plain byte arrays. */
function plain (frames: Frame[]): Array<string | number[]> {
  return frames.map(frame => typeof frame === 'string' ? frame : [...frame.subarray()])
}

function decodeAll (chunks: ByteChunk[], opts?: FrameDecoderOptions): Frame[] {
  const decoder = new FrameDecoder(opts)
  const frames: Frame[] = []
  for (const chunk of chunks) frames.push(...decoder.decode(chunk))
  decoder.end()
  return frames
}

/** Decodes `data` cut at every chunk size down to one byte, and checks every result is `expected`. */
function assertDecodes (data: Uint8Array, expected: Array<string | number[]>, opts?: FrameDecoderOptions): void {
  for (let size = 1; size <= data.length; size++) {
    assert.deepEqual(plain(decodeAll(chunked(data, size), opts)), expected, `chunk size ${size}`)
  }
}

describe('FrameDecoder: BYTES frames', () => {
  it('decodes lines and payloads cut at every chunk size', () => {
    const data = concat('hi\nBYTES:3\nabcPING\nBYTES:1\r\n', new Uint8Array([0]), 'bye\n')
    assertDecodes(data, ['hi', [0x61, 0x62, 0x63], 'PING', [0], 'bye'])
  })

  it('decodes BYTES:0 as an empty payload and resumes line framing', () => {
    assertDecodes(bytes('BYTES:0\nBYTES:0\nnext\nBYTES:0\n'), [[], [], 'next', []])
  })

  it('reads payloads full of newlines and header look-alikes as raw bytes', () => {
    const payloads = ['\n\n\n\n', 'BYTES:5\n', 'PING\n', 'BYTES:99999999999999999999\n', 'BYTES:-1\n\0\xff']
    const data = concat(...payloads.flatMap(payload => [`BYTES:${Buffer.byteLength(payload, 'latin1')}\n`, Buffer.from(payload, 'latin1')]), 'end\n')
    assertDecodes(data, [...payloads.map(payload => [...Buffer.from(payload, 'latin1')]), 'end'])
  })

  it('accepts leading zeros and surrounding whitespace on the header line', () => {
    assertDecodes(bytes('  BYTES:002 \r\nab'), [[0x61, 0x62]])
  })

  it('reads Uint8ArrayList chunks', () => {
    const chunk = new Uint8ArrayList(bytes('BYT'), bytes('ES:2\na'), bytes('b\n'))
    assert.deepEqual(plain(decodeAll([chunk])), [[0x61, 0x62], ''])
  })

  it('hands out a payload that arrived in one chunk as a view of that chunk', () => {
    const chunk = concat('x\nBYTES:5\nhello\n')
    const [, payload] = decodeAll([chunk])
    assert.ok(typeof payload !== 'string' && payload !== undefined)
    const view = payload.subarray()
    assert.equal(view.buffer, chunk.buffer)
    assert.equal(view.byteOffset, chunk.byteOffset + 'x\nBYTES:5\n'.length)
  })

  it('hands out a payload spread over chunks as views of those chunks, not a copy', () => {
    const chunks = [bytes('BYTES:6\nab'), bytes('cd'), bytes('ef\n')]
    const [payload] = decodeAll(chunks)
    assert.ok(typeof payload !== 'string' && payload !== undefined)
    assert.deepEqual([...payload].map(piece => piece.buffer), chunks.map(chunk => chunk.buffer))
    assert.equal(new TextDecoder().decode(payload.subarray()), 'abcdef')
  })
})

describe('FrameDecoder: BYTES lengths', () => {
  for (const [digits, reason] of [
    ['-1', 'negative'],
    ['-0', 'negative'],
    ['abc', 'not a decimal integer'],
    ['1e9', 'not a decimal integer'],
    [' 12', 'not a decimal integer'],
    ['+5', 'not a decimal integer'],
    ['0x10', 'not a decimal integer'],
    ['', 'not a decimal integer'],
    ['99999999999999999999', 'overflow']
  ] as const) {
    it(`rejects BYTES:${digits} with ERR_INVALID_LENGTH (${reason})`, () => {
      assert.throws(() => decodeAll([bytes(`BYTES:${digits}\n`)]), { code: 'ERR_INVALID_LENGTH', reason })
    })
  }

  it('accepts a payload of exactly maxBytesPerMessage', () => {
    assertDecodes(bytes('BYTES:4\nabcd'), [[0x61, 0x62, 0x63, 0x64]], { maxBytesPerMessage: 4 })
  })

  it('rejects a payload one byte over maxBytesPerMessage with ERR_MESSAGE_TOO_LARGE', () => {
    assert.throws(() => decodeAll([bytes('BYTES:5\nabcde')], { maxBytesPerMessage: 4 }), { code: 'ERR_MESSAGE_TOO_LARGE', length: 5, limit: 4 })
  })

  it('rejects a huge claimed length on its header line, before any payload arrives', () => {
    const decoder = new FrameDecoder({ maxBytesPerMessage: 16 })
    assert.throws(() => [...decoder.decode(bytes(`BYTES:${2 ** 40}\n`))], { code: 'ERR_MESSAGE_TOO_LARGE', length: 2 ** 40 })
    assert.throws(() => [...new FrameDecoder().decode(bytes(`BYTES:${2 ** 40}\n`))], { code: 'ERR_MESSAGE_TOO_LARGE' })
  })

  it('does not allocate the claimed length of an accepted header', () => {
    const claimed = 256 * 1024 * 1024
    const decoder = new FrameDecoder({ maxBytesPerMessage: claimed })
    const before = process.memoryUsage().arrayBuffers
    assert.deepEqual([...decoder.decode(bytes(`BYTES:${claimed}\nab`))], [])
    assert.ok(process.memoryUsage().arrayBuffers - before < claimed / 4)
    assert.throws(() => { decoder.end() }, { code: 'ERR_TRUNCATED_FRAME' })
  })

  it('parses lengths with parseBytesLength', () => {
    assert.equal(parseBytesLength('BYTES:0', 0), 0)
    assert.equal(parseBytesLength('BYTES:007', 7), 7)
    assert.equal(parseBytesLength('BYTES:999999999999999', Number.MAX_SAFE_INTEGER), 999999999999999)
  })

  it('defaults maxBytesPerMessage to 16 MiB', () => {
    assert.equal(new FrameDecoder().maxBytesPerMessage, 16 * 1024 * 1024)
    assert.doesNotThrow(() => decodeAll([bytes(`BYTES:${16 * 1024 * 1024}\n`), new Uint8Array(16 * 1024 * 1024)]))
    assert.throws(() => decodeAll([bytes(`BYTES:${16 * 1024 * 1024 + 1}\n`)]), { code: 'ERR_MESSAGE_TOO_LARGE' })
  })
})

describe('FrameDecoder: limits and errors', () => {
  it('applies maxLineLength to lines but not to payloads', () => {
    const payload = '\n'.repeat(100)
    // The header `BYTES:100` is 9 bytes, itself a line.
    assertDecodes(bytes(`BYTES:100\n${payload}123456789\n`), [[...bytes(payload)], '123456789'], { maxLineLength: 9 })
    assert.throws(() => decodeAll([bytes('1234567890\n')], { maxLineLength: 9 }), { code: 'ERR_LINE_TOO_LONG' })
    assert.throws(() => decodeAll([bytes('1234567890')], { maxLineLength: 9 }), { code: 'ERR_LINE_TOO_LONG' })
  })

  it('does not add up many short frames of one chunk against maxLineLength', () => {
    const data = bytes('1234567\nBYTES:8\n12345678'.repeat(50))
    assert.equal(decodeAll([data], { maxLineLength: 8, maxBytesPerMessage: 8 }).length, 100)
  })

  for (const [label, text] of [
    ['a payload', 'BYTES:10\nabc'],
    ['a payload before its first byte', 'BYTES:1\n'],
    ['a line', 'ok\nunfinished'],
    ['a header line', 'BYTES:1']
  ] as const) {
    it(`rejects a stream that ends inside ${label} with ERR_TRUNCATED_FRAME`, () => {
      for (const size of [1, 4, text.length]) {
        assert.throws(() => decodeAll(chunked(bytes(text), size)), { code: 'ERR_TRUNCATED_FRAME' })
      }
    })
  }

  it('accepts a stream that ends right after a payload', () => {
    assert.equal(decodeAll([bytes('BYTES:2\nab')]).length, 1)
  })

  it('rejects invalid UTF-8 and NUL in lines, but not in payloads', () => {
    assert.throws(() => decodeAll([new Uint8Array([0xff, 0x0a])]), { code: 'ERR_INVALID_UTF8' })
    assert.throws(() => decodeAll([bytes('a\0\n')]), { code: 'ERR_NUL_BYTE' })
    assert.equal(decodeAll([concat('BYTES:2\n', new Uint8Array([0xff, 0]))]).length, 1)
  })

  it('yields the frames completed before an offending byte of the same chunk, then throws', () => {
    const decoder = new FrameDecoder()
    const frames: Frame[] = []
    assert.throws(() => {
      for (const frame of decoder.decode(bytes('hello\nBYTES:2\nab-\nBYTES:-1\nafter\n'))) frames.push(frame)
    }, { code: 'ERR_INVALID_LENGTH' })
    assert.deepEqual(plain(frames), ['hello', [0x61, 0x62], '-'])

    const out: Frame[] = []
    assert.throws(() => { new FrameDecoder().decodeInto(bytes('a\nb\0\n'), out) }, { code: 'ERR_NUL_BYTE' })
    assert.deepEqual(out, ['a'])
  })
})

describe('frameDecoder', () => {
  it('yields one batch per chunk that completes frames', async () => {
    const batches: Array<Array<string | number[]>> = []
    for await (const batch of frameDecoder()(from([bytes('a\nBY'), bytes('TES:1'), bytes('\nx'), bytes('b\nc\n')]))) batches.push(plain(batch))
    assert.deepEqual(batches, [['a'], [[0x78]], ['b', 'c']])
  })

  it('delivers the frames before an offending byte in the same chunk, then throws', async () => {
    const batches: Array<Array<string | number[]>> = []
    await assert.rejects(async () => {
      for await (const batch of frameDecoder({ maxBytesPerMessage: 4 })(from([bytes('ok\nBYTES:1\nz'), bytes('PING\nBYTES:5\nabcde\n')]))) batches.push(plain(batch))
    }, { code: 'ERR_MESSAGE_TOO_LARGE' })
    assert.deepEqual(batches, [['ok', [0x7a]], ['PING']])
  })

  it('throws ERR_TRUNCATED_FRAME when the source ends inside a payload', async () => {
    await assert.rejects(async () => {
      for await (const batch of frameDecoder()(from([bytes('BYTES:3\nab')]))) assert.fail(`unexpected batch ${String(batch)}`)
    }, { code: 'ERR_TRUNCATED_FRAME' })
  })
})

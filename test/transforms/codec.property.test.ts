import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { ProtocolError } from '../../lib/errors.js'
import { MessageClassifier, type HandshakeRole } from '../../transforms/classifier.js'
import { FrameEncoder } from '../../transforms/encoder.js'
import { FrameDecoder } from '../../transforms/frame-decoder.js'
import {
  assertChatText, formatAddress, normalizeAddress, PING_MESSAGE, PONG_MESSAGE, REQUEST_PEERS_MESSAGE, trimAscii,
  type Frame, type Message
} from '../../transforms/core/line-protocol.js'
import type { ByteChunk } from '../../transforms/core/bytes.js'

const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1')

function isValid (check: () => unknown): boolean {
  try {
    check()
    return true
  } catch {
    return false
  }
}

/** Characters that stress trimming, separators and multi-byte UTF-8, mixed with any code point. */
const chatUnit = fc.oneof(
  fc.constantFrom(' ', '\t', '\r', '\v', '\f', ':', ',', 'P', 'I', 'N', 'G', '\ufeff', '\u00a0', 'é', '✓', '🌍'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })
)
const chatText = fc.string({ unit: chatUnit, minLength: 1, maxLength: 40 }).filter(text => isValid(() => { assertChatText(text) }))

const address = fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain()), fc.integer({ min: 1, max: 65535 }))
  .map(([host, port]) => formatAddress(host, port))
  .filter(text => isValid(() => normalizeAddress(text)))

const payload = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom('', '\n', 'BYTES:5\n', 'PING\n', 'BYTES:-1\n', '\r\n\r\n').map(bytes),
  fc.integer({ min: 0, max: 3000 }).map(length => new Uint8Array(length).fill(0x0a))
)

const message: fc.Arbitrary<Message> = fc.oneof(
  chatText.map((text): Message => ({ type: 'chat', text })),
  fc.constantFrom<Message>(PING_MESSAGE, PONG_MESSAGE, REQUEST_PEERS_MESSAGE),
  fc.array(address, { maxLength: 6 }).map((addresses): Message => ({ type: 'peers', addresses })),
  fc.tuple(payload, fc.boolean()).map(([data, asList]): Message => ({
    type: 'bytes',
    // Some payloads are given as two-piece lists, as a forwarded payload would be.
    data: asList ? new Uint8ArrayList(data.subarray(0, data.length >> 1), data.subarray(data.length >> 1)) : data
  }))
)

/** Chunk sizes, used in turn: one byte, a random pattern, or the whole input at once. */
const chunkSizes = fc.oneof(
  fc.constant<number[]>([1]),
  fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
  fc.constant<number[]>([Number.MAX_SAFE_INTEGER])
)

/** Re-cuts `data` at the given sizes; some chunks become two-piece lists, as from a socket reader. */
function rechunk (data: Uint8Array, sizes: number[], asLists: boolean): ByteChunk[] {
  const chunks: ByteChunk[] = []
  for (let i = 0, n = 0; i < data.length; n++) {
    const chunk = data.subarray(i, i + (sizes[n % sizes.length] ?? 1))
    i += chunk.length
    chunks.push(asLists && n % 2 === 1 ? new Uint8ArrayList(chunk.subarray(0, 1), chunk.subarray(1)) : chunk)
  }
  return chunks
}

/** A message as the receiver should see it, in a form deepEqual can compare. */
function expected (msg: Message): unknown {
  switch (msg.type) {
    case 'chat': return { type: 'chat', text: trimAscii(msg.text) }
    case 'peers': return { type: 'peers', addresses: msg.addresses.map(normalizeAddress) }
    case 'bytes': return { type: 'bytes', hex: Buffer.from(msg.data.subarray()).toString('hex') }
    default: return msg
  }
}

function received (msg: Message): unknown {
  return msg.type === 'bytes' ? { type: 'bytes', hex: Buffer.from(msg.data.subarray()).toString('hex') } : msg
}

describe('codec properties', () => {
  it('decodes and classifies any encoded message sequence, however it is chunked', { timeout: 30_000 }, () => {
    fc.assert(fc.property(
      fc.array(message, { maxLength: 30 }),
      fc.integer({ min: 1, max: 10 }),
      fc.option(fc.integer({ min: 0, max: 64 }), { nil: undefined }),
      chunkSizes,
      fc.boolean(),
      (messages, batchSize, copyLimit, sizes, asLists) => {
        const encoder = new FrameEncoder({ copyLimit })
        const wire = new Uint8ArrayList()
        for (let i = 0; i < messages.length; i += batchSize) wire.append(encoder.encode(messages.slice(i, i + batchSize)))

        const decoder = new FrameDecoder()
        const classifier = new MessageClassifier('none')
        const out: Message[] = []
        for (const chunk of rechunk(wire.subarray(), sizes, asLists)) {
          for (const frame of decoder.decode(chunk)) {
            const msg = classifier.classify(frame)
            if (msg !== undefined) out.push(msg)
          }
        }
        decoder.end()
        assert.deepEqual(out.map(received), messages.map(expected))
      }
    ), { numRuns: 300 })
  })

  it('fails on arbitrary input only with a ProtocolError, and always returns', { timeout: 30_000 }, () => {
    const fragment = fc.oneof(
      fc.uint8Array({ maxLength: 16 }),
      fc.constantFrom('BYTES:', 'BYTES:3\n', 'BYTES:0\n', '\n', '\r\n', ' ', 'PING\n', 'PEERS:a:1,b\n', 'id:name\n', 'LISTEN:h:1\n',
        '-1', '1e9', '99999999999999999999', '\0', '\xff', '\xc3', '\xa9').map(bytes)
    )
    fc.assert(fc.property(
      fc.array(fragment, { maxLength: 40 }),
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 0, max: 64 }),
      fc.constantFrom<HandshakeRole>('none', 'dialer', 'listener'),
      chunkSizes,
      (fragments, maxLineLength, maxBytesPerMessage, role, sizes) => {
        const data = new Uint8ArrayList(...fragments).subarray()
        const decoder = new FrameDecoder({ maxLineLength, maxBytesPerMessage })
        const classifier = new MessageClassifier(role)
        const frames: Frame[] = []
        try {
          for (const chunk of rechunk(data, sizes, false)) {
            for (const frame of decoder.decode(chunk)) {
              frames.push(frame)
              classifier.classify(frame)
            }
          }
          decoder.end()
        } catch (err) {
          assert.ok(err instanceof ProtocolError, `unexpected ${String(err)}`)
        }
        // Every frame consumes at least one input byte, so decoding makes progress and ends.
        assert.ok(frames.length <= data.length)
      }
    ), { numRuns: 1000 })
  })
})

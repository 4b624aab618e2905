import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { pipe } from 'it-pipe'
import { Uint8ArrayList } from 'uint8arraylist'
import { classifier, type HandshakeRole } from '../../transforms/classifier.js'
import { frameDecoder } from '../../transforms/frame-decoder.js'
import { messageDecoder } from '../../transforms/message-decoder.js'
import { HandshakeTooLargeError } from '../../lib/errors.js'
import type { ByteChunk } from '../../transforms/core/bytes.js'
import type { Message } from '../../transforms/core/line-protocol.js'

const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1')

async function * from (chunks: ByteChunk[]): AsyncGenerator<ByteChunk> {
  yield * chunks
}

/** Every batch a transform yields (payloads as hex, to compare), and the error it ended with. */
async function outcome (batches: AsyncIterable<Message[]>): Promise<{ batches: unknown[][], error: string | undefined }> {
  const out: unknown[][] = []
  try {
    for await (const batch of batches) out.push(batch.map(m => m.type === 'bytes' ? { bytes: Buffer.from(m.data.subarray()).toString('hex') } : m))
    return { batches: out, error: undefined }
  } catch (err) {
    return { batches: out, error: (err as Error & { code?: string }).code }
  }
}

describe('messageDecoder', () => {
  it('yields what frameDecoder then classifier yield, batch for batch and error for error, however the input is cut', { timeout: 30_000 }, async () => {
    const fragment = fc.oneof(
      fc.uint8Array({ maxLength: 16 }),
      fc.constantFrom('hello\n', 'BYTES:3\nab\n', 'BYTES:0\n', '\n', '\r\n', '   \n', 'PING\n', 'PEERS:10.0.0.1:1,bad\n', 'id:name\n',
        'LISTEN:h:1\n', 'DUPLICATE\n', 'BYTES:-1\n', 'BYTES:99999999999999999999\n', '\xc3\xa9\n').map(bytes)
    )
    await fc.assert(fc.asyncProperty(
      fc.array(fragment, { maxLength: 30 }),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }),
      fc.constantFrom<HandshakeRole>('none', 'dialer', 'listener'),
      fc.integer({ min: 8, max: 64 }),
      async (fragments, sizes, role, maxLineLength) => {
        const data = new Uint8ArrayList(...fragments).subarray()
        const chunks: Uint8Array[] = []
        for (let i = 0, n = 0; i < data.length; n++) {
          const chunk = data.subarray(i, i + (sizes[n % sizes.length] as number))
          chunks.push(chunk)
          i += chunk.length
        }
        const options = { maxLineLength, maxBytesPerMessage: 32 }
        const fused = await outcome(messageDecoder({ ...options, role })(from(chunks)))
        const apart = await outcome(pipe(from(chunks), frameDecoder(options), classifier({ role })))
        // Blank lines in the chunk that fails: the two apart pass an empty batch on before the error, the fused one
        // does not, as the stream ends there. Empty batches are compared where the stream ends well.
        const withoutEmpty = (o: typeof fused): typeof fused => o.error === undefined ? o : { ...o, batches: o.batches.filter(b => b.length > 0) }
        assert.deepEqual(withoutEmpty(fused), withoutEmpty(apart))
      }
    ), { numRuns: 1000 })
  })

  it('shows onChunk every chunk first, and refuses the chunk it throws on, after what came before', async () => {
    const seen: number[] = []
    const limit = 10
    let received = 0
    const decode = messageDecoder({
      onChunk: chunk => {
        seen.push(chunk.byteLength)
        if (received >= limit) throw new HandshakeTooLargeError(limit)
        received += chunk.byteLength
      }
    })
    const result = await outcome(decode(from([bytes('one\ntw'), bytes('o\nthr'), bytes('ee\n')])))
    assert.deepEqual(seen, [6, 5, 3])
    assert.deepEqual(result, { batches: [[{ type: 'chat', text: 'one' }], [{ type: 'chat', text: 'two' }]], error: 'ERR_HANDSHAKE_TOO_LARGE' })
  })

  it('passes an empty batch on for a chunk of blank lines, and none for a chunk that completes no frame', async () => {
    const result = await outcome(messageDecoder()(from([bytes('\n\r\n'), bytes('par'), bytes('tial\n')])))
    assert.deepEqual(result, { batches: [[], [{ type: 'chat', text: 'partial' }]], error: undefined })
  })
})

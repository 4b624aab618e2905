import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { pipe } from 'it-pipe'
import { Uint8ArrayList } from 'uint8arraylist'
import { CipherState } from '../../lib/secure/noise/index.js'
import {
  NOISE_MAX_MESSAGE, NOISE_MAX_PLAINTEXT, decryptStream, encryptStream, noiseFramer, noiseLengthDecoder, noiseLengthEncoder, sealBatch
} from '../../lib/secure/noise-framing.js'
import { collect, rechunk } from '../../harness/streams.js'

const key = randomBytes(32)

async function * from<T> (items: Iterable<T>): AsyncGenerator<T> {
  yield * items
}

/** Message lengths in a framed byte stream. */
function frameLengths (bytes: Uint8Array): number[] {
  const lengths: number[] = []
  for (let at = 0; at < bytes.length;) {
    const length = ((bytes[at] as number) << 8) | (bytes[at + 1] as number)
    lengths.push(length)
    at += 2 + length
  }
  return lengths
}

describe('noise framing', () => {
  it('writes and reads lengths as 2 bytes, big-endian', () => {
    assert.deepEqual([...noiseLengthEncoder(0x1234) as Uint8Array], [0x12, 0x34])
    assert.equal(noiseLengthEncoder.bytes, 2)
    assert.equal(noiseLengthDecoder(new Uint8ArrayList(Uint8Array.of(0xff, 0xff, 9))), NOISE_MAX_MESSAGE)
    assert.throws(() => noiseLengthDecoder(new Uint8ArrayList(Uint8Array.of(1))), RangeError)
  })

  it('seals a small batch as one message and splits a large one at 65519 plaintext bytes', () => {
    const small = sealBatch(new CipherState(key), new Uint8ArrayList(randomBytes(10), randomBytes(20))).subarray()
    assert.deepEqual(frameLengths(small), [30 + 16])
    const large = sealBatch(new CipherState(key), randomBytes(3 * NOISE_MAX_PLAINTEXT + 7)).subarray()
    assert.deepEqual(frameLengths(large), [NOISE_MAX_MESSAGE, NOISE_MAX_MESSAGE, NOISE_MAX_MESSAGE, 7 + 16])
  })

  it('round-trips random batches through any re-chunking, one byte per chunk included', async () => {
    // Byte-sized chunks cost a step each: small batches there, large ones with large chunks.
    for (const [maxChunk, maxBatch] of [[1, 300], [7, 20_000], [100_000, 150_000]] as const) {
      const batches = Array.from({ length: 20 }, () => randomBytes(Math.floor(Math.random() * maxBatch)))
      const wire = await collect(pipe(from(batches), encryptStream(new CipherState(key))))
      const plain = await collect(pipe(from(rechunk(wire, maxChunk)), noiseFramer(), decryptStream(new CipherState(key))))
      assert.deepEqual(plain, Buffer.concat(batches))
    }
  })

  it('ends with ERR_TRUNCATED_FRAME when the stream stops inside a message', async () => {
    const wire = sealBatch(new CipherState(key), randomBytes(100)).subarray()
    await assert.rejects(collect(pipe(from([wire.subarray(0, 50)]), noiseFramer(), decryptStream(new CipherState(key)))), { code: 'ERR_TRUNCATED_FRAME' })
  })

  it('delivers nothing of a tampered message and stops with ERR_INTEGRITY', async () => {
    const sender = new CipherState(key)
    const good = sealBatch(sender, Buffer.from('good')).subarray()
    const bad = Buffer.from(sealBatch(sender, Buffer.from('tampered')).subarray())
    bad[5] = (bad[5] as number) ^ 0x80
    const delivered: string[] = []
    await assert.rejects((async () => {
      for await (const plain of pipe(from([good, bad]), noiseFramer(), decryptStream(new CipherState(key)))) delivered.push(Buffer.from(plain.subarray()).toString())
    })(), { code: 'ERR_INTEGRITY' })
    assert.deepEqual(delivered, ['good'])
  })
})

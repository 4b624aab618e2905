import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { arrays, syncTransform, type SyncCore } from '../../transforms/core/sync-transform.js'

async function run<T> (transform: (source: AsyncIterable<number>) => AsyncGenerator<T>, inputs: number[]): Promise<{ out: T[], error: unknown }> {
  const out: T[] = []
  try {
    for await (const batch of transform((async function * () { yield * inputs })())) out.push(batch)
    return { out, error: undefined }
  } catch (error) {
    return { out, error }
  }
}

/** Emits each input's divisors up to 3; throws after emitting for a negative input; `end()` refuses an odd total. */
function divisors (): SyncCore<number, number[]> {
  let total = 0
  return {
    step: (n, out) => {
      total += n
      for (const d of [1, 2, 3]) if (Math.abs(n) % d === 0) out.push(d)
      if (n < 0) throw new RangeError('negative')
    },
    end: () => { if (total % 2 !== 0) throw new RangeError('odd total') }
  }
}

describe('syncTransform', () => {
  it('yields one batch per input, skipping empty ones unless asked', async () => {
    const skipping = await run(syncTransform(() => ({ step: (n: number, out: number[]) => { if (n > 0) out.push(n) } }), arrays<number>()), [1, 0, 2])
    assert.deepEqual(skipping.out, [[1], [2]])
    const all = await run(syncTransform(() => ({ step: (n: number, out: number[]) => { if (n > 0) out.push(n) } }), arrays<number>(), { emitEmpty: true }), [1, 0, 2])
    assert.deepEqual(all.out, [[1], [], [2]])
  })

  it('delivers what a failing step produced before its error, then ends with the error', async () => {
    const { out, error } = await run(syncTransform(divisors, arrays<number>()), [4, -6, 8])
    assert.deepEqual(out, [[1, 2], [1, 2, 3]])
    assert.ok(error instanceof RangeError && error.message === 'negative')
  })

  it('checks the end of input with the core, and makes a fresh core per stream', async () => {
    const transform = syncTransform(divisors, arrays<number>())
    const odd = await run(transform, [3])
    assert.ok(odd.error instanceof RangeError && odd.error.message === 'odd total')
    const even = await run(transform, [3, 1])
    assert.equal(even.error, undefined, 'the first stream\'s total is not carried over')
  })
})

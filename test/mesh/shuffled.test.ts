import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { randomSample } from '../../lib/mesh/shuffled.js'

describe('randomSample', () => {
  const even = (n: number): boolean => n % 2 === 0
  const numbers = Array.from({ length: 1000 }, (_, i) => i)

  it('gives `count` distinct items that `keep` accepts, from a long list and a short one', () => {
    for (const items of [numbers, numbers.slice(0, 20)]) {
      const sample = randomSample(items, 8, even)
      assert.equal(sample.length, 8)
      assert.equal(new Set(sample).size, 8)
      assert.ok(sample.every(even))
    }
  })

  it('gives every kept item when fewer than `count` are kept, however rare', () => {
    const rare = (n: number): boolean => n % 250 === 7
    assert.deepEqual(randomSample(numbers, 16, rare).sort((x, y) => x - y), [7, 257, 507, 757])
    assert.deepEqual(randomSample(numbers, 0, even), [])
  })

  it('picks every item about as often as any other', () => {
    const counts = new Array<number>(100).fill(0)
    const items = numbers.slice(0, 100)
    for (let round = 0; round < 2000; round++) for (const item of randomSample(items, 5, () => true)) counts[item] = (counts[item] ?? 0) + 1
    // 100 picks per item are expected; a fair sampler stays well within 50-150.
    assert.ok(Math.min(...counts) > 50 && Math.max(...counts) < 150, `picks per item from ${Math.min(...counts)} to ${Math.max(...counts)}`)
  })
})

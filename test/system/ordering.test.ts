/**
 * Ordering and loss: 1,000,000 messages (chat lines and every 100th a BYTES
 * frame) from one node to another through a proxy that cuts the stream at
 * random boundaries and delays every piece, all arriving exactly once,
 * complete and in order (scenarios/ordering.ts). It runs in its own process,
 * away from the test runner's async hooks, which would double its time.
 */
import { describe, it } from 'node:test'
import { runIsolated } from '../support/isolated.js'
import type { OrderingReport } from './scenarios/ordering.js'

describe('ordering and loss over a throttled link', () => {
  it('delivers 1,000,000 messages complete and in order through a proxy that splits and delays every chunk', async () => {
    const r = await runIsolated<OrderingReport>(new URL('./scenarios/ordering.ts', import.meta.url), 'orderedOverThrottledLink', [1_000_000], 60_000)
    console.log(`ordering: ${r.messages} messages (${r.bytesFrames} BYTES frames, ${(r.payloadBytes / 1048576).toFixed(1)} MiB of payload) ` +
      `in ${r.ms} ms through ${r.pieces} proxy pieces, all in order`)
  })
})

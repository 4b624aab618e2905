/**
 * Fuzzing a live node's pipeline with random and corrupted protocol streams
 * (support/fuzz.ts), over the in-memory transport and over TCP, with
 * process listeners for uncaught exceptions and unhandled rejections
 * installed meanwhile. A longer run: `npm run fuzz -- --runs N`.
 */
import { describe, it } from 'node:test'
import { fuzzNode } from '../../harness/fuzz.js'

/** Fixed seeds keep `npm test` deterministic; the script picks random ones. */
describe('fuzzing the protocol pipeline', () => {
  it('survives 1,000 random and corrupted streams over the in-memory transport, then still answers PING', async () => {
    const r = await fuzzNode({ runs: 1000, seed: 6 })
    console.log(`fuzz (memory): ${r.runs} streams in ${r.ms} ms, ${r.admitted} handshakes accepted, errors: ${JSON.stringify(r.codes)}`)
  })

  it('survives 100 of them over TCP, then still answers PING', async () => {
    const r = await fuzzNode({ runs: 100, seed: 7, tcp: true })
    console.log(`fuzz (tcp): ${r.runs} streams in ${r.ms} ms, ${r.admitted} handshakes accepted, errors: ${JSON.stringify(r.codes)}`)
  })

  it('survives 300 of them against a node that also speaks Noise (secure: preferred), then still answers PING', async () => {
    const r = await fuzzNode({ runs: 300, seed: 8, secure: 'preferred' })
    console.log(`fuzz (preferred): ${r.runs} streams in ${r.ms} ms, ${r.admitted} handshakes accepted, errors: ${JSON.stringify(r.codes)}`)
  })
})

/**
 * A long fuzzing run against a live node (the property of test/fuzz.test.ts,
 * harness/fuzz.ts), with a random seed unless one is given:
 *
 *   npm run fuzz -- --runs 100000 [--seed N] [--tcp] [--secure off|preferred|required]
 *
 * Prints the seed first, so that a failure can be replayed with --seed, and
 * fast-check's shrunk counterexample on failure. Exits 0 when every run passed.
 */
import { parseArgs } from 'node:util'
import { fuzzNode } from '../harness/fuzz.js'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    tcp: { type: 'boolean', default: false },
    secure: { type: 'string', default: 'off' }
  }
})
const runs = Number(values.runs)
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed)
const secure = values.secure
if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(seed) || (secure !== 'off' && secure !== 'preferred' && secure !== 'required')) {
  console.error('Usage: npm run fuzz -- --runs N [--seed N] [--tcp] [--secure off|preferred|required]')
  process.exit(2)
}
console.log(`fuzzing ${runs} streams over ${values.tcp === true ? 'TCP' : 'the in-memory transport'}, secure ${secure}, seed ${seed}`)
try {
  const report = await fuzzNode({ runs, seed, tcp: values.tcp, secure })
  console.log(`passed: ${report.runs} streams in ${(report.ms / 1000).toFixed(1)} s, ${report.admitted} handshakes accepted`)
  console.log(`errors reported by the node: ${Object.entries(report.codes).sort(([, a], [, b]) => b - a).map(([code, n]) => `${code} ${n}`).join(', ')}`)
} catch (error) {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
}

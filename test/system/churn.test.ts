/**
 * Faults and churn: a 30-node full mesh on loopback loses 10 random nodes
 * without a goodbye (5 crash: their connections are reset; 5 freeze: their
 * connections go silent), the survivors notice within peerTimeout, the 10
 * come back on the same ports (5 through their peers file, 5 also given a
 * bootstrap address), the mesh is full again, and a broadcast from every
 * node reaches every other node exactly once. The scenario is in
 * scenarios/churn.ts; it runs in its own process, away from the test
 * runner's async hooks.
 */
import { describe, it } from 'node:test'
import { runIsolated } from '../support/isolated.js'
import type { ChurnReport } from './scenarios/churn.js'

describe('churn', () => {
  it('a 30-node mesh survives 10 nodes dying without a goodbye, repairs itself, and delivers every broadcast', async () => {
    const r = await runIsolated<ChurnReport>(new URL('./scenarios/churn.ts', import.meta.url), 'churnScenario', [], 90_000)
    console.log(`churn: full mesh of ${r.size} in ${r.formation} ms; ${r.victims} killed, the last survivor noticed after ${r.noticed} ms ` +
      `(peerTimeout ${r.peerTimeout} ms, timers up to ${r.lateness} ms late); full again ${r.repaired} ms after the restart`)
  })
})

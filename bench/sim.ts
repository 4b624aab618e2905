/**
 * The overlay in a virtual-time simulation: meshline's own membership,
 * broadcast and routing cores on simulated links (bench/sim/), at sizes no
 * real-time run reaches on one machine.
 *
 *   npm run bench:sim              N = 1,000 and 10,000: bench/results/sim.json and sim.svg
 *   npm run bench:sim -- --100k    and 100,000 (20 broadcasts a phase), if the machine has the memory
 *   npm run bench:sim -- --quick   N = 200 and 1,000, for a smoke test: sim-quick.json and sim-quick.svg
 *
 * Each run is deterministic from its seed. Rows have the scale bench's shape
 * (bench/scale.ts): `results[]` with `n`, `steady`, `failures` (the 20%
 * crash), and beside them `crashResults` (20%, then 50% of the survivors)
 * and `partition` (two halves for 20 s, then healed).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { childScript, scenarioArgument } from './in-child.js'
import { printTable } from './scale-shape.js'
import { simChart, stopped, type Row } from './sim/chart.js'
import { runSimulation, type LatencyName, type SimScenario } from './sim/scenario.js'

const RESULTS = new URL('./results/', import.meta.url)
/**
 * Over the WAN model a broadcast takes 1-2 s to reach the last node, and a
 * node that waits the default 500 ms on an IHAVE pulls a payload that was
 * still on its way through the tree: 1.2 payloads per node and receiver
 * instead of 1.03 at N=1,000. A WAN deployment raises `graftTimeout` past
 * the tree's spread, as these rows do.
 */
const WAN_OVERLAY = { graftTimeout: 1_500 }
/** Real time one simulation may take: 100,000 nodes take about ten times what 10,000 take. */
const BUDGET_MS = 20 * 60_000
const BUDGET_100K_MS = 120 * 60_000


function row (r: Row): Record<string, string | number> {
  const f = (x: number | undefined, digits = 2): string => x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits)
  if (stopped(r)) return { N: r.n, latency: r.latency, ok: `NO: ${r.stoppedBy}` }
  const [crash20, crash50] = r.crashResults
  return {
    N: r.n,
    latency: r.latency,
    ok: r.ok ? 'yes' : 'NO',
    'join s': f(r.joinMs / 1000, 1),
    delivery: f(r.steady.deliveryRatio, 4),
    RMR: f(r.steady.relativeMessageRedundancy, 3),
    'hops p50/p99': `${r.steady.hopsToLastP50}/${r.steady.hopsToLastP99}`,
    'ms p50/p99': `${f(r.steady.msToLastP50, 0)}/${f(r.steady.msToLastP99, 0)}`,
    '20% crash: delivery, hops p50': crash20 === undefined ? '-' : `${f(crash20.deliveryRatio, 4)}, ${crash20.hopsToLastP50}`,
    '50% crash: delivery, hops p50': crash50 === undefined ? '-' : `${f(crash50.deliveryRatio, 4)}, ${crash50.hopsToLastP50}`,
    'partition: within, merged ms, after': r.partition === undefined ? '-' : `${f(r.partition.deliveryWithinSide, 4)}, ${r.partition.mergeMs}, ${f(r.partition.after.deliveryRatio, 4)}`,
    'wall s': f(r.wallMs / 1000, 0),
    'heap MiB': r.heapMiB
  }
}

async function main (): Promise<void> {
  const quick = process.argv.includes('--quick')
  const plan: Array<{ n: number, latency: LatencyName, broadcasts: number }> = quick
    ? [{ n: 200, latency: 'lan', broadcasts: 30 }, { n: 1000, latency: 'lan', broadcasts: 30 }]
    : [
        { n: 1000, latency: 'lan', broadcasts: 100 },
        { n: 1000, latency: 'wan', broadcasts: 100 },
        { n: 10_000, latency: 'lan', broadcasts: 100 },
        { n: 10_000, latency: 'wan', broadcasts: 100 },
        ...process.argv.includes('--100k') ? [{ n: 100_000, latency: 'lan' as const, broadcasts: 20 }] : []
      ]
  const results: Row[] = []
  // Half of the machine's memory: 100,000 simulated nodes take a few GiB.
  const heapMiB = Math.floor(totalmem() / 2 / 2 ** 20)
  const child = await childScript(fileURLToPath(import.meta.url))
  for (const { n, latency, broadcasts } of plan) {
    const scenario: SimScenario = { n, seed: n, latency, loss: latency === 'wan' ? 0.01 : 0, broadcasts, gapMs: 50, crashes: [0.2, 0.5], partitionMs: 20_000, overlay: latency === 'wan' ? WAN_OVERLAY : {} }
    console.error(`sim N=${n} ${latency} ...`)
    const result = await child.run<SimScenario, Row>(scenario, n >= 100_000 ? BUDGET_100K_MS : BUDGET_MS, heapMiB, why => ({ ...scenario, ok: false, stoppedBy: why }))
    results.push(result)
    console.error(`  ${result.ok ? 'ok' : `not ok${stopped(result) ? `: ${result.stoppedBy}` : ''}`}`)
  }
  child.remove()
  console.log(`\noverlay simulation${quick ? ' [quick]' : ''}: virtual time, ${cpus().length} cores`)
  printTable(results.map(row))
  mkdirSync(RESULTS, { recursive: true })
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version }
  const name = quick ? 'sim-quick' : 'sim'
  writeFileSync(new URL(`${name}.json`, RESULTS), JSON.stringify({ date: new Date().toISOString(), quick, machine, results }, null, 2) + '\n')
  writeFileSync(new URL(`${name}.svg`, RESULTS), simChart(results))
  console.log(`\nwrote bench/results/${name}.json and bench/results/${name}.svg`)
}

const scenario = scenarioArgument<SimScenario>()
if (scenario !== undefined) console.log(JSON.stringify(runSimulation(scenario)))
else await main()

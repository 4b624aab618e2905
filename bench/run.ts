/**
 * Runs meshline's benchmarks and prints one table per suite; every row holds
 * meshline beside its baseline, measured in the same run, and their ratio
 * (above 1: meshline is faster).
 *
 *   npm run bench              full runs: bench/results/latest.json and latest.svg
 *   npm run bench -- --quick   short runs, for a smoke test: quick.json and quick.svg
 *
 * A quick run writes files of its own, so that it never replaces the results
 * of the last full run, which the README quotes.
 *
 * A suite is a function from options to rows of one shape; add it to
 * `suites` and its rows are printed with their own columns and saved.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { renderChart, type BarGroup } from './chart.js'
import { runCodecBench } from './codec.js'
import { runFanOut } from './fan-out.js'
import { runLatency } from './latency.js'
import { runPointToPoint } from './point-to-point.js'
import { runSecureBench } from './secure.js'
import { runSlowConsumer } from './slow-consumer.js'
import { runStreamsBench } from './streams.js'
import { runBatchBench } from './batch.js'
import { runWebSocketBench } from './websocket.js'
import { runTrustBench } from './trust.js'

interface BenchOptions {
  quick: boolean
}

type Row = Record<string, string | number>

const POINT_TO_POINT = 'point to point over TCP (meshline vs raw net.Socket, one write() per message)'
const FAN_OUT = 'broadcast fan-out over TCP (meshline vs a raw net.Socket fan-out, one write() per message per socket)'
const SECURE = 'secure links (meshline over Noise vs plaintext meshline, point to point over TCP)'

const suites: Array<{ name: string, run: (opts: BenchOptions) => Promise<Row[]> }> = [
  { name: 'codec (meshline vs it-length-prefixed, in memory)', run: runCodecBench },
  { name: POINT_TO_POINT, run: runPointToPoint },
  { name: FAN_OUT, run: runFanOut },
  { name: 'slow consumer (fast peers beside the same broadcast without the slow peer)', run: runSlowConsumer },
  { name: 'latency over TCP (meshline vs a raw net.Socket echo; ratio of round trips per second at the median RTT)', run: runLatency },
  { name: SECURE, run: runSecureBench },
  { name: 'protocol streams', run: runStreamsBench },
  { name: 'batch', run: runBatchBench },
  { name: 'websocket (meshline over WebSocket vs over TCP, point to point)', run: runWebSocketBench },
  { name: 'overlay trust', run: runTrustBench }
]

function format (value: string | number): string {
  if (typeof value === 'string') return value
  // Rates to the unit; small fractions such as ratios to two decimals.
  if (Number.isInteger(value) || Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US')
  return value.toFixed(2)
}

function printTable (rows: Row[]): void {
  // Every column any row has, in order of appearance: rows of one suite may differ in their last columns.
  const columns = [...new Set(rows.flatMap(row => Object.keys(row)))]
  const numeric = columns.map(column => rows.some(row => typeof row[column] === 'number'))
  const cells = [columns, ...rows.map(row => columns.map(column => format(row[column] ?? '')))]
  const widths = columns.map((_, i) => Math.max(...cells.map(line => line[i]?.length ?? 0)))
  for (const line of cells) {
    // Text left-aligned, numbers right-aligned.
    console.log(line.map((cell, i) => numeric[i] === true ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)).join('  '))
  }
}

function bars (rows: Row[], label: (row: Row) => string): BarGroup[] {
  return rows.map(row => ({ label: label(row), meshline: row.mbPerSec as number, baseline: row.baselineMbPerSec as number, ratio: row.ratio as number }))
}

const opts: BenchOptions = { quick: process.argv.includes('--quick') }
const machine = {
  node: process.version,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.availableParallelism(),
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  /** 1, 5 and 15 minute load averages at the start: other work on the machine skews every number. */
  loadAverage: os.loadavg().map(load => Math.round(load * 100) / 100)
}
const date = new Date().toISOString()
console.log(`meshline benchmarks${opts.quick ? ' [quick]' : ''}, ${date}`)
console.log(`Node ${machine.node}, ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}, load average ${machine.loadAverage.join(' ')}`)

const results: Array<{ suite: string } & Row> = []
for (const suite of suites) {
  console.log(`\n${suite.name}${opts.quick ? ' [quick]' : ''}`)
  const start = performance.now()
  const rows = await suite.run(opts)
  printTable(rows)
  console.log(`(${((performance.now() - start) / 1000).toFixed(1)} s)`)
  for (const row of rows) results.push({ suite: suite.name, ...row })
}

const bySuite = (name: string): Row[] => results.filter(row => row.suite === name)
const chart = renderChart({
  subtitle: `${opts.quick ? 'quick run, ' : ''}${date.slice(0, 10)}: Node ${machine.node}, ${machine.cpu}, ${machine.cores} cores, ${machine.platform}`,
  throughput: bars(bySuite(POINT_TO_POINT), row => row.name as string),
  fanOut: bars(bySuite(FAN_OUT), row => `${row.peers as number} peers`),
  // The throughput rows only: the handshake rows have no MB/s.
  secure: bars(bySuite(SECURE).filter(row => row.mbPerSec as number > 0), row => (row.name as string).replace(/ over Noise$/, ''))
})
const directory = new URL('./results/', import.meta.url)
const base = opts.quick ? 'quick' : 'latest'
await mkdir(directory, { recursive: true })
await writeFile(new URL(`${base}.json`, directory), `${JSON.stringify({ date, quick: opts.quick, machine, rows: results }, null, 2)}\n`)
await writeFile(new URL(`${base}.svg`, directory), chart)
console.log(`\nWrote bench/results/${base}.json and bench/results/${base}.svg`)

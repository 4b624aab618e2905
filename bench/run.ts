/**
 * Runs meshline's benchmarks and prints one table per suite.
 *
 *   npm run bench              full runs
 *   npm run bench -- --quick   short runs, for a smoke test
 *
 * A suite is a function from options to rows of one shape; add it to
 * `suites` and its rows are printed with their own columns.
 */
import { runCodecBench } from './codec.js'
import { runFanOut } from './fan-out.js'
import { runLatency } from './latency.js'
import { runPointToPoint } from './point-to-point.js'
import { runSecureBench } from './secure.js'
import { runSlowConsumer } from './slow-consumer.js'

interface BenchOptions {
  quick: boolean
}

type Row = Record<string, string | number>

const suites: Array<{ name: string, run: (opts: BenchOptions) => Promise<Row[]> }> = [
  { name: 'codec (meshline vs it-length-prefixed, in memory)', run: async opts => await runCodecBench(opts) as unknown as Row[] },
  { name: 'point to point over TCP (meshline vs raw net.Socket, one write() per message)', run: runPointToPoint },
  { name: 'broadcast fan-out over TCP (meshline vs a raw net.Socket fan-out, one write() per message per socket)', run: runFanOut },
  { name: 'slow consumer (fast peers beside the same broadcast without the slow peer)', run: runSlowConsumer },
  { name: 'latency over TCP (meshline vs a raw net.Socket echo; ratio of round trips per second at the median RTT)', run: runLatency },
  { name: 'secure links (Noise beside plaintext, point to point over TCP)', run: async opts => await runSecureBench(opts) as unknown as Row[] }
]

function format (value: string | number): string {
  if (typeof value === 'string') return value
  // Rates to the unit; small fractions such as ratios to two decimals.
  if (Number.isInteger(value) || Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US')
  return value.toFixed(2)
}

function printTable (rows: Row[]): void {
  const first = rows[0]
  if (first === undefined) return
  const columns = Object.keys(first)
  const cells = [columns, ...rows.map(row => columns.map(column => format(row[column] ?? '')))]
  const widths = columns.map((_, i) => Math.max(...cells.map(line => line[i]?.length ?? 0)))
  for (const line of cells) {
    // Text left-aligned, numbers right-aligned.
    console.log(line.map((cell, i) => typeof first[columns[i] ?? ''] === 'number' ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)).join('  '))
  }
}

const opts: BenchOptions = { quick: process.argv.includes('--quick') }
for (const suite of suites) {
  console.log(`\n${suite.name}${opts.quick ? ' [quick]' : ''}`)
  printTable(await suite.run(opts))
}

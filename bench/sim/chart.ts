/**
 * The simulator's chart: hops, payload sends and time to the last node by
 * N, for each phase, over LAN and WAN links.
 */
import { lineChart, type Panel, type Series } from '../line-chart.js'
import type { PhaseResult } from '../scale-shape.js'
import type { LatencyName, SimResult, SimScenario } from './scenario.js'

/** A simulation's result, or why it gave none. */
export type Row = SimResult | (SimScenario & { ok: false, stoppedBy: string })

export const stopped = (r: Row): r is SimScenario & { ok: false, stoppedBy: string } => 'stoppedBy' in r

const LATENCIES: readonly LatencyName[] = ['lan', 'wan']

export function simChart (results: Row[]): string {
  const ok = results.filter((r): r is SimResult => !stopped(r))
  const colors: Record<LatencyName, string> = { lan: '#1f77b4', wan: '#2ca02c' }
  const phases: Array<{ label: string, dash: string, phase: (r: SimResult) => PhaseResult | undefined }> = [
    { label: 'steady', dash: '', phase: r => r.steady },
    { label: '20% crashed', dash: '6 4', phase: r => r.crashResults[0] },
    { label: 'then 50% crashed', dash: '2 3', phase: r => r.crashResults[1] },
    { label: 'partition healed', dash: '10 3 2 3', phase: r => r.partition?.after }
  ]
  const series = (latency: LatencyName, label: string, dash: string): Series => ({ label: `${latency}, ${label}`, color: colors[latency], dash })
  const lines = (value: (phase: PhaseResult) => number): Panel['lines'] => LATENCIES.flatMap(latency => phases.map(({ label, dash, phase }) => ({
    series: series(latency, label, dash),
    points: ok.filter(r => r.latency === latency).map(r => {
      const result = phase(r)
      return [r.n, result === undefined ? undefined : value(result)] as [number, number | undefined]
    })
  })))
  const panels: Panel[] = [
    { title: 'hops to the last node (p50)', lines: lines(p => p.hopsToLastP50) },
    { title: 'payload sends per broadcast / (N-1)', lines: lines(p => p.payloadPerBroadcastRatio) },
    { title: 'time to the last node, ms (p50)', lines: lines(p => p.msToLastP50) }
  ]
  const notes = results.filter(stopped).map(r => `stopped: N=${r.n} ${r.latency}: ${r.stoppedBy}`)
  return lineChart(panels, LATENCIES.flatMap(latency => phases.map(({ label, dash }) => series(latency, label, dash))), notes)
}

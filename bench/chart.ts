/**
 * The benchmark chart, written as SVG by hand (no chart dependency): grouped
 * bars of meshline beside its baseline, one panel for point-to-point
 * throughput by payload size (log scale: chat lines and 1 MiB payloads are
 * three orders of magnitude apart), one for broadcast fan-out by peer
 * count, and one for secure links by payload size, Noise beside plaintext.
 */

/** One group of bars: meshline and its baseline, with the ratio beneath. */
export interface BarGroup {
  label: string
  meshline: number
  baseline: number
  ratio: number
}

export interface ChartInput {
  /** A line under the title: the machine and the date. */
  subtitle: string
  throughput: BarGroup[]
  fanOut: BarGroup[]
  /** meshline over Noise, beside plaintext meshline. */
  secure: BarGroup[]
}

/** What the two bars of a panel are. */
interface Legend {
  meshline: string
  baseline: string
}

const RAW_LEGEND: Legend = { meshline: 'meshline', baseline: 'baseline: raw net.Socket, one write() per message' }
const SECURE_LEGEND: Legend = { meshline: 'meshline over Noise (ChaCha20-Poly1305)', baseline: 'baseline: meshline, plaintext' }

const WIDTH = 860
const PANEL_HEIGHT = 290
const MARGIN = { left: 80, right: 20, top: 64, bottom: 62 }
const COLORS = { meshline: '#2b6cb0', baseline: '#a0aec0', text: '#1a202c', grid: '#e2e8f0' }
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"'

function escape (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function formatValue (value: number): string {
  return value >= 100 || Number.isInteger(value) ? Math.round(value).toLocaleString('en-US') : value.toPrecision(3)
}

function text (x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escape(content)}</text>`
}

/** Maps a value to a height from the panel's floor, and lists the grid lines. */
interface Scale {
  height: (value: number) => number
  ticks: number[]
}

function logScale (max: number, plotHeight: number): Scale {
  const top = 10 ** Math.ceil(Math.log10(Math.max(max, 10)))
  const decades = Math.log10(top)
  const ticks = Array.from({ length: decades + 1 }, (_, i) => 10 ** i)
  return { height: v => v <= 1 ? 0 : plotHeight * Math.log10(v) / decades, ticks }
}

function linearScale (max: number, plotHeight: number): Scale {
  const step = 10 ** Math.floor(Math.log10(Math.max(max, 1)))
  const niceStep = max / step > 5 ? step : max / step > 2 ? step / 2 : step / 5
  const top = Math.ceil(max / niceStep) * niceStep
  const ticks = Array.from({ length: Math.round(top / niceStep) + 1 }, (_, i) => i * niceStep)
  return { height: v => plotHeight * v / top, ticks }
}

function panel (title: string, labels: Legend, groups: BarGroup[], top: number, log: boolean): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom
  const floor = top + MARGIN.top + plotHeight
  const max = Math.max(...groups.flatMap(g => [g.meshline, g.baseline]))
  const scale = log ? logScale(max, plotHeight) : linearScale(max, plotHeight)
  const parts: string[] = [text(MARGIN.left, top + 24, title, `font-size="15" font-weight="600" fill="${COLORS.text}"`), legend(labels, top + 44)]
  for (const tick of scale.ticks) {
    const y = floor - scale.height(tick)
    parts.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="${COLORS.grid}"/>`)
    parts.push(text(MARGIN.left - 8, y + 4, formatValue(tick), `font-size="11" text-anchor="end" fill="${COLORS.text}"`))
  }
  parts.push(text(18, floor - plotHeight / 2, 'MB/s', `font-size="12" fill="${COLORS.text}" transform="rotate(-90 18 ${(floor - plotHeight / 2).toFixed(1)})" text-anchor="middle"`))
  const slot = plotWidth / groups.length
  const bar = Math.min(56, slot / 3)
  groups.forEach((group, i) => {
    const center = MARGIN.left + slot * (i + 0.5)
    for (const [side, value, x] of [['meshline', group.meshline, center - bar - 2], ['baseline', group.baseline, center + 2]] as const) {
      const h = scale.height(value)
      parts.push(`<rect x="${x.toFixed(1)}" y="${(floor - h).toFixed(1)}" width="${bar.toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[side]}"><title>${escape(`${side}: ${formatValue(value)} MB/s`)}</title></rect>`)
      parts.push(text(x + bar / 2, floor - h - 5, formatValue(value), `font-size="11" text-anchor="middle" fill="${COLORS.text}"`))
    }
    parts.push(text(center, floor + 18, group.label, `font-size="12" text-anchor="middle" fill="${COLORS.text}"`))
    parts.push(text(center, floor + 36, `${group.ratio.toFixed(2)}x`, `font-size="12" font-weight="600" text-anchor="middle" fill="${COLORS.meshline}"`))
  })
  return parts.join('\n')
}

function legend (labels: Legend, y: number): string {
  const items = [[labels.meshline, COLORS.meshline], [labels.baseline, COLORS.baseline]]
  let x = MARGIN.left
  return items.map(([label, color]) => {
    const item = `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${color}"/>` + text(x + 18, y, label as string, `font-size="12" fill="${COLORS.text}"`)
    x += 18 + (label as string).length * 6.6 + 24
    return item
  }).join('\n')
}

/** The whole chart as an SVG document. */
export function renderChart (input: ChartInput): string {
  const header = 50
  const height = header + 3 * PANEL_HEIGHT + 10
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(MARGIN.left, 24, 'meshline over TCP on 127.0.0.1 beside its baselines (ratio: meshline / baseline)', `font-size="16" font-weight="700" fill="${COLORS.text}"`),
    text(MARGIN.left, 42, input.subtitle, `font-size="12" fill="${COLORS.text}"`),
    panel('Point to point: delivered payload throughput by payload size (log scale)', RAW_LEGEND, input.throughput, header, true),
    panel('Broadcast fan-out of 64 KiB payloads: aggregate delivered throughput by peer count', RAW_LEGEND, input.fanOut, header + PANEL_HEIGHT, false),
    panel('Secure links, point to point: delivered payload throughput by payload size (log scale)', SECURE_LEGEND, input.secure, header + 2 * PANEL_HEIGHT, true),
    '</svg>',
    ''
  ].join('\n')
}

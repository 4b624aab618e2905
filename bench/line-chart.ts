/**
 * Panels of lines over N (log scales both ways), drawn by hand as SVG: the
 * scale bench's and the overlay simulator's charts.
 */

export interface Series {
  label: string
  color: string
  /** SVG dash pattern; '' draws a solid line. */
  dash: string
}

export interface Panel {
  title: string
  /** Each series with its points, as [N, value]; values at or below 0 are left out. */
  lines: Array<{ series: Series, points: Array<[number, number | undefined]> }>
}

const W = 380
const H = 260
const M = { left: 56, right: 28, top: 34, bottom: 40 }

export function lineChart (panels: Panel[], legend: Series[], notes: string[]): string {
  const ns = panels.flatMap(panel => panel.lines.flatMap(line => line.points.map(([n]) => n)))
  // Half a decade of room either side of the sizes measured.
  const [minN, maxN] = [Math.min(...ns) / 3, Math.max(...ns) * 3]
  const log = (v: number): number => Math.log10(Math.max(v, 1e-9))
  const x = (n: number): number => M.left + (log(n) - log(minN)) / (log(maxN) - log(minN) || 1) * (W - M.left - M.right)
  const parts: string[] = []
  panels.forEach((panel, p) => {
    const lines = panel.lines.map(({ series, points }) => ({ series, points: points.filter((point): point is [number, number] => point[1] !== undefined && point[1] > 0).sort((a, b) => a[0] - b[0]) }))
    const values = lines.flatMap(line => line.points.map(([, v]) => v))
    const [lo, hi] = [Math.min(...values, 1), Math.max(...values, 10)]
    const y = (v: number): number => H - M.bottom - (log(v) - log(lo)) / (log(hi) - log(lo) || 1) * (H - M.top - M.bottom)
    parts.push(`<g transform="translate(${p * W},0)">`)
    parts.push(`<text x="${(W + M.left) / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(panel.title)}</text>`)
    parts.push(`<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="#333"/>`)
    parts.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="#333"/>`)
    for (let e = Math.floor(log(lo)); e <= Math.ceil(log(hi)); e++) {
      const v = 10 ** e
      if (v < lo / 1.01 || v > hi * 1.01) continue
      parts.push(`<line x1="${M.left - 4}" y1="${y(v)}" x2="${W - M.right}" y2="${y(v)}" stroke="#ddd"/><text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v.toLocaleString('en-US')}</text>`)
    }
    for (const n of [...new Set(ns)].sort((a, b) => a - b)) {
      parts.push(`<line x1="${x(n)}" y1="${H - M.bottom}" x2="${x(n)}" y2="${H - M.bottom + 4}" stroke="#333"/><text x="${x(n)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${n.toLocaleString('en-US')}</text>`)
    }
    parts.push(`<text x="${(W + M.left) / 2}" y="${H - 6}" text-anchor="middle" font-size="11">N (nodes, log scale)</text>`)
    for (const { series, points } of lines) {
      if (points.length === 0) continue
      const scaled = points.map(([n, v]) => [x(n), y(v)] as const)
      parts.push(`<polyline fill="none" stroke="${series.color}" stroke-width="2" stroke-dasharray="${series.dash}" points="${scaled.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')}"/>`)
      for (const [px, py] of scaled) parts.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3" fill="${series.color}"/>`)
    }
    parts.push('</g>')
  })
  const legendY = H + 14
  legend.forEach((series, i) => {
    const lx = 40 + (i % 5) * 215
    const ly = legendY + Math.floor(i / 5) * 18
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 30}" y2="${ly}" stroke="${series.color}" stroke-width="2" stroke-dasharray="${series.dash}"/><text x="${lx + 36}" y="${ly + 4}" font-size="12">${escapeXml(series.label)}</text>`)
  })
  const notesY = legendY + Math.ceil(legend.length / 5) * 18 + 8
  notes.forEach((line, i) => { parts.push(`<text x="60" y="${notesY + i * 15}" font-size="11" fill="#d62728">${escapeXml(line)}</text>`) })
  const width = panels.length * W
  const height = notesY + notes.length * 15
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`
}

function escapeXml (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

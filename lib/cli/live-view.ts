/**
 * The live view `--metrics-port` serves at `/`: one self-contained page (no
 * framework, no outside file) that reads `/metrics.json` every second and
 * shows the node's peers, each link's throughput and the bytes queued on it, what the node sent
 * and received since the last reading, and, in the overlay, its neighbours
 * and tree links drawn around it.
 */

export const LIVE_VIEW_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>meshline node</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2430; background: #fbfbfc; }
  h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
  h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
  p.sub { margin: 0; color: #566; }
  table { border-collapse: collapse; min-width: 28rem; }
  th, td { text-align: left; padding: .25rem .75rem .25rem 0; border-bottom: 1px solid #dde; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .rates { display: flex; gap: 1.5rem; flex-wrap: wrap; }
  .rates div { background: #fff; border: 1px solid #dde; border-radius: 6px; padding: .5rem .75rem; }
  .rates strong { display: block; font-size: 1.2rem; }
  svg text { font: 11px system-ui, sans-serif; fill: #1d2430; }
  .eager { stroke: #1a7f37; stroke-width: 2.5; }
  .lazy { stroke: #8c959f; stroke-width: 1.5; stroke-dasharray: 4 3; }
  .status { color: #a40e26; }
</style>
</head>
<body>
<h1 id="title">meshline node</h1>
<p class="sub" id="subtitle" aria-live="polite">connecting…</p>
<h2>Traffic, per second</h2>
<div class="rates" id="rates"></div>
<h2>Peers</h2>
<table aria-describedby="peers-caption">
  <caption id="peers-caption" hidden>Connected peers, each link's throughput and the bytes queued for it</caption>
  <thead><tr><th scope="col">peer</th><th scope="col">address</th><th scope="col">link</th><th scope="col">dialled by</th><th scope="col">bytes/s out</th><th scope="col">bytes/s in</th><th scope="col">queued bytes</th></tr></thead>
  <tbody id="peers"></tbody>
</table>
<section id="overlay" hidden>
  <h2>Overlay neighbours</h2>
  <p class="sub">Solid: tree links (broadcast payloads); dashed: lazy links (ids only).</p>
  <svg id="graph" width="420" height="420" viewBox="-210 -210 420 420" role="img" aria-label="This node and its overlay neighbours"></svg>
</section>
<script>
const $ = id => document.getElementById(id)
let last
function cell (text, numeric) {
  const td = document.createElement('td')
  td.textContent = text
  if (numeric) td.className = 'num'
  return td
}
function rate (now, before, seconds) { return before === undefined ? 0 : Math.max(0, (now - before) / seconds) }
function render (data, seconds) {
  const { node, metrics, peers } = data
  $('title').textContent = 'meshline node ' + node.name
  $('subtitle').textContent = node.id + ' at ' + node.address + ' · ' + metrics.peers.total + ' peer(s) · updated ' + new Date().toLocaleTimeString()
  const prev = last?.metrics
  const rates = [
    ['chat sent', metrics.sent.messages.chat, prev?.sent.messages.chat],
    ['chat received', metrics.received.messages.chat, prev?.received.messages.chat],
    ['payload bytes sent', metrics.sent.payloadBytes, prev?.sent.payloadBytes],
    ['payload bytes received', metrics.received.payloadBytes, prev?.received.payloadBytes]
  ]
  $('rates').replaceChildren(...rates.map(([label, now, before]) => {
    const box = document.createElement('div')
    const value = document.createElement('strong')
    value.textContent = Math.round(rate(now, before, seconds)).toLocaleString()
    box.append(value, label)
    return box
  }))
  const links = new Map(metrics.links.map(link => [link.peer, link]))
  const before = new Map((prev?.links ?? []).map(link => [link.peer, link]))
  const throughput = (id, key) => Math.round(rate(links.get(id)?.[key] ?? 0, before.get(id)?.[key], seconds)).toLocaleString()
  $('peers').replaceChildren(...peers.map(peer => {
    const row = document.createElement('tr')
    row.append(cell(peer.name + (peer.name === peer.id ? '' : ' (' + peer.id.slice(0, 8) + ')')), cell(peer.address ?? peer.remoteAddress),
      cell(peer.security + (peer.cipher ? ' ' + peer.cipher : '')), cell(peer.direction === 'outbound' ? 'this node' : 'the peer'),
      cell(throughput(peer.id, 'bytesSent'), true), cell(throughput(peer.id, 'bytesReceived'), true), cell((links.get(peer.id)?.queuedBytes ?? 0).toLocaleString(), true))
    return row
  }))
  const overlay = metrics.overlay
  $('overlay').hidden = overlay === undefined || overlay === null
  if (overlay) drawOverlay(overlay, new Map(peers.map(peer => [peer.id, peer.name])))
}
function drawOverlay (overlay, names) {
  const svg = $('graph')
  const ns = 'http://www.w3.org/2000/svg'
  const element = (tag, attributes) => { const e = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, v); return e }
  const parts = [element('circle', { r: 14, fill: '#0969da' })]
  overlay.active.forEach((id, i) => {
    const angle = 2 * Math.PI * i / overlay.active.length
    const x = Math.round(150 * Math.cos(angle)), y = Math.round(150 * Math.sin(angle))
    const kind = overlay.eager.includes(id) ? 'eager' : 'lazy'
    parts.push(element('line', { x1: 0, y1: 0, x2: x, y2: y, class: kind }))
    parts.push(element('circle', { cx: x, cy: y, r: 10, fill: '#fff', stroke: '#1d2430' }))
    const label = element('text', { x, y: y + 24, 'text-anchor': 'middle' })
    label.textContent = names.get(id) ?? id.slice(0, 8)
    parts.push(label)
  })
  svg.replaceChildren(...parts)
}
async function poll () {
  try {
    const response = await fetch('metrics.json', { cache: 'no-store' })
    const data = await response.json()
    const seconds = last === undefined ? 1 : (Date.now() - last.at) / 1000
    render(data, seconds)
    last = { ...data, at: Date.now() }
  } catch (error) {
    $('subtitle').textContent = 'the node does not answer: ' + error.message
    $('subtitle').className = 'sub status'
  }
}
poll()
setInterval(poll, 1000)
</script>
</body>
</html>
`

/**
 * Metrics follow real traffic: `metrics()` counts what two nodes exchange
 * over TCP on loopback, and the Prometheus text (in a registry of the test's,
 * and at `GET /metrics` as `--metrics-port` serves it) says the same.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { MeshNode, type MeshNodeOptions } from '../../lib/index.js'
import { prometheusMetrics } from '../../lib/metrics/index.js'
import { serveMetrics } from '../../lib/cli/metrics-server.js'
import { memoryNetwork } from '../../lib/transport/index.js'
import { waitFor } from '../../harness/async.js'

const running = new Set<MeshNode>()
after(async () => { await Promise.all([...running].map(async node => { await node.stop() })) })

async function started (options: MeshNodeOptions = {}): Promise<MeshNode> {
  const node = new MeshNode({ host: '127.0.0.1', ...options })
  running.add(node)
  await node.start()
  return node
}

/** Prometheus text as series: `name{labels}` to value; throws on a line that is neither a comment nor a sample. */
function parsePrometheus (text: string): Map<string, number> {
  const series = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line)
    assert.ok(sample !== null, `not a Prometheus sample: ${JSON.stringify(line)}`)
    series.set(sample[1] as string, Number(sample[2]))
  }
  return series
}

describe('metrics', () => {
  it('count the chat lines and payloads two nodes exchange over TCP, by kind, and their peers', async () => {
    const a = await started()
    const b = await started()
    await a.connect(b.address)
    const before = { sent: a.metrics().sent, received: b.metrics().received }
    let delivered = 0
    b.on('chat', () => { delivered++ })
    b.on('bytes', () => { delivered++ })
    for (let i = 0; i < 50; i++) await a.send(b.id, `line ${i}`)
    for (let i = 0; i < 7; i++) await a.sendBytes(b.id, new Uint8Array(1000))
    await waitFor(() => delivered === 57, 'every message at b')
    const [sent, received] = [a.metrics().sent, b.metrics().received]
    assert.equal(sent.messages.chat - before.sent.messages.chat, 50)
    assert.equal(sent.messages.bytes - before.sent.messages.bytes, 7)
    assert.equal(sent.payloadBytes - before.sent.payloadBytes, 7000)
    assert.equal(received.messages.chat - before.received.messages.chat, 50)
    assert.equal(received.messages.bytes - before.received.messages.bytes, 7)
    assert.equal(received.payloadBytes - before.received.payloadBytes, 7000)
    assert.ok(a.metrics().sent.messages.control > 0, 'the handshake lines and heartbeats are control traffic')
    assert.deepEqual(a.metrics().peers, { total: 1, noise: 0, plaintext: 1, inbound: 0, outbound: 1 })
    assert.deepEqual(b.metrics().peers, { total: 1, noise: 0, plaintext: 1, inbound: 1, outbound: 0 })
    assert.equal(a.metrics().overlay, undefined)
  })

  it('time each new peer\'s handshake, count each link\'s bytes both ways, and the hops of overlay deliveries', async () => {
    const a = await started({ secure: 'required' })
    const b = await started({ secure: 'required' })
    await a.connect(b.address)
    for (const node of [a, b]) {
      const { handshakeSeconds } = node.metrics()
      assert.equal(handshakeSeconds.count, 1)
      assert.ok(handshakeSeconds.sum > 0 && handshakeSeconds.sum < 5, `handshake took ${handshakeSeconds.sum} s`)
      assert.deepEqual(handshakeSeconds.buckets.map(({ count }) => count).at(-1), 1)
      assert.ok(handshakeSeconds.buckets.every(({ count }, i, all) => i === 0 || count >= (all[i - 1]?.count ?? 0)), 'cumulative buckets')
    }
    const link = (node: MeshNode, peer: MeshNode): { bytesSent: number, bytesReceived: number } => node.metrics().links.find(l => l.peer === peer.id) as { bytesSent: number, bytesReceived: number }
    const before = { sent: link(a, b).bytesSent, received: link(b, a).bytesReceived }
    let delivered = 0
    b.on('bytes', () => { delivered++ })
    for (let i = 0; i < 10; i++) await a.sendBytes(b.id, new Uint8Array(10_000))
    await waitFor(() => delivered === 10, 'every payload at b')
    // Each frame is its BYTES:10000 header line and the payload.
    const frames = 10 * (10_000 + 'BYTES:10000\n'.length)
    // A PING or PEERS line may go out meanwhile, but no more.
    const sent = link(a, b).bytesSent - before.sent
    assert.ok(sent >= frames && sent <= frames + 200, `a sent ${sent} bytes for ${frames} bytes of frames`)
    await waitFor(() => link(b, a).bytesReceived - before.received >= frames, 'b to count what it received')

    const transport = memoryNetwork()
    const overlay = async (name: string): Promise<MeshNode> => await started({ host: 'sim', name, transport, topology: 'overlay' })
    const [x, y, z] = [await overlay('x'), await overlay('y'), await overlay('z')]
    await y.connect(x.address)
    await z.connect(y.address)
    const heard = new Promise<number>(resolve => { z.once('chat', ({ hops }) => { resolve(hops) }) })
    await x.broadcast('two hops away')
    const hops = await heard
    const { deliveryHops } = z.metrics()
    assert.equal(deliveryHops.count, 1)
    assert.equal(deliveryHops.sum, hops)
    assert.equal(a.metrics().deliveryHops.count, 0, 'a full mesh delivers no overlay message')
    assert.equal(x.metrics().overlay?.stats.endToEnd.signed, 1)
    assert.equal(z.metrics().overlay?.stats.endToEnd.verified, 1)
  })

  it('count protocol streams opened each way, and those refused', async () => {
    const a = await started()
    const b = await started()
    b.handleRequests('/echo/1', request => request)
    await a.connect(b.address)
    const before = { a: a.metrics().streams, b: b.metrics().streams }
    for (let i = 0; i < 3; i++) await a.request(b.id, '/echo/1', new Uint8Array([i]))
    await assert.rejects(a.request(b.id, '/nobody/1', new Uint8Array([1])), { code: 'ERR_PROTOCOL_UNSUPPORTED' })
    assert.equal(a.metrics().streams.opened.outbound - before.a.opened.outbound, 4)
    assert.equal(b.metrics().streams.opened.inbound - before.b.opened.inbound, 3)
    assert.equal(b.metrics().streams.refused - before.b.refused, 1)
    assert.equal(a.metrics().streams.opened.inbound, before.a.opened.inbound)
  })

  it('count the senders a full queue held back, and the most a queue held', async () => {
    const a = await started({ maxQueuedBytes: 8192 })
    const b = await started()
    await a.connect(b.address)
    let delivered = 0
    b.on('bytes', () => { delivered++ })
    await Promise.all(Array.from({ length: 100 }, async () => { await a.sendBytes(b.id, new Uint8Array(1024)) }))
    await waitFor(() => delivered === 100, 'every payload at b')
    const { backpressureWaits, queuedBytes } = a.metrics()
    assert.ok(backpressureWaits > 0, '100 KiB at once through an 8 KiB queue waits')
    assert.ok(queuedBytes.highWater >= 4096 && queuedBytes.highWater <= 8192 + 1100, `high water ${queuedBytes.highWater}: within maxQueuedBytes and one message`)
    assert.equal(b.metrics().backpressureWaits, 0)
  })

  it('count dial attempts, failed dials and disconnects as the events tell them', async () => {
    const a = await started({ bootstrapAttempts: 3, bootstrapBackoff: 1 })
    const b = await started()
    const gone = b.address
    await b.stop()
    await assert.rejects(a.connect(gone))
    assert.equal(a.metrics().dialFailures, 1)
    assert.equal(a.metrics().dialAttempts, 3)
    const c = await started()
    await a.connect(c.address)
    await c.stop()
    await waitFor(() => a.metrics().disconnects.total === 1, 'the disconnect counted')
    assert.equal(a.metrics().disconnects.slowPeer, 0)
  })

  it('are Prometheus text in a registry of the caller\'s, and follow the traffic at every scrape', async () => {
    const transport = memoryNetwork()
    const a = await started({ host: 'sim', transport, topology: 'overlay' })
    const b = await started({ host: 'sim', transport, topology: 'overlay' })
    await b.connect(a.address)
    const registry = new Registry()
    const { remove } = prometheusMetrics(a, { registry })
    const first = parsePrometheus(await registry.metrics())
    assert.equal(first.get('meshline_peers{security="plaintext"}'), 1)
    assert.equal(first.get('meshline_peers_by_direction{direction="inbound"}'), 1)
    const chatBefore = first.get('meshline_messages_sent_total{kind="chat"}') ?? 0
    await waitFor(() => (a.overlayStatus()?.active.length ?? 0) === 1, 'b as an overlay neighbour')
    for (let i = 0; i < 5; i++) await a.send(b.id, `hello ${i}`)
    const second = parsePrometheus(await registry.metrics())
    assert.equal(second.get('meshline_messages_sent_total{kind="chat"}'), chatBefore + 5)
    assert.equal(second.get('meshline_overlay_active_view'), 1)
    assert.ok((second.get('meshline_overlay_frames_sent_total{type="caps"}') ?? 0) >= 1)
    assert.match(await registry.metrics(), /# TYPE meshline_messages_sent_total counter/)
    // Histograms: cumulative buckets up to +Inf, their sum and count.
    assert.match(await registry.metrics(), /# TYPE meshline_handshake_duration_seconds histogram/)
    assert.equal(second.get('meshline_handshake_duration_seconds_count'), 1)
    assert.equal(second.get('meshline_handshake_duration_seconds_bucket{le="+Inf"}'), 1)
    assert.equal(second.get('meshline_handshake_duration_seconds_bucket{le="10"}'), 1)
    assert.equal(second.get('meshline_overlay_delivery_hops_count'), 0)
    assert.ok((second.get(`meshline_link_bytes_sent_total{peer="${b.id}"}`) ?? 0) > 0)
    assert.equal(second.get('meshline_dial_attempts_total'), 0, 'a was dialled, it dialled no one')
    remove()
    assert.equal((await registry.metrics()).trim(), '', 'removed from the registry')
  })

  it('take one snapshot per scrape, shared by every metric', async () => {
    const node = await started()
    let snapshots = 0
    const take = node.metrics.bind(node)
    node.metrics = () => { snapshots++; return take() }
    const { registry } = prometheusMetrics(node, { registry: new Registry() })
    await registry.metrics()
    assert.equal(snapshots, 1)
    await registry.metrics()
    assert.equal(snapshots, 2, 'a new scrape, a new snapshot')
  })

  it('are served at GET /metrics, as JSON with the peers for the live view at GET /, as --metrics-port serves them, and nothing else is', async () => {
    const node = await started({ name: 'watched' })
    const peer = await started()
    await peer.connect(node.address)
    const server = await serveMetrics(node, '127.0.0.1', 0)
    try {
      const response = await fetch(server.url)
      assert.equal(response.status, 200)
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain/)
      const series = parsePrometheus(await response.text())
      assert.equal(series.get('meshline_connections'), 1)
      const json = await (await fetch(server.url + '.json')).json() as { node: { name: string }, metrics: { peers: { total: number }, links: Array<{ peer: string }> }, peers: Array<{ id: string }> }
      assert.deepEqual([json.node.name, json.metrics.peers.total, json.metrics.links.map(link => link.peer), json.peers.map(p => p.id)], ['watched', 1, [peer.id], [peer.id]])
      const page = await fetch(server.url.replace('/metrics', '/'))
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
      const html = await page.text()
      assert.match(html, /<html lang="en">/)
      assert.match(html, /fetch\('metrics.json'/, 'the page reads the JSON snapshot')
      const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? ''
      assert.doesNotThrow(() => { new Function(script) }, 'the page\'s script parses')
      assert.equal((await fetch(server.url.replace('/metrics', '/other'))).status, 404)
      await node.stop()
      assert.equal((await fetch(server.url + '.json')).status, 503, 'a stopped node is said to be so')
    } finally {
      await server.close()
    }
  })
})

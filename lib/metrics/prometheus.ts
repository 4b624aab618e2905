/**
 * A node's metrics for Prometheus, through prom-client: every metric reads
 * `node.metrics()` when it is scraped, so a scrape costs one snapshot
 * (proportional to the number of peers), shared by every metric, and the
 * node counts nothing more per message for it. Names are prefixed `meshline_`; counters end in
 * `_total`.
 *
 * @example
 * ```ts
 * import { prometheusMetrics } from 'meshline-p2p/metrics'
 * const { registry } = prometheusMetrics(node)   // or { registry: myRegistry }
 * const text = await registry.metrics()          // what GET /metrics serves
 * ```
 */
import { Counter, Gauge, Registry, register as defaultRegistry, type Metric } from 'prom-client'
import type { MeshNode } from '../mesh/node.js'
import type { HistogramSnapshot, MeshMetrics } from '../mesh/metrics.js'
import { checkArgument, isFunction } from '../../transforms/core/option-table.js'

export interface PrometheusOptions {
  /** Where the metrics are registered. @default prom-client's default registry */
  registry?: Registry
}

/** One metric: its name (after `meshline_`), help, type, and its series read from a snapshot. */
interface Definition {
  name: string
  help: string
  type: 'gauge' | 'counter'
  labels?: string
  series: (m: MeshMetrics) => Array<[value: number, label?: string]>
}

const kinds = (count: Record<string, number>): Array<[number, string]> => Object.entries(count).map(([kind, value]) => [value, kind])

const DEFINITIONS: Definition[] = [
  { name: 'peers', help: 'Connected peers, by link security', type: 'gauge', labels: 'security', series: m => [[m.peers.noise, 'noise'], [m.peers.plaintext, 'plaintext']] },
  { name: 'peers_by_direction', help: 'Connected peers, by who dialled', type: 'gauge', labels: 'direction', series: m => [[m.peers.inbound, 'inbound'], [m.peers.outbound, 'outbound']] },
  { name: 'connections', help: 'Open connections, in any state', type: 'gauge', series: m => [[m.tables.connections]] },
  { name: 'pending_handshakes', help: 'Accepted connections still in their handshake', type: 'gauge', series: m => [[m.tables.pendingHandshakes]] },
  { name: 'known_addresses', help: 'Known listen addresses', type: 'gauge', series: m => [[m.tables.knownAddresses]] },
  { name: 'streams', help: 'Open protocol streams', type: 'gauge', series: m => [[m.tables.streams]] },
  { name: 'messages_sent_total', help: 'Messages queued for peers, by kind', type: 'counter', labels: 'kind', series: m => kinds(m.sent.messages) },
  { name: 'messages_received_total', help: 'Messages received from peers, by kind', type: 'counter', labels: 'kind', series: m => kinds(m.received.messages) },
  { name: 'payload_bytes_sent_total', help: 'Bytes of BYTES payloads queued for peers', type: 'counter', series: m => [[m.sent.payloadBytes]] },
  { name: 'payload_bytes_received_total', help: 'Bytes of BYTES payloads received from peers', type: 'counter', series: m => [[m.received.payloadBytes]] },
  { name: 'queued_bytes', help: 'Bytes queued for peers and not yet written, over all connections', type: 'gauge', series: m => [[m.queuedBytes.total]] },
  { name: 'queued_bytes_largest', help: 'Bytes queued on the connection with the most', type: 'gauge', series: m => [[m.queuedBytes.largest]] },
  { name: 'queued_bytes_high_water', help: 'The most bytes one connection\'s queue ever held', type: 'gauge', series: m => [[m.queuedBytes.highWater]] },
  { name: 'backpressure_waits_total', help: 'Senders that found a peer\'s queue full and waited', type: 'counter', series: m => [[m.backpressureWaits]] },
  { name: 'streams_opened_total', help: 'Protocol streams opened, by this node (outbound) or by peers (inbound, accepted)', type: 'counter', labels: 'direction', series: m => [[m.streams.opened.inbound, 'inbound'], [m.streams.opened.outbound, 'outbound']] },
  { name: 'streams_refused_total', help: 'Protocol streams peers opened that this node refused', type: 'counter', series: m => [[m.streams.refused]] },
  { name: 'disconnects_total', help: 'Peers disconnected', type: 'counter', series: m => [[m.disconnects.total]] },
  { name: 'slow_peer_disconnects_total', help: 'Peers disconnected for a queue that stayed full (ERR_SLOW_PEER)', type: 'counter', series: m => [[m.disconnects.slowPeer]] },
  { name: 'dial_attempts_total', help: 'Transport dials started, every attempt of every dial', type: 'counter', series: m => [[m.dialAttempts]] },
  { name: 'dial_failures_total', help: 'Dials that failed after their last attempt', type: 'counter', series: m => [[m.dialFailures]] },
  { name: 'link_bytes_sent_total', help: 'Bytes written to each connected peer since its connection opened', type: 'counter', labels: 'peer', series: m => m.links.map(link => [link.bytesSent, link.peer]) },
  { name: 'link_bytes_received_total', help: 'Bytes received from each connected peer since its connection opened', type: 'counter', labels: 'peer', series: m => m.links.map(link => [link.bytesReceived, link.peer]) },
  { name: 'link_queued_bytes', help: 'Bytes queued for each connected peer', type: 'gauge', labels: 'peer', series: m => m.links.map(link => [link.queuedBytes, link.peer]) },
  { name: 'peers_denied_total', help: 'Peers refused by the allowlist or for a downgrade', type: 'counter', series: m => [[m.peersDenied]] },
  { name: 'messages_refused_total', help: 'Overlay messages refused end to end', type: 'counter', series: m => [[m.messagesRefused]] },
  { name: 'overlay_active_view', help: 'Overlay neighbours (HyParView active view)', type: 'gauge', series: m => m.overlay === undefined ? [] : [[m.overlay.active.length]] },
  { name: 'overlay_passive_view', help: 'Nodes kept to repair from (HyParView passive view)', type: 'gauge', series: m => m.overlay === undefined ? [] : [[m.overlay.passive.length]] },
  { name: 'overlay_tree_links', help: 'Overlay links by role in the broadcast tree', type: 'gauge', labels: 'role', series: m => m.overlay === undefined ? [] : [[m.overlay.eager.length, 'eager'], [m.overlay.lazy.length, 'lazy']] },
  { name: 'overlay_frames_sent_total', help: 'Overlay frames sent, by type, one per recipient', type: 'counter', labels: 'type', series: m => m.overlay === undefined ? [] : kinds(m.overlay.stats.sent) },
  { name: 'overlay_duplicates_total', help: 'Broadcast payloads received again after their first delivery', type: 'counter', series: m => m.overlay === undefined ? [] : [[m.overlay.stats.duplicates]] },
  { name: 'overlay_delivered_total', help: 'Broadcasts and routed messages delivered to the application', type: 'counter', series: m => m.overlay === undefined ? [] : [[m.overlay.stats.delivered]] },
  { name: 'overlay_end_to_end_total', help: 'Bundles signed and verified, messages sealed and opened, end to end', type: 'counter', labels: 'operation', series: m => m.overlay === undefined ? [] : [[m.overlay.stats.endToEnd.signed, 'sign'], [m.overlay.stats.endToEnd.verified, 'verify'], [m.overlay.stats.endToEnd.sealed, 'seal'], [m.overlay.stats.endToEnd.opened, 'open']] },
  { name: 'overlay_refused_total', help: 'Relayed messages refused end to end, by reason', type: 'counter', labels: 'reason', series: m => m.overlay === undefined ? [] : kinds(m.overlay.stats.refused) }
]

/** Histograms, read from the snapshot's bucket counts (prom-client's own Histogram only takes observations). */
const HISTOGRAMS: Array<{ name: string, help: string, read: (m: MeshMetrics) => HistogramSnapshot }> = [
  { name: 'handshake_duration_seconds', help: 'From accepting or dialling a connection to the end of its handshake (secure link and hello), per new peer', read: m => m.handshakeSeconds },
  { name: 'overlay_delivery_hops', help: 'Links each overlay message delivered here crossed', read: m => m.deliveryHops }
]

/** A histogram as prom-client's registry reads a metric: `get()` gives its samples. */
function histogramMetric (name: string, help: string, read: () => HistogramSnapshot): Metric {
  const get = async (): Promise<object> => {
    const { buckets, sum, count } = read()
    const values = [
      ...buckets.map(({ le, count }) => ({ metricName: `${name}_bucket`, labels: { le }, value: count })),
      { metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: count },
      { metricName: `${name}_sum`, labels: {}, value: sum },
      { metricName: `${name}_count`, labels: {}, value: count }
    ]
    return { name, help, type: 'histogram', values, aggregator: 'sum' }
  }
  // The registry needs only these members of a metric; prom-client has no public way to set a histogram's buckets.
  return { name, help, type: 'histogram', aggregator: 'sum', get, reset: () => {} } as unknown as Metric
}

/**
 * Registers `node`'s metrics in `registry`: one node per registry, as the
 * names carry no node label (prom-client refuses a name registered twice).
 * @returns the registry, and a function that removes the node's metrics from it
 * @throws InvalidArgumentError when the node is not a MeshNode-like object with `metrics()`
 */
export function prometheusMetrics (node: MeshNode, options: PrometheusOptions = {}): { registry: Registry, remove: () => void } {
  checkArgument('node', 'a MeshNode', node, value => typeof value === 'object' && value !== null && isFunction((value as MeshNode).metrics))
  const registry = options.registry ?? defaultRegistry
  // prom-client collects every metric of a scrape in one synchronous run: they share the snapshot taken first.
  let shared: MeshMetrics | undefined
  const snapshot = (): MeshMetrics => {
    if (shared === undefined) {
      shared = node.metrics()
      queueMicrotask(() => { shared = undefined })
    }
    return shared
  }
  const names: string[] = []
  for (const definition of DEFINITIONS) {
    const name = `meshline_${definition.name}`
    const labelNames = definition.labels === undefined ? [] : [definition.labels]
    const metric: Gauge | Counter = definition.type === 'gauge'
      ? new Gauge({ name, help: definition.help, labelNames, registers: [registry], collect })
      : new Counter({ name, help: definition.help, labelNames, registers: [registry], collect })
    function collect (): void {
      metric.reset()
      for (const [value, label] of definition.series(snapshot())) {
        const labels = label === undefined || definition.labels === undefined ? {} : { [definition.labels]: label }
        if (metric instanceof Gauge) metric.set(labels, value)
        else metric.inc(labels, value)
      }
    }
    names.push(name)
  }
  for (const { name: suffix, help, read } of HISTOGRAMS) {
    const name = `meshline_${suffix}`
    registry.registerMetric(histogramMetric(name, help, () => read(snapshot())))
    names.push(name)
  }
  return { registry, remove: () => { for (const name of names) registry.removeSingleMetric(name) } }
}

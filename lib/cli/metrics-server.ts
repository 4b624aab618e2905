/**
 * `--metrics-port`: the node's metrics over HTTP on the node's own host:
 * Prometheus text at `GET /metrics`, the same snapshot as JSON at
 * `GET /metrics.json` (with the node and its peers), and a live view of it
 * at `GET /`. Each request reads a snapshot; nothing waits on it.
 */
import { createServer, type Server } from 'node:http'
import { once } from 'node:events'
import { Registry } from 'prom-client'
import type { MeshNode } from '../mesh/node.js'
import { prometheusMetrics } from '../metrics/prometheus.js'
import { LIVE_VIEW_HTML } from './live-view.js'

export interface MetricsServer {
  /** `http://host:port/metrics` */
  url: string
  close: () => Promise<void>
}

export async function serveMetrics (node: MeshNode, host: string, port: number): Promise<MetricsServer> {
  const { registry } = prometheusMetrics(node, { registry: new Registry() })
  const server: Server = createServer((request, response) => {
    const path = request.url?.split('?')[0]
    if (request.method === 'GET' && path === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(LIVE_VIEW_HTML)
      return
    }
    if (request.method === 'GET' && path === '/metrics.json') {
      // A stopped node has no address: say so rather than fail the server.
      if (!node.running) {
        response.writeHead(503, { 'content-type': 'text/plain' }).end('the node is not running\n')
        return
      }
      const body = { node: { id: node.id, name: node.name, address: node.address }, metrics: node.metrics(), peers: node.peers() }
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body))
      return
    }
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /, /metrics or /metrics.json\n')
      return
    }
    registry.metrics().then(
      text => { response.writeHead(200, { 'content-type': registry.contentType }).end(text) },
      (error: Error) => { response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`) }
    )
  })
  server.listen(port, host)
  await once(server, 'listening')
  const address = server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : port
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}

/**
 * `--metrics-port`: the node's metrics as Prometheus text at `GET /metrics`,
 * on the node's own host. Each scrape reads a snapshot; nothing waits on it.
 */
import { createServer, type Server } from 'node:http'
import { once } from 'node:events'
import { Registry } from 'prom-client'
import type { MeshNode } from '../mesh/node.js'
import { prometheusMetrics } from '../metrics/prometheus.js'

export interface MetricsServer {
  /** `http://host:port/metrics` */
  url: string
  close: () => Promise<void>
}

export async function serveMetrics (node: MeshNode, host: string, port: number): Promise<MetricsServer> {
  const { registry } = prometheusMetrics(node, { registry: new Registry() })
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n')
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

/**
 * `--web`: serves the chat page (`web/`, built into `dist/browser/` by
 * `npm run build:browser`) on the node's host, and tells each page where
 * the node's WebSocket listener is (`GET /config.json`), so the page joins
 * the mesh through it. Only the page's own files are served.
 */
import { createServer, type Server } from 'node:http'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { MeshNode } from '../mesh/node.js'
import { parseAddress } from '../../transforms/core/line-protocol.js'

const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'chat.css': 'text/css; charset=utf-8',
  'chat.js': 'text/javascript; charset=utf-8',
  'chat.js.map': 'application/json'
}

/** The package's root: the nearest folder above this file with a package.json (from the sources or from `dist/`). */
function packageRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  // The file system's root is its own parent: stop there.
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
}

/** Where the built page is. */
export const PAGE_DIR = join(packageRoot(), 'dist/browser')

export interface WebServer {
  /** `http://host:port/` */
  url: string
  close: () => Promise<void>
}

/**
 * Serves the chat page for `node`, which must have a WebSocket listener (`wsPort`).
 * @throws Error when the page is not built, or the port cannot be listened on
 */
export async function serveChatPage (node: MeshNode, host: string, port: number): Promise<WebServer> {
  const webSocket = node.webSocketAddress
  if (webSocket === undefined) throw new Error('the node has no WebSocket listener (wsPort)')
  if (!existsSync(join(PAGE_DIR, 'chat.js'))) throw new Error(`the page is not built in ${PAGE_DIR}: run npm run build:browser`)
  const files = new Map(Object.keys(TYPES).map(name => [name, readFileSync(join(PAGE_DIR, name))]))
  const config = JSON.stringify({
    wsPort: parseAddress(webSocket).port,
    topology: node.options.topology,
    secure: node.options.secure,
    node: { id: node.id, name: node.name }
  })
  const server: Server = createServer((request, response) => {
    const path = request.url?.split('?')[0] ?? '/'
    const name = path === '/' ? 'index.html' : path.slice(1)
    if (request.method !== 'GET') {
      response.writeHead(405, { 'content-type': 'text/plain', allow: 'GET' }).end('only GET\n')
    } else if (name === 'config.json') {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(config)
    } else if (files.has(name)) {
      response.writeHead(200, { 'content-type': TYPES[name] as string }).end(files.get(name))
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
    }
  })
  server.listen(port, host)
  await once(server, 'listening')
  const bound = server.address() as { address: string, port: number }
  return {
    url: `http://${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}/`,
    close: () => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => { resolve() }) })
  }
}

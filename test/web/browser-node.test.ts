/**
 * The library bundle in a page, against a Node node over its WebSocket
 * listener, in headless Chromium: a full mesh over Noise, both ciphers,
 * chat both ways, `BYTES` to a handler, and a request on a protocol stream.
 * Skipped where /usr/bin/chromium is not installed.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { chromium, type Browser, type Page } from 'playwright-core'
import { MeshNode } from '../../lib/index.js'
import { buildBrowser, BUNDLES } from '../../scripts/browser/build.js'
import { QUIET } from '../support/mesh.js'
import type { NoiseCipher } from '../../lib/types.js'

const CHROMIUM = '/usr/bin/chromium'

interface PageResult { peer: string, security: string, cipher: string, chat: string, reply: string }

/** Runs a browser node in `page` that connects to `address`, with `ciphers` (its default without), and reports what it saw. */
async function runPageNode (page: Page, address: string, nodeId: string, ciphers: NoiseCipher[] | undefined): Promise<PageResult> {
  return await page.evaluate(`(async () => {
    const { MeshNode } = await import('/${BUNDLES.library}')
    const node = new MeshNode({ name: 'page', secure: 'required', ...${JSON.stringify(ciphers === undefined ? {} : { noiseCiphers: ciphers })} })
    const chat = new Promise(resolve => { node.once('chat', ({ text }) => resolve(text)) })
    await node.start()
    const peer = await node.connect(${JSON.stringify(address)})
    await node.send(${JSON.stringify(nodeId)}, 'hello from the page')
    await node.sendBytes(${JSON.stringify(nodeId)}, new TextEncoder().encode('app: bytes from the page'))
    const reply = new TextDecoder().decode(await node.request(${JSON.stringify(nodeId)}, '/reverse/1', new TextEncoder().encode('stream')))
    const result = { peer: peer.id, security: peer.security, cipher: peer.cipher, chat: await chat, reply }
    await node.stop()
    return result
  })()`)
}

describe('the library bundle in Chromium', { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, () => {
  let dir: string
  let server: Server
  let browser: Browser
  let origin: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshline-bundle-'))
    await buildBrowser(dir)
    const bundle = await readFile(join(dir, BUNDLES.library))
    server = createServer((request, response) => {
      if (request.url === `/${BUNDLES.library}`) response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle)
      else response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>meshline</title>')
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}/`
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
  })

  after(async () => {
    await browser?.close()
    server?.closeAllConnections()
    server?.close()
    await rm(dir, { recursive: true, force: true })
  })

  // A page offers ChaChaPoly first by default: in JavaScript it is the faster.
  const cases: Array<{ ciphers: NoiseCipher[] | undefined, cipher: NoiseCipher }> = [{ ciphers: undefined, cipher: 'ChaChaPoly' }, { ciphers: ['AESGCM', 'ChaChaPoly'], cipher: 'AESGCM' }]
  for (const { ciphers, cipher } of cases) {
    it(`joins a full mesh over Noise with ${cipher}${ciphers === undefined ? ' (its default)' : ''}: chat both ways, BYTES to a handler, a request on a protocol stream`, async () => {
      const node = new MeshNode({ ...QUIET, host: '127.0.0.1', wsPort: 0, secure: 'required', name: 'node' })
      const heard: string[] = []
      node.on('chat', ({ text }) => { heard.push(text) })
      node.on('peer:connect', ({ peer }) => { void node.send(peer.id, 'hello from node') })
      node.handle('app: ', data => { heard.push(Buffer.from(data.subarray()).toString()) })
      node.handleRequests('/reverse/1', request => Buffer.from(request).reverse())
      await node.start()
      try {
        const page = await browser.newPage()
        const errors: string[] = []
        page.on('pageerror', error => { errors.push(error.message) })
        await page.goto(origin)
        const result = await runPageNode(page, node.webSocketAddress as string, node.id, ciphers)
        assert.deepEqual(result, { peer: node.id, security: 'noise', cipher, chat: 'hello from node', reply: 'maerts' })
        assert.deepEqual(heard, ['hello from the page', 'app: bytes from the page'])
        assert.deepEqual(errors, [])
        await page.close()
      } finally {
        await node.stop()
      }
    })
  }
})

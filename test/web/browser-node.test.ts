/**
 * The library bundle in a page, against a Node node over its WebSocket
 * listener, in headless Chromium: a full mesh over Noise, both ciphers,
 * chat both ways, `BYTES` to a handler, and a request on a protocol stream.
 * Skipped where /usr/bin/chromium is not installed.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Page } from 'playwright-core'
import { MeshNode } from '../../lib/index.js'
import { bundlePage, NO_CHROMIUM, type BundlePage } from '../support/bundle-page.js'
import { QUIET } from '../support/mesh.js'
import type { NoiseCipher } from '../../lib/types.js'
import { once } from 'node:events'
import { WebSocket, WebSocketServer } from 'ws'
import { MAX_MESSAGE_BYTES } from '../../lib/transport/websocket.js'
import { waitFor } from '../../harness/async.js'

interface PageResult { peer: string, security: string, cipher: string, chat: string, reply: string }

/** Runs a browser node in `page` that connects to `address`, with `ciphers` (its default without), over `WebSocketStream` or the classic `WebSocket`, and reports what it saw. */
async function runPageNode (page: Page, library: string, address: string, nodeId: string, ciphers: NoiseCipher[] | undefined, streams: boolean): Promise<PageResult> {
  return await page.evaluate(`(async () => {
    const { MeshNode, websocketTransport } = await import(${JSON.stringify(library)})
    const transport = websocketTransport({ streams: ${JSON.stringify(streams)} })
    const node = new MeshNode({ name: 'page', secure: 'required', transport, ...${JSON.stringify(ciphers === undefined ? {} : { noiseCiphers: ciphers })} })
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

describe('the library bundle in Chromium', { skip: NO_CHROMIUM }, () => {
  let served: BundlePage
  before(async () => { served = await bundlePage() })
  after(async () => { await served?.close() })

  // A page offers ChaChaPoly first by default: in JavaScript it is the faster.
  const cases: Array<{ ciphers: NoiseCipher[] | undefined, cipher: NoiseCipher, streams: boolean }> = [
    { ciphers: undefined, cipher: 'ChaChaPoly', streams: true },
    { ciphers: ['AESGCM', 'ChaChaPoly'], cipher: 'AESGCM', streams: false }
  ]
  for (const { ciphers, cipher, streams } of cases) {
    it(`joins a full mesh over Noise with ${cipher}${ciphers === undefined ? ' (its default)' : ''}, over ${streams ? 'WebSocketStream' : 'WebSocket'}: chat both ways, BYTES to a handler, a request on a protocol stream`, async () => {
      const node = new MeshNode({ ...QUIET, host: '127.0.0.1', wsPort: 0, secure: 'required', name: 'node' })
      const heard: string[] = []
      node.on('chat', ({ text }) => { heard.push(text) })
      node.on('peer:connect', ({ peer }) => { void node.send(peer.id, 'hello from node') })
      node.handle('app: ', data => { heard.push(Buffer.from(data.subarray()).toString()) })
      node.handleRequests('/reverse/1', request => Buffer.from(request).reverse())
      await node.start()
      try {
        const page = await served.browser.newPage()
        const errors: string[] = []
        page.on('pageerror', error => { errors.push(error.message) })
        await page.goto(served.url)
        const result = await runPageNode(page, served.libraryUrl, node.webSocketAddress as string, node.id, ciphers, streams)
        assert.deepEqual(result, { peer: node.id, security: 'noise', cipher, chat: 'hello from node', reply: 'maerts' })
        assert.deepEqual(heard, ['hello from the page', 'app: bytes from the page'])
        assert.deepEqual(errors, [])
        await page.close()
      } finally {
        await node.stop()
      }
    })
  }

  it('pauses its reads over WebSocketStream: a sender of 32 MiB is held back until the page reads, and nothing is lost', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await once(server, 'listening')
    const sent = new Promise<WebSocket>(resolve => {
      server.once('connection', (ws: WebSocket) => {
        const message = new Uint8Array(MAX_MESSAGE_BYTES).fill(7)
        for (let i = 0; i < 512; i++) ws.send(message, { binary: true })
        ws.send(new Uint8Array(0), { binary: true })
        resolve(ws)
      })
    })
    const page = await served.browser.newPage()
    try {
      await page.goto(served.url)
      const port = (server.address() as { port: number }).port
      const reading = page.evaluate(`(async () => {
        const { websocketTransport } = await import(${JSON.stringify(served.libraryUrl)})
        const transport = await websocketTransport({ streams: true }).dial('127.0.0.1', ${port}, { timeout: 5000 })
        window.release = undefined
        await new Promise(resolve => { window.release = resolve })
        let total = 0
        for await (const chunk of transport.source) total += chunk.byteLength
        return total
      })()`)
      const ws = await sent
      // Reads paused: what the page has not taken stays with the sender. Wait until it stops moving.
      let last = -1
      let changedAt = Date.now()
      const settled = (): boolean => {
        if (ws.bufferedAmount !== last) [last, changedAt] = [ws.bufferedAmount, Date.now()]
        return Date.now() - changedAt > 300
      }
      await waitFor(settled, 'the sender\'s buffer to settle', 10_000)
      assert.ok(ws.bufferedAmount > 8 * 1024 * 1024, `only ${ws.bufferedAmount} bytes held back at the sender`)
      await page.evaluate('window.release()')
      assert.equal(await reading, 512 * MAX_MESSAGE_BYTES)
    } finally {
      await page.close()
      server.close()
    }
  })
})

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
import { BUNDLES } from '../../scripts/browser/build.js'
import { bundlePage, NO_CHROMIUM, type BundlePage } from '../support/bundle-page.js'
import { QUIET } from '../support/mesh.js'
import type { NoiseCipher } from '../../lib/types.js'

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

describe('the library bundle in Chromium', { skip: NO_CHROMIUM }, () => {
  let served: BundlePage
  before(async () => { served = await bundlePage() })
  after(async () => { await served?.close() })

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
        const page = await served.browser.newPage()
        const errors: string[] = []
        page.on('pageerror', error => { errors.push(error.message) })
        await page.goto(served.url)
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

/**
 * Two pages in headless Chromium, each a browser node connected to one
 * Node node (overlay, Noise, signatures required), open a WebRTC data
 * channel to each other, signalled through that node, and talk over it
 * directly: a Noise link of their own, chat and a request on a protocol
 * stream, one hop. Skipped where /usr/bin/chromium is not installed.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Page } from 'playwright-core'
import { MeshNode } from '../../lib/index.js'
import { bundlePage, NO_CHROMIUM, type BundlePage } from '../support/bundle-page.js'
import { QUIET } from '../support/mesh.js'

/** Host candidates as they are (no mDNS names, which nothing here resolves), loopback included. */
const WEBRTC_FLAGS = ['--disable-features=WebRtcHideLocalIpsWithMdns', '--allow-loopback-in-peer-connection']

/** Starts a browser node in `page`, kept as `window.node`, joined to the mesh through `address`. @returns its id */
async function startPageNode (page: Page, library: string, name: string, address: string, rtcOptions: object = {}): Promise<string> {
  return await page.evaluate(`(async () => {
    const { MeshNode, webrtcLinks, websocketTransport } = await import(${JSON.stringify(library)})
    const rtc = webrtcLinks(${JSON.stringify(rtcOptions)})
    const node = new MeshNode({ name: ${JSON.stringify(name)}, topology: 'overlay', secure: 'required', transport: rtc.over(websocketTransport()) })
    rtc.attach(node)
    window.heard = []
    node.on('chat', ({ peer, origin, text, hops }) => { window.heard.push({ peer: peer.id, origin: origin.id, text, hops }) })
    node.handleRequests('/upper/1', request => new TextEncoder().encode(new TextDecoder().decode(request).toUpperCase()))
    await node.start()
    await node.connect(${JSON.stringify(address)})
    window.node = node
    return node.id
  })()`)
}

describe('WebRTC between two pages, signalled through the mesh', { skip: NO_CHROMIUM }, () => {
  let served: BundlePage
  let hub: MeshNode
  before(async () => {
    served = await bundlePage(WEBRTC_FLAGS)
    hub = new MeshNode({ ...QUIET, host: '127.0.0.1', wsPort: 0, topology: 'overlay', secure: 'required', name: 'hub' })
    await hub.start()
  })
  after(async () => {
    await served?.close()
    await hub?.stop()
  })

  it('opens a data channel from one page to the other and carries a Noise link over it: chat and a request, one hop', async () => {
    const [alice, bob] = [await served.browser.newPage(), await served.browser.newPage()]
    const errors: string[] = []
    for (const page of [alice, bob]) {
      page.on('pageerror', error => { errors.push(error.message) })
      await page.goto(served.url)
    }
    const aliceId = await startPageNode(alice, served.libraryUrl, 'alice', hub.webSocketAddress as string)
    const bobId = await startPageNode(bob, served.libraryUrl, 'bob', hub.webSocketAddress as string)

    const direct = await alice.evaluate(`(async () => {
      const { dialOnlyAddress } = await import(${JSON.stringify(served.libraryUrl)})
      const peer = await window.node.connect(dialOnlyAddress(${JSON.stringify(bobId)}))
      await window.node.send(${JSON.stringify(bobId)}, 'straight to bob')
      const reply = new TextDecoder().decode(await window.node.request(${JSON.stringify(bobId)}, '/upper/1', new TextEncoder().encode('over webrtc')))
      return { id: peer.id, security: peer.security, address: peer.address, reply }
    })()`)
    assert.deepEqual(direct, { id: bobId, security: 'noise', address: `${bobId}.invalid:1`, reply: 'OVER WEBRTC' })
    await bob.waitForFunction('window.heard.length === 1', undefined, { timeout: 10_000 })
    assert.deepEqual(await bob.evaluate('window.heard'), [{ peer: aliceId, origin: aliceId, text: 'straight to bob', hops: 1 }])
    const bobPeers = await bob.evaluate('window.node.peers().map(peer => peer.id).sort()')
    assert.deepEqual(bobPeers, [aliceId, hub.id].sort())
    assert.deepEqual(errors, [])
  })

  it('refuses a dial beyond maxPendingLinks at once, while the first still waits for its answer', async () => {
    const page = await served.browser.newPage()
    try {
      await page.goto(served.url)
      await startPageNode(page, served.libraryUrl, 'carol', hub.webSocketAddress as string, { maxPendingLinks: 1 })
      // The hub is no page: it never answers an offer, so the first dial waits out its timeout.
      const outcome = await page.evaluate(`(async () => {
        const { dialOnlyAddress } = await import(${JSON.stringify(served.libraryUrl)})
        const causes = error => error === undefined ? [] : [error.message, ...causes(error.cause)]
        const first = window.node.connect(dialOnlyAddress(${JSON.stringify(hub.id)}), { attempts: 1, timeout: 2000 }).then(() => 'connected', error => causes(error).join(' / '))
        const startedAt = Date.now()
        // Another page's address: one dial per address at a time, so the second goes to another.
        const second = await window.node.connect(dialOnlyAddress('ab'.repeat(16)), { attempts: 1, timeout: 2000 }).then(() => 'connected', error => causes(error).join(' / '))
        return { second, secondMs: Date.now() - startedAt, first: await first }
      })()`) as { second: string, secondMs: number, first: string }
      assert.match(outcome.second, /maxPendingLinks \(1\)/)
      assert.ok(outcome.secondMs < 1000, `refused after ${outcome.secondMs} ms`)
      assert.doesNotMatch(outcome.first, /maxPendingLinks/)
      assert.notEqual(outcome.first, 'connected')
    } finally {
      await page.close()
    }
  })
})

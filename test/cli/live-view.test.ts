/**
 * The live view in a real browser: Debian's Chromium, headless, driven by
 * playwright-core. Skipped where /usr/bin/chromium is not installed
 * (`.ci/run` installs it). A screenshot goes to $SCREENSHOT_DIR when set.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { Page } from 'playwright-core'
import { MeshNode } from '../../lib/index.js'
import { serveMetrics } from '../../lib/cli/metrics-server.js'
import { launchChromium, NO_CHROMIUM } from '../support/bundle-page.js'

const running = new Set<MeshNode>()
after(async () => { await Promise.all([...running].map(async node => { await node.stop() })) })

/** Waits until the page shows `count` elements matching `selector` (it redraws every second). */
async function until (page: Page, selector: string, count: number): Promise<void> {
  await page.waitForFunction(`document.querySelectorAll(${JSON.stringify(selector)}).length === ${count}`, undefined, { timeout: 5000 })
}

async function started (name: string): Promise<MeshNode> {
  const node = new MeshNode({ host: '127.0.0.1', name, topology: 'overlay' })
  running.add(node)
  await node.start()
  return node
}

describe('the live view in Chromium', { skip: NO_CHROMIUM }, () => {
  it('shows the peers and the overlay neighbours, and follows a new one', async () => {
    const watched = await started('watched')
    const first = await started('first')
    await first.connect(watched.address)
    const server = await serveMetrics(watched, '127.0.0.1', 0)
    const browser = await launchChromium()
    try {
      const page = await browser.newPage()
      await page.goto(server.url.replace(/metrics$/, ''))
      await until(page, '#peers tr', 1)
      assert.match(await page.textContent('#title') ?? '', /watched/)
      assert.match(await page.textContent('#peers') ?? '', /first/)
      // Each peer's row: name, address, link, who dialled, bytes/s out and in, queued bytes.
      assert.equal(await page.locator('#peers tr:first-child td').count(), 7)
      await until(page, '#graph line', 1)
      assert.equal(await page.isVisible('#overlay'), true)

      const second = await started('second')
      await second.connect(watched.address)
      await until(page, '#peers tr', 2)
      await until(page, '#graph line', 2)
      assert.match(await page.textContent('#graph') ?? '', /second/)

      const dir = process.env['SCREENSHOT_DIR'] ?? join(tmpdir(), 'meshline-screenshots')
      mkdirSync(dir, { recursive: true })
      await page.screenshot({ path: join(dir, 'live-view.png'), fullPage: true })
      assert.ok(existsSync(join(dir, 'live-view.png')))
    } finally {
      await browser.close()
      await server.close()
    }
  })
})

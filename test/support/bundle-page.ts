/**
 * The library bundle served to headless Chromium for the browser tests: the
 * browser build made into a folder of the test's own, served on loopback
 * beside a blank page, and Debian's Chromium driven by playwright-core.
 */
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { buildBrowser, BUNDLES } from '../../scripts/browser/build.js'

export const CHROMIUM = '/usr/bin/chromium'
/** Why the browser tests are skipped here, if they are. */
export const NO_CHROMIUM = !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}`

export interface BundlePage {
  browser: Browser
  /** A blank page's URL; `/${BUNDLES.library}` beside it is the library. */
  url: string
  close: () => Promise<void>
}

/** Builds and serves the bundle, and launches Chromium. `args` go to Chromium. */
export async function bundlePage (args: string[] = []): Promise<BundlePage> {
  const dir = await mkdtemp(join(tmpdir(), 'meshline-bundle-'))
  await buildBrowser(dir)
  const bundle = await readFile(join(dir, BUNDLES.library))
  const server = createServer((request, response) => {
    if (request.url === `/${BUNDLES.library}`) response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle)
    else response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>meshline</title>')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', ...args] })
  return {
    browser,
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`,
    close: async () => {
      await browser.close()
      server.closeAllConnections()
      server.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/**
 * Headless Chromium for the browser tests (Debian's, driven by
 * playwright-core; the tests skip where it is not installed), and the
 * library bundle served to it: the browser build made into a folder of the
 * test's own, served on loopback beside a blank page.
 */
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { buildBrowser, LIBRARY_FILE } from '../../scripts/browser/build.js'

const CHROMIUM = '/usr/bin/chromium'
/** Why the browser tests are skipped here, if they are. */
export const NO_CHROMIUM = !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}`

/** Chromium, headless; `args` go to it beside the sandbox flag these machines need. */
export async function launchChromium (args: string[] = []): Promise<Browser> {
  return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', ...args] })
}

export interface BundlePage {
  browser: Browser
  /** A blank page to open. */
  url: string
  /** Where that page imports the library from. */
  libraryUrl: string
  close: () => Promise<void>
}

/** Builds and serves the library bundle, and launches Chromium with `args`. */
export async function bundlePage (args: string[] = []): Promise<BundlePage> {
  const dir = await mkdtemp(join(tmpdir(), 'meshline-bundle-'))
  await buildBrowser(dir)
  const library = await readFile(join(dir, LIBRARY_FILE))
  const server = createServer((request, response) => {
    if (request.url === `/${LIBRARY_FILE}`) response.writeHead(200, { 'content-type': 'text/javascript' }).end(library)
    else response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>meshline</title>')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const browser = await launchChromium(args)
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`
  return {
    browser,
    url,
    libraryUrl: url + LIBRARY_FILE,
    close: async () => {
      await browser.close()
      server.closeAllConnections()
      server.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/**
 * The chat page in a real browser: a `meshline --web` process on loopback
 * (overlay, Noise links, signed broadcasts) and two pages in Debian's
 * headless Chromium, driven by playwright-core, each a browser node built
 * by the browser build. They chat both ways with the command line node
 * and with each other through it, a file goes from a page to the command
 * line node (checked by hash), and one comes back to both pages as
 * download links (checked by hash in the page). Skipped where
 * /usr/bin/chromium is not installed (`.ci/run` installs it). A screenshot
 * goes to $SCREENSHOT_DIR when set.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { buildBrowser } from '../../scripts/browser/build.js'
import { Cli } from '../support/cli-process.js'
import { launchChromium, NO_CHROMIUM } from '../support/bundle-page.js'

/** Longest wait for anything a page shows, in ms. */
const PAGE_DEADLINE = 15_000

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex')

/** Waits until the text of `selector` on `page` includes `text`. */
async function shows (page: Page, selector: string, text: string): Promise<void> {
  await page.waitForFunction(`document.querySelector(${JSON.stringify(selector)})?.textContent?.includes(${JSON.stringify(text)}) === true`, undefined, { timeout: PAGE_DEADLINE })
}

async function say (page: Page, text: string): Promise<void> {
  await page.fill('#chat-text', text)
  await page.click('#chat-form button')
}

describe('the chat page in Chromium', { skip: NO_CHROMIUM }, () => {
  let dir: string
  let cli: Cli
  let browser: Browser
  let url: string
  const pages = new Map<string, Page>()
  const page = (name: string): Page => pages.get(name) as Page

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshline-web-'))
    await buildBrowser()
    cli = new Cli(['0', '--host', '127.0.0.1', '--web', '0', '--topology', 'overlay', '--secure', 'required', '--name', 'cli', '--downloads', join(dir, 'downloads')])
    url = (await cli.waitFor(/Chat page at (http:\S+)/))[1] as string
    browser = await launchChromium()
    for (const name of ['alice', 'bob']) {
      const tab = await browser.newPage()
      const errors: string[] = []
      tab.on('pageerror', error => { errors.push(error.message) })
      await tab.goto(`${url}?name=${name}`)
      await shows(tab, '#status', `${name}, connected to cli`)
      assert.deepEqual(errors, [])
      pages.set(name, tab)
      await cli.waitFor(new RegExp(`\\[NETWORK\\] Connected to ${name} at [0-9a-f]{32}\\.invalid:1 \\(inbound, noise\\)`))
    }
  })

  after(async () => {
    await browser?.close()
    cli?.send('/quit')
    await cli?.exitCode()
    await rm(dir, { recursive: true, force: true })
  })

  it('joins over a Noise link and lists the command line node as its peer', async () => {
    for (const name of ['alice', 'bob']) {
      assert.match(await page(name).textContent('#peers') ?? '', /cli\s*noise/)
      assert.equal(await page(name).isEnabled('#chat-text'), true)
    }
  })

  it('chats both ways: page to page through the node, page to node, node to pages', async () => {
    let mark = cli.lines.length
    await say(page('alice'), 'hello from alice')
    await shows(page('bob'), '#messages', 'hello from alice')
    await cli.waitFor(/\[alice\] hello from alice$/, mark)
    mark = cli.lines.length
    await say(page('bob'), 'and hello from bob')
    await shows(page('alice'), '#messages', 'and hello from bob')
    await cli.waitFor(/\[bob\] and hello from bob$/, mark)
    cli.send('greetings from the command line')
    for (const name of ['alice', 'bob']) await shows(page(name), '#messages', 'greetings from the command line')
  })

  it('sends a file from a page to the command line node, with a progress bar, verified by hash', async () => {
    const data = randomBytes(300 * 1024 + 17)
    const mark = cli.lines.length
    await page('alice').setInputFiles('#file-input', { name: 'from-alice.bin', mimeType: 'application/octet-stream', buffer: data })
    await page('alice').click('#file-form button')
    await shows(page('alice'), '#transfers', 'from-alice.bin: sent to 1 peer(s)')
    const bar = await page('alice').$eval('#transfers progress', element => {
      const { value, max } = element as unknown as { value: number, max: number }
      return { value, max }
    })
    assert.deepEqual(bar, { value: data.length, max: data.length })
    const [, hash, path] = await cli.waitFor(/\[FILE\] Received from-alice\.bin .* SHA-256 ([0-9a-f]{64}) verified, saved as (\S+)$/, mark)
    assert.equal(hash, sha256(data))
    assert.equal(sha256(await readFile(path as string)), sha256(data))
  })

  it('offers a file the command line node sends as a download link in both pages, its bytes intact', async () => {
    const data = randomBytes(200 * 1024 + 3)
    const file = join(dir, 'from-cli.bin')
    await writeFile(file, data)
    cli.send(`/send ${file}`)
    for (const name of ['alice', 'bob']) {
      await shows(page(name), '#received', 'from-cli.bin')
      const inPage = await page(name).$eval('#received a', async link => {
        const { href, download } = link as unknown as { href: string, download: string }
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await (await fetch(href)).arrayBuffer()))
        return { download, hash: [...digest].map(byte => byte.toString(16).padStart(2, '0')).join('') }
      })
      assert.deepEqual(inPage, { download: 'from-cli.bin', hash: sha256(data) })
    }
    const screenshots = process.env['SCREENSHOT_DIR'] ?? join(tmpdir(), 'meshline-screenshots')
    mkdirSync(screenshots, { recursive: true })
    await page('alice').screenshot({ path: join(screenshots, 'chat-page.png'), fullPage: true })
    assert.ok(existsSync(join(screenshots, 'chat-page.png')))
  })
})

/**
 * The browser build: no Node module gets into it, every `.browser.ts`
 * file takes the place of its Node sibling and offers none of its own
 * exports (esbuild fails the build when one the library imports is
 * missing), and the library bundle exports what a page needs.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { pathToFileURL } from 'node:url'
import type { Metafile } from 'esbuild'
import { buildBrowser, LIBRARY_FILE, type BundleName } from '../../scripts/browser/build.js'
import { ROOT } from '../support/processes.js'

/** Every `.browser.ts` file under lib/ and transforms/, relative to ROOT. */
async function browserSiblings (): Promise<string[]> {
  const found: string[] = []
  for (const top of ['lib', 'transforms']) {
    for (const entry of await readdir(join(ROOT, top), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.browser.ts')) found.push(relative(ROOT, join(entry.parentPath, entry.name)))
    }
  }
  return found.sort()
}

describe('the browser build', () => {
  let out: string
  let metafiles: Record<BundleName, Metafile>
  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'meshline-browser-build-'))
    metafiles = await buildBrowser(out)
  })
  after(async () => { await rm(out, { recursive: true, force: true }) })

  it('bundles no Node module: no node: import, no ws, no file system code', async () => {
    for (const metafile of Object.values(metafiles)) {
      const inputs = Object.keys(metafile.inputs)
      assert.deepEqual(inputs.filter(input => input.startsWith('node:') || input.includes('node_modules/ws/')), [])
      for (const nodeOnly of ['lib/crypto/crypto.ts', 'lib/secure/key-files.ts', 'lib/mesh/peers-file.ts', 'lib/transport/tcp.ts', 'lib/transport/websocket.ts', 'lib/file-transfer/incoming-file.ts']) {
        assert.ok(!inputs.includes(nodeOnly), `${nodeOnly} is in the bundle`)
      }
    }
    const code = await readFile(join(out, LIBRARY_FILE), 'utf8')
    assert.doesNotMatch(code, /\bfrom\s*["']node:|require\(["']node:/)
  })

  it('puts every .browser.ts file in its sibling\'s place, offering nothing the sibling does not', async () => {
    const siblings = await browserSiblings()
    assert.ok(siblings.length >= 8, siblings.join(', '))
    const inputs = new Set([...Object.values(metafiles)].flatMap(metafile => Object.keys(metafile.inputs)))
    for (const browserFile of siblings) {
      const nodeFile = browserFile.replace(/\.browser\.ts$/, '.ts')
      const [forBrowser, forNode] = await Promise.all([browserFile, nodeFile].map(async file => await import(pathToFileURL(join(ROOT, file)).href) as Record<string, unknown>))
      // What the library imports from the sibling esbuild finds or fails the build; nothing more may be offered.
      const extra = Object.keys(forBrowser as object).filter(name => !(name in (forNode as object)))
      assert.deepEqual(extra, [], `${browserFile} exports what ${nodeFile} does not`)
      assert.ok(inputs.has(browserFile), `${browserFile} is not in the bundle`)
    }
  })

  it('exports what a page needs from the library bundle', async () => {
    const [exported] = Object.entries(metafiles.library.outputs).filter(([file]) => file.endsWith(LIBRARY_FILE)).map(([, output]) => output.exports)
    for (const name of ['MeshNode', 'websocketTransport', 'sendFile', 'receiveFiles', 'generateIdentity', 'DialError']) {
      assert.ok(exported?.includes(name), `${name} is not exported`)
    }
  })
})

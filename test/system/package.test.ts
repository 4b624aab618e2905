/**
 * The package as a user gets it: `npm pack` builds a tarball, which installs
 * into an empty project, and a two-node program there runs by the package's
 * name, with its subpath entries, its types and its command.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { ROOT } from '../support/processes.js'

const run = promisify(execFile)
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'

const PROGRAM = `
import { MeshNode } from 'meshline-p2p'
import { tcpTransport } from 'meshline-p2p/transports'
import { mapMessages } from 'meshline-p2p/transforms'
import { prometheusMetrics } from 'meshline-p2p/metrics'

const shout = mapMessages(m => m.type === 'chat' ? { type: 'chat', text: m.text.toUpperCase() } : m)
const a = new MeshNode({ host: '127.0.0.1', name: 'a', transport: tcpTransport(), outbound: [shout] })
const b = new MeshNode({ host: '127.0.0.1', name: 'b' })
await a.start()
await b.start()
const heard = new Promise(resolve => { b.once('chat', ({ peer, text }) => { resolve(peer.name + ': ' + text) }) })
await a.connect(b.address)
await a.broadcast('installed from the tarball')
console.log(await heard)
const { registry } = prometheusMetrics(b)
console.log((await registry.metrics()).includes('meshline_messages_received_total{kind="chat"} 1') ? 'metrics: 1 chat line' : 'metrics: missing')
await Promise.all([a.stop(), b.stop()])
`

describe('the package', () => {
  it('packs, installs into an empty project, and runs there by its name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshline-package-'))
    after(async () => { await rm(dir, { recursive: true, force: true }) })
    const { stdout: packed } = await run(NPM, ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, timeout: 120_000 })
    const [{ filename, name, files }] = JSON.parse(packed) as [{ filename: string, name: string, files: Array<{ path: string }> }]
    assert.equal(name, 'meshline-p2p')
    const paths = files.map(file => file.path)
    for (const entry of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/transport/index.js', 'dist/lib/metrics/index.js', 'dist/transforms/index.d.ts', 'dist/lib/cli/main.js', 'dist/lib/browser.d.ts', 'dist/browser/meshline.js', 'dist/browser/chat.js', 'dist/browser/index.html']) {
      assert.ok(paths.includes(entry), `the tarball holds ${entry}`)
    }
    assert.ok(!paths.some(path => path.startsWith('test/') || path.startsWith('harness/') || (path.endsWith('.ts') && !path.endsWith('.d.ts'))), 'no tests and no sources but type declarations')

    const project = join(dir, 'project')
    await mkdir(project)
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }))
    await run(NPM, ['install', join(dir, filename), '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project, timeout: 120_000 })
    await writeFile(join(project, 'main.js'), PROGRAM)
    const { stdout } = await run(process.execPath, ['main.js'], { cwd: project, timeout: 30_000 })
    assert.equal(stdout.trim(), 'a: INSTALLED FROM THE TARBALL\nmetrics: 1 chat line')

    await access(join(project, 'node_modules/meshline-p2p/dist/lib/index.d.ts'))
    const installed = JSON.parse(await readFile(join(project, 'node_modules/meshline-p2p/package.json'), 'utf8')) as { version: string }
    const { stdout: version } = await run(join(project, 'node_modules/.bin/meshline'), ['--version'], { cwd: project, timeout: 30_000 })
    assert.match(version, new RegExp(installed.version.replace(/\./g, '\\.')))
  })
})

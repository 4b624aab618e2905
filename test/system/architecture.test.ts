/**
 * The architecture as a test: no import circle anywhere in lib/ and
 * transforms/, imports only down the layers (scripts/import-graph.ts names
 * them), and test/ laid out like the source it tests.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { findCycles, importGraph, layerViolations, type ImportGraph } from '../../scripts/import-graph.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

describe('architecture', () => {
  const graph = importGraph()

  it('reads every source file and its imports', () => {
    assert.ok(graph.size > 50, `only ${graph.size} files read`)
    assert.ok(graph.get('lib/mesh/node.ts')?.includes('lib/mesh/connection-set.ts'))
    assert.ok(graph.get('transforms/handshake.ts')?.includes('transforms/core/line-protocol.ts'))
  })

  it('has no import circle', () => {
    assert.deepEqual(findCycles(graph), [])
  })

  it('imports only down the layers', () => {
    assert.deepEqual(layerViolations(graph), [])
  })

  it('finds a circle and an upward import when there is one', () => {
    const broken: ImportGraph = new Map([
      ['lib/mesh/a.ts', ['lib/mesh/b.ts']],
      ['lib/mesh/b.ts', ['lib/mesh/c.ts']],
      ['lib/mesh/c.ts', ['lib/mesh/a.ts']],
      ['transforms/core/errors.ts', ['lib/errors.ts']]
    ])
    assert.deepEqual(findCycles(broken), [['lib/mesh/a.ts', 'lib/mesh/b.ts', 'lib/mesh/c.ts', 'lib/mesh/a.ts']])
    assert.equal(layerViolations(broken).length, 1)
    assert.match(layerViolations(broken)[0] as string, /transforms\/core\/errors\.ts .* imports lib\/errors\.ts .* a layer above it/)
  })

  it('exports each public entry from a source entry of its own layer: meshline, /transports, /secure, /metrics, /file-transfer, /transforms, /browser', () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { exports: Record<string, { types: string }> }
    // The types name the source entry; the browser build's bundle is made from its source entry too.
    const sources = Object.entries(pkg.exports).map(([name, target]) => [name, target.types.replace(/^\.\/dist\//, '').replace(/\.d\.ts$/, '.ts')])
    assert.deepEqual(sources, [
      ['.', 'lib/index.ts'],
      ['./transports', 'lib/transport/index.ts'],
      ['./secure', 'lib/secure/index.ts'],
      ['./metrics', 'lib/metrics/index.ts'],
      ['./file-transfer', 'lib/file-transfer/index.ts'],
      ['./transforms', 'transforms/index.ts'],
      ['./browser', 'lib/browser.ts']
    ])
    for (const [, source] of sources) assert.ok(graph.has(source as string), `${source as string} exists`)
  })

  it('keeps test/ laid out like the source: one folder per source folder (of lib/, or web/), besides support, fixtures and system', () => {
    const folders = readdirSync(`${ROOT}test`, { withFileTypes: true }).filter(entry => entry.isDirectory()).map(entry => entry.name)
    const unmatched = folders.filter(name => !['support', 'fixtures', 'system', 'transforms', 'web'].includes(name) && !existsSync(`${ROOT}lib/${name}`))
    assert.deepEqual(unmatched, [])
  })
})

/**
 * The project's import graph, read from the TypeScript sources, and the two
 * rules it must keep: no import circle, and imports only down the layers.
 * test/system/architecture.test.ts holds the tree to both;
 *
 *   npm run imports    # prints every violation, exits 1 if there is one
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/**
 * The layers, lowest first: a file may import its own layer and those
 * below it, never one above. A path is in the first layer one of whose
 * prefixes it starts with.
 */
export const LAYERS: ReadonlyArray<{ name: string, paths: readonly string[] }> = [
  { name: 'line-protocol core', paths: ['transforms/core/'] },
  { name: 'transforms', paths: ['transforms/'] },
  { name: 'shared types and errors', paths: ['lib/types.ts', 'lib/errors.ts'] },
  { name: 'crypto', paths: ['lib/crypto/'] },
  { name: 'transports', paths: ['lib/transport/'] },
  { name: 'secure links', paths: ['lib/secure/'] },
  { name: 'end-to-end trust', paths: ['lib/trust/'] },
  { name: 'connection', paths: ['lib/connection/'] },
  { name: 'options', paths: ['lib/options/'] },
  { name: 'overlay', paths: ['lib/overlay/'] },
  { name: 'mesh', paths: ['lib/mesh/'] },
  { name: 'metrics', paths: ['lib/metrics/'] },
  { name: 'file transfer', paths: ['lib/file-transfer/'] },
  { name: 'command line', paths: ['lib/cli/'] },
  { name: 'public entry', paths: ['lib/index.ts', 'lib/browser.ts'] }
]

/** Files, relative to the root, mapped to the project files they import. */
export type ImportGraph = Map<string, string[]>

function sourceFiles (dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap(entry => {
    const path = `${dir}/${entry.name}`
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : []
  })
}

/** The import graph of every `.ts` file under `dirs`, type-only imports and re-exports included. */
export function importGraph (dirs: readonly string[] = ['lib', 'transforms']): ImportGraph {
  const graph: ImportGraph = new Map()
  for (const file of dirs.flatMap(sourceFiles)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, false)
    const targets = importedFiles
      .map(({ fileName }) => fileName)
      .filter(name => name.startsWith('.'))
      .map(name => relative(ROOT, join(ROOT, dirname(file), name)).replace(/\.js$/, '.ts'))
    graph.set(file, [...new Set(targets)])
  }
  return graph
}

/** Every import circle, each as the files along it, the first repeated at the end. */
export function findCycles (graph: ImportGraph): string[][] {
  const cycles: string[][] = []
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (file: string): void => {
    state.set(file, 'open')
    path.push(file)
    for (const target of graph.get(file) ?? []) {
      const seen = state.get(target)
      if (seen === 'open') cycles.push([...path.slice(path.indexOf(target)), target])
      else if (seen === undefined && graph.has(target)) visit(target)
    }
    path.pop()
    state.set(file, 'done')
  }
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file)
  return cycles
}

/** The index of the layer `file` is in, or -1 for a file outside every layer. */
export function layerOf (file: string): number {
  return LAYERS.findIndex(layer => layer.paths.some(prefix => file.startsWith(prefix)))
}

/** Every import that goes up a layer, or from or to a file in no layer, as a sentence. */
export function layerViolations (graph: ImportGraph): string[] {
  const problems: string[] = []
  for (const [file, targets] of graph) {
    const from = layerOf(file)
    if (from < 0) {
      problems.push(`${file} is in no layer`)
      continue
    }
    for (const target of targets) {
      const to = layerOf(target)
      if (to > from) problems.push(`${file} (${LAYERS[from]?.name as string}) imports ${target} (${LAYERS[to]?.name as string}), a layer above it`)
      if (to < 0) problems.push(`${file} imports ${target}, which is in no layer`)
    }
  }
  return problems
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const graph = importGraph()
  const problems = [...findCycles(graph).map(cycle => `import circle: ${cycle.join(' -> ')}`), ...layerViolations(graph)]
  for (const problem of problems) console.log(problem)
  console.log(`${graph.size} files, ${[...graph.values()].reduce((sum, targets) => sum + targets.length, 0)} imports, ${problems.length} problems`)
  process.exitCode = problems.length > 0 ? 1 : 0
}

/**
 * Runs one scenario of a bench in a child process of its own, so that one
 * that exhausts memory or file descriptors ends only itself. The child runs
 * the same script, bundled by esbuild as the library ships (tsx keeps every
 * function's name with an extra property each, a third more heap per
 * connection in a full mesh), started with `--scenario <json>`; it prints
 * its result as the last line of its output.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

/** A script bundled for child processes, until `remove()`. */
export interface ChildScript {
  run: <S, R>(scenario: S, budgetMs: number, heapMiB: number, failed: (why: string) => R) => Promise<R>
  remove: () => void
}

/**
 * Bundles `script` (a path) into a temporary directory under
 * node_modules/.cache, from where its dependencies resolve.
 */
export async function childScript (script: string): Promise<ChildScript> {
  const cache = fileURLToPath(new URL('../node_modules/.cache/', import.meta.url))
  mkdirSync(cache, { recursive: true })
  const dir = mkdtempSync(join(cache, 'meshline-bench-'))
  const outfile = join(dir, basename(script).replace(/\.ts$/, '.mjs'))
  await build({ entryPoints: [script], outfile, bundle: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'warning' })
  return {
    run: async (scenario, budgetMs, heapMiB, failed) => await inChild(outfile, scenario, budgetMs, heapMiB, failed),
    remove: () => { rmSync(dir, { recursive: true, force: true }) }
  }
}

/** Resolves with the child's result, or with `failed(why)` when it printed none within `budgetMs`. */
async function inChild<S, R> (script: string, scenario: S, budgetMs: number, heapMiB: number, failed: (why: string) => R): Promise<R> {
  return await new Promise(resolve => {
    const child = spawn(process.execPath, [`--max-old-space-size=${heapMiB}`, script, '--scenario', JSON.stringify(scenario)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, budgetMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const line = out.trim().split('\n').pop() ?? ''
      try {
        resolve(JSON.parse(line) as R)
      } catch {
        resolve(failed(signal === 'SIGKILL' ? `no result within ${Math.round(budgetMs / 1000)} s` : `exited with ${signal ?? code}`))
      }
    })
  })
}

/** The `--scenario` argument a child got, if this process is one. */
export function scenarioArgument<S> (): S | undefined {
  const index = process.argv.indexOf('--scenario')
  return index < 0 ? undefined : JSON.parse(process.argv[index + 1] as string) as S
}

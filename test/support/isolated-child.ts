/**
 * Runs one exported async function of a module and reports its result (or
 * its error) to the parent over IPC; see `isolated.ts`.
 *
 *   node --import tsx test/support/isolated-child.ts <module path> <export> <JSON array of arguments>
 */
import { pathToFileURL } from 'node:url'
import type { IsolatedOutcome } from './isolated.js'

const [modulePath, exportName, json] = process.argv.slice(2) as [string, string, string]
let outcome: IsolatedOutcome
try {
  const module = await import(pathToFileURL(modulePath).href) as Record<string, (...args: unknown[]) => Promise<unknown>>
  const fn = module[exportName]
  if (typeof fn !== 'function') throw new TypeError(`${modulePath} has no export ${exportName}`)
  outcome = { ok: true, result: await fn(...JSON.parse(json) as unknown[]) }
} catch (err) {
  const error = err instanceof Error ? err : new Error(String(err))
  outcome = { ok: false, message: error.message, stack: error.stack ?? error.message }
}
process.send?.(outcome, () => { process.disconnect() })

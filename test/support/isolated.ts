/**
 * Runs a heavy scenario in a fresh Node process. Inside `node --test`, the
 * runner tracks every async resource with an async hook (to attribute
 * uncaught errors to tests), which makes each promise several times dearer:
 * a scenario of hundreds of thousands of messages runs at half speed or
 * less. The child runs the same code without the hook and reports back.
 */
import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

export type IsolatedOutcome =
  | { ok: true, result: unknown }
  | { ok: false, message: string, stack: string }

/**
 * Calls `exportName(...args)` from `module` in a child process and returns
 * what it resolved with (as JSON). Fails with the child's error, if it threw,
 * after `timeout` ms, or if the child does not exit by itself once done
 * (something it started was left running).
 */
export async function runIsolated<T> (module: URL, exportName: string, args: unknown[], timeout: number): Promise<T> {
  const child = fork(fileURLToPath(new URL('./isolated-child.ts', import.meta.url)), [fileURLToPath(module), exportName, JSON.stringify(args)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  let timer: NodeJS.Timeout | undefined
  try {
    const outcome = await Promise.race([
      once(child, 'message').then(([message]) => message as IsolatedOutcome),
      exited.then(([code, signal]) => assert.fail(`${exportName} exited (${code ?? signal}) without a result`)),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => { reject(new assert.AssertionError({ message: `${exportName} did not finish within ${timeout} ms` })) }, timeout)
      })
    ])
    if (!outcome.ok) {
      const error = new assert.AssertionError({ message: outcome.message })
      error.stack = outcome.stack
      throw error
    }
    clearTimeout(timer)
    const stopped = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new assert.AssertionError({ message: `${exportName} finished but left something running` })) }, 5000)
    })
    await Promise.race([exited, stopped])
    return outcome.result as T
  } finally {
    clearTimeout(timer)
    if (child.exitCode === null && child.signalCode === null) child.kill()
  }
}

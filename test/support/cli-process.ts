/** A `meshline` command-line process run by a test, its output lines collected as they come. */
import assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { ROOT, tsx } from './processes.js'

/** Longest wait for any one expected line, in ms. */
export const DEADLINE = 15_000

/** A `meshline` process, its output lines collected as they come. */
export class Cli {
  readonly child: ChildProcessWithoutNullStreams
  readonly lines: string[] = []
  readonly stderr: string[] = []
  readonly exited: Promise<number | null>
  private wake: (() => void) | undefined

  constructor (args: string[]) {
    this.child = spawn(process.execPath, tsx('lib/cli/main.ts', ...args), { cwd: ROOT })
    createInterface({ input: this.child.stdout }).on('line', line => { this.lines.push(line); this.wake?.() })
    createInterface({ input: this.child.stderr }).on('line', line => { this.stderr.push(line) })
    this.exited = new Promise(resolve => { this.child.on('exit', code => { resolve(code); this.wake?.() }) })
  }

  /** The first line from index `from` on that matches, waiting for it up to DEADLINE. */
  async waitFor (pattern: RegExp, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + DEADLINE
    for (let seen = from; ; seen++) {
      while (seen >= this.lines.length) {
        const left = deadline - Date.now()
        if (left <= 0 || this.child.exitCode !== null) {
          assert.fail(`no line matching ${String(pattern)}; output:\n${this.lines.join('\n')}\nstderr:\n${this.stderr.join('\n')}`)
        }
        await new Promise<void>(resolve => {
          const timer = setTimeout(resolve, left)
          this.wake = () => { clearTimeout(timer); resolve() }
        })
      }
      const match = (this.lines[seen] as string).match(pattern)
      if (match !== null) return match
    }
  }

  /** Writes a command; returns the index its output starts from. */
  send (line: string): number {
    const mark = this.lines.length
    this.child.stdin.write(`${line}\n`)
    return mark
  }

  async exitCode (): Promise<number | null> {
    const timeout = setTimeout(() => { this.child.kill('SIGKILL') }, DEADLINE)
    try {
      return await this.exited
    } finally {
      clearTimeout(timeout)
    }
  }
}

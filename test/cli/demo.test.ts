import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'
import { ROOT, tsx } from '../support/processes.js'

describe('meshline demo', () => {
  it('forms a full mesh, chats, broadcasts, sends a verified file, and exits 0 by itself within seconds', async () => {
    const started = Date.now()
    const { stdout, stderr } = await promisify(execFile)(process.execPath, tsx('lib/cli/main.ts', 'demo'), { cwd: ROOT, timeout: 30_000 })
    assert.equal(stderr, '')
    assert.ok(Date.now() - started < 30_000)
    const lines = stdout.trimEnd().split('\n')
    for (const line of lines) assert.match(line, /^\[\d\d:\d\d:\d\d\] \[[\w-]+\] /)
    for (const expected of [
      /\[BOOTSTRAP\] node-5 joins through node-4 /,
      /\[DISCOVERY\] Converged in .*: every node is connected to the 4 others \(10 links\)$/,
      /\[node-2\] hello from node-2$/,
      /\[NETWORK\] 20\/20 chat messages delivered/,
      /\[NETWORK\] node-2 broadcast 1\.0 MiB of random bytes: 4\/4 nodes received them intact/,
      /\[FILE\] node-3: Sending demo-file\.bin: 50% /,
      /\[FILE\] node-1 received demo-file\.bin in .*: SHA-256 [0-9a-f]{16}\.\.\. verified$/,
      /\[SYSTEM\] Summary: 20 chat messages, 4 binary deliveries, 4 verified file copies$/,
      /\[SYSTEM\] Summary: 20\.0 MiB of data delivered in .* \(.*\/s\)$/,
      /\[SYSTEM\] Demo finished in /
    ]) {
      assert.ok(lines.some(line => expected.test(line)), `no line matching ${String(expected)} in:\n${stdout}`)
    }
    assert.equal(lines.some(line => line.includes('[ERROR]')), false)
  })
})

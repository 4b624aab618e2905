/**
 * Every README example marked `<!-- example: name -->` runs as written,
 * with its imports of the package pointed at this repository's source (and
 * of the package's dependencies at their installed copies), and prints what
 * its `console.log(...) // expected` comments say.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { ROOT } from '../support/processes.js'

const run = promisify(execFile)

/** The package's entries, as this repository's source files. */
const ENTRIES: Record<string, string> = {
  'meshline-p2p': 'lib/index.ts',
  'meshline-p2p/transports': 'lib/transport/index.ts',
  'meshline-p2p/secure': 'lib/secure/index.ts',
  'meshline-p2p/file-transfer': 'lib/file-transfer/index.ts',
  'meshline-p2p/transforms': 'transforms/index.ts'
}

interface Example { name: string, code: string }

function examples (readme: string): Example[] {
  return [...readme.matchAll(/<!-- example: ([\w-]+) -->\n```ts\n([\s\S]*?)```/g)].map(([, name, code]) => ({ name: name as string, code: code as string }))
}

/** What the example says it prints: each `console.log(...) // text`, `<...>` standing for anything. */
function expectedOutput (code: string): RegExp[] {
  return [...code.matchAll(/console\.log\(.*\) \/\/ (.+)$/gm)].map(([, text]) => {
    const pattern = (text as string).split(/<[^>]+>/).map(part => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+')
    return new RegExp(`^${pattern}$`, 'm')
  })
}

describe('README examples', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshline-examples-'))
  after(async () => { await rm(dir, { recursive: true, force: true }) })
  const found = examples(await readFile(join(ROOT, 'README.md'), 'utf8'))

  it('has the examples the README promises', () => {
    assert.deepEqual(found.map(example => example.name), ['first-program', 'transform-contract', 'fifty-nodes', 'transport-contract', 'protocol-streams', 'request-response'])
  })

  for (const example of found) {
    it(`runs "${example.name}" and prints what it says`, async () => {
      const code = example.code.replace(/from '([^'.][^']*)'/g, (_, entry: string) => {
        if (!entry.startsWith('meshline-p2p')) return `from '${import.meta.resolve(entry)}'`
        const source = ENTRIES[entry]
        assert.ok(source !== undefined, `no package entry ${entry}`)
        return `from '${join(ROOT, source)}'`
      })
      // .mts: an ES module wherever it is written, so top-level await works as in the README.
      const file = join(dir, `${example.name}.mts`)
      await writeFile(file, code)
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, timeout: 60_000 })
      const expected = expectedOutput(example.code)
      assert.ok(expected.length > 0, 'the example says what it prints')
      for (const line of expected) assert.match(stdout, line)
    })
  }
})

#!/usr/bin/env node
/**
 * The `meshline` command: `meshline [options] <port> [bootstrap-host:port]`,
 * `meshline demo`, `--help`, `--version`. Exit codes: 0 done, 1 failed,
 * 2 invalid arguments.
 */
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { InvalidOptionError } from '../errors.js'
import { USAGE, helpText, parseArgs, type CliArgs } from './args.js'
import { runDemo } from './demo.js'
import { Output } from './output.js'
import { runNode } from './session.js'

const EXIT_USAGE = 2
/** The package this command ships in, whose version `--version` prints. */
const PACKAGE_NAME = 'meshline-p2p'

/** The version in the package's package.json, found upward from this file (it runs from lib/cli or dist/lib/cli). */
async function packageVersion (): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    try {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name?: string, version?: string }
      if (pkg.name === PACKAGE_NAME && pkg.version !== undefined) return pkg.version
    } catch {
      // No package.json here: look in the parent folder.
    }
    const parent = dirname(dir)
    if (parent === dir) return 'unknown'
    dir = parent
  }
}

async function main (argv: string[]): Promise<number> {
  let args: CliArgs
  try {
    args = parseArgs(argv)
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) throw error
    process.stderr.write(`meshline: ${error.message}\n${USAGE}\nRun 'meshline --help' for more.\n`)
    return EXIT_USAGE
  }
  switch (args.command) {
    case 'help':
      process.stdout.write(helpText())
      return 0
    case 'version':
      process.stdout.write(`meshline ${await packageVersion()}\n`)
      return 0
    case 'demo':
      return await runDemo(new Output())
    case 'node':
      return await runNode(args, new Output({ format: args.log }), process.stdin)
  }
}

main(process.argv.slice(2)).then(
  code => {
    // Exit once stdout has taken everything, even if stdin is still open.
    process.stdout.write('', () => process.exit(code))
  },
  (error: unknown) => {
    process.stderr.write(`meshline: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
    process.exit(1)
  }
)

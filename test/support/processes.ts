/** Running this repository's TypeScript in child processes. */
import { fileURLToPath } from 'node:url'

/** The repository root: the working directory of every child process. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Node's arguments that run `script` (a path from ROOT) through tsx with `args`: spawn(process.execPath, tsx(...), { cwd: ROOT }). */
export const tsx = (script: string, ...args: string[]): string[] => ['--import', 'tsx', script, ...args]

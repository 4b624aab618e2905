/**
 * The browser build: esbuild bundles `lib/browser.ts` (the library) and
 * `web/chat.ts` (the chat page `meshline --web` serves) into ES modules
 * under `dist/browser/`, beside the page's HTML and CSS. Where a source file has a `.browser.ts` sibling,
 * the sibling takes its place (platform code: crypto, WebSocket, files);
 * `node:events` becomes the `events` package and the global `Buffer` the
 * `buffer` package. Any other `node:` import fails the build.
 *
 *   npm run build:browser
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Metafile, type Plugin } from 'esbuild'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const HERE = join(ROOT, 'scripts', 'browser')

/** Where the bundles go. */
export const BROWSER_DIST = join(ROOT, 'dist', 'browser')
/** Each bundle: its entry, as path segments from the root, and its file name. */
const BUNDLES = {
  library: { entry: ['lib', 'browser.ts'], file: 'meshline.js' },
  chatPage: { entry: ['web', 'chat.ts'], file: 'chat.js' }
} as const
export type BundleName = keyof typeof BUNDLES
/** The library bundle's file name: what a page imports. */
export const LIBRARY_FILE = BUNDLES.library.file
/** The page's static files, copied from `web/`. */
const PAGE_FILES = ['index.html', 'chat.css']

/** Puts `x.browser.ts` in the place of `x.ts` (imported as `x.js`) wherever there is one. */
const browserSiblings: Plugin = {
  name: 'browser-siblings',
  setup (builder) {
    builder.onResolve({ filter: /^\.\.?\/.*\.js$/ }, args => {
      const sibling = resolve(args.resolveDir, args.path.replace(/\.js$/, '.browser.ts'))
      return existsSync(sibling) ? { path: sibling } : undefined
    })
    builder.onResolve({ filter: /^node:events$/ }, () => ({ path: join(HERE, 'node-events.ts') }))
  }
}

/** Builds both bundles into `outdir`. @returns esbuild's account of their inputs and outputs, per bundle */
export async function buildBrowser (outdir = BROWSER_DIST): Promise<Record<BundleName, Metafile>> {
  const bundle = async (name: BundleName): Promise<[BundleName, Metafile]> => {
    const { entry, file } = BUNDLES[name]
    const result = await build({
      entryPoints: [join(ROOT, ...entry)],
      outfile: join(outdir, file),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      sourcemap: true,
      metafile: true,
      logLevel: 'warning',
      inject: [join(HERE, 'buffer-global.ts')],
      plugins: [browserSiblings]
    })
    return [name, result.metafile]
  }
  const built = Object.fromEntries(await Promise.all((Object.keys(BUNDLES) as BundleName[]).map(bundle))) as Record<BundleName, Metafile>
  mkdirSync(outdir, { recursive: true })
  for (const file of PAGE_FILES) copyFileSync(join(ROOT, 'web', file), join(outdir, file))
  return built
}

// Quiet but for esbuild's warnings: `npm pack --json` runs it and reads stdout.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await buildBrowser()

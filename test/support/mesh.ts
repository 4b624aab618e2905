/**
 * MeshNode tests: quiet nodes on loopback that a harness closes, typed
 * events awaited with a deadline, ids and addresses, error cause chains.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after } from 'node:test'
import { MeshNode, type MeshEvents, type MeshNodeOptions } from '../../lib/index.js'
import { HOST } from '../../harness/loopback.js'

/** Timers long enough never to fire during a test, so every byte on the wire is one the test asked for. */
export const QUIET: MeshNodeOptions = {
  host: HOST,
  connectionTimeout: 2000,
  maintenanceInterval: 60_000,
  discoveryInterval: 60_000,
  peerTimeout: 60_000,
  dialJitter: 0,
  autoDial: false,
  bootstrapAttempts: 1,
  bootstrapBackoff: 0
}

/** A fresh node id, as MeshNode makes them. */
export const newId = (): string => randomBytes(16).toString('hex')

/** Resolves with the first `event` whose payload passes `match`; fails after `ms`. */
export async function nextEvent<K extends keyof MeshEvents> (
  node: MeshNode, event: K, match: (...args: MeshEvents[K]) => boolean = () => true, ms = 3000
): Promise<MeshEvents[K]> {
  return await new Promise((resolve, reject) => {
    const listener = (...args: MeshEvents[K]): void => {
      if (!match(...args)) return
      cleanup()
      resolve(args)
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new assert.AssertionError({ message: `no ${String(event)} event within ${ms} ms` }))
    }, ms)
    const cleanup = (): void => {
      clearTimeout(timer)
      node.off(event, listener as never)
    }
    node.on(event, listener as never)
  })
}

/** The codes along an error's `cause` chain, outermost first; an error without a code counts by its name. */
export function causeCodes (err: unknown): string[] {
  const codes: string[] = []
  for (let e = err; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause) {
    const { code, name } = e as { code?: unknown, name?: unknown }
    if (typeof code === 'string') codes.push(code)
    else if (typeof name === 'string') codes.push(name)
  }
  return codes
}

/**
 * Starts nodes with `defaults` for one test file; whatever a test leaves
 * running is stopped once the file's tests end.
 */
export function fileNodes (defaults: MeshNodeOptions): {
  startNode: (opts?: MeshNodeOptions) => Promise<MeshNode>
  stopNodes: (...nodes: MeshNode[]) => Promise<void>
} {
  const running = new Set<MeshNode>()
  after(async () => { await Promise.all([...running].map(async node => { await node.stop() })) })
  return {
    startNode: async (opts = {}) => {
      const node = new MeshNode({ ...defaults, ...opts })
      running.add(node)
      await node.start()
      return node
    },
    stopNodes: async (...nodes) => {
      await Promise.all(nodes.map(async node => {
        await node.stop()
        running.delete(node)
      }))
    }
  }
}

/**
 * Tracks every node a test starts (with QUIET timers) and anything else it
 * opens, and closes them all. Subclass it for a file's own raw peers.
 */
export class Harness {
  private readonly nodes: MeshNode[] = []
  private readonly cleanups: Array<() => void | Promise<void>> = []

  async node (opts: MeshNodeOptions = {}): Promise<MeshNode> {
    const node = new MeshNode({ ...QUIET, ...opts })
    this.nodes.push(node)
    await node.start()
    return node
  }

  /** Runs `cleanup` on close, before the nodes stop: destroying a socket, closing a server. */
  onClose (cleanup: () => void | Promise<void>): void {
    this.cleanups.push(cleanup)
  }

  async close (): Promise<void> {
    await Promise.all(this.cleanups.map(async cleanup => { await cleanup() }))
    await Promise.all(this.nodes.map(async node => { await node.stop() }))
  }
}

/** Runs `fn` with a fresh harness (a `Kind` one when given) and closes it, however `fn` ends. */
export async function withHarness (fn: (h: Harness) => Promise<void>): Promise<void>
export async function withHarness<H extends Harness> (Kind: new () => H, fn: (h: H) => Promise<void>): Promise<void>
export async function withHarness<H extends Harness> (first: ((h: Harness) => Promise<void>) | (new () => H), second?: (h: H) => Promise<void>): Promise<void> {
  const h = second === undefined ? new Harness() : new (first as new () => H)()
  const fn = (second ?? first) as (h: Harness) => Promise<void>
  try {
    await fn(h)
  } finally {
    await h.close()
  }
}

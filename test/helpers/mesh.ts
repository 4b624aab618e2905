/**
 * Helpers shared by the hardening tests and the soak and fuzz scripts:
 * nodes with fast timers that are always stopped, bounded waits, and typed
 * event waits. Every wait has a deadline; nothing here sleeps to pass.
 */
import assert from 'node:assert/strict'
import { MeshNode, type MeshEvents, type MeshNodeOptions } from '../../lib/index.js'

export const HOST = '127.0.0.1'

/** Timers short enough for tests, long enough not to fire by accident on a busy machine. */
export const FAST: MeshNodeOptions = {
  host: HOST,
  dialJitter: 0,
  connectionTimeout: 2000,
  maintenanceInterval: 200,
  discoveryInterval: 200,
  peerTimeout: 5000,
  bootstrapBackoff: 20,
  reconnectBackoff: 50,
  reconnectMaxDelay: 500
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => { setTimeout(resolve, ms) }) }

/** Polls `condition` until it holds; fails after `ms`. */
export async function until (condition: () => boolean, what: string, ms = 5000, every = 10): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(every)
  }
}

/** Rejects if `promise` does not settle within `ms`. */
export async function within<T> (ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new assert.AssertionError({ message: `timed out after ${ms} ms waiting for ${what}` })) }, ms)
  })
  try {
    return await Promise.race([promise, expired])
  } finally {
    clearTimeout(timer)
  }
}

/** The first `event` whose payload passes `match`; fails after `ms`. */
export async function nextEvent<K extends keyof MeshEvents> (
  node: MeshNode, event: K, match: (...args: MeshEvents[K]) => boolean = () => true, ms = 5000
): Promise<MeshEvents[K]> {
  return await new Promise((resolve, reject) => {
    const listener = (...args: MeshEvents[K]): void => {
      if (!match(...args)) return
      cleanup()
      resolve(args)
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new assert.AssertionError({ message: `no matching ${String(event)} event within ${ms} ms` }))
    }, ms)
    const cleanup = (): void => {
      clearTimeout(timer)
      node.off(event, listener as never)
    }
    node.on(event, listener as never)
  })
}

export const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1))

/** `code` of an error, or of the first error along its `cause` chain that has one. */
export function codeOf (err: unknown): string | undefined {
  for (let e = err; e instanceof Error; e = e.cause) {
    const code = (e as Error & { code?: unknown }).code
    if (typeof code === 'string') return code
  }
  return undefined
}

/** Starts nodes with `FAST` defaults and stops every one of them at `stopAll()`. */
export class Nodes {
  private readonly running = new Set<MeshNode>()

  async start (opts: MeshNodeOptions = {}): Promise<MeshNode> {
    return await this.adopt(new MeshNode({ ...FAST, ...opts }))
  }

  /** Starts a node made elsewhere (to listen to its start-up events first) and tracks it. */
  async adopt (node: MeshNode): Promise<MeshNode> {
    this.running.add(node)
    await node.start()
    return node
  }

  async stop (...nodes: MeshNode[]): Promise<void> {
    await Promise.all(nodes.map(async node => {
      this.running.delete(node)
      await node.stop()
    }))
  }

  async stopAll (): Promise<void> {
    await this.stop(...this.running)
  }
}

/** Runs `fn` with a fresh `Nodes`, stopping them all however `fn` ends. */
export async function withNodes (fn: (nodes: Nodes) => Promise<void>): Promise<void> {
  const nodes = new Nodes()
  try {
    await fn(nodes)
  } finally {
    await nodes.stopAll()
  }
}

/**
 * The parent's side of a network benchmark: forks a peer process
 * (`bench/peer.ts`) and calls its methods over IPC. Every call has a
 * deadline, and a peer process exits when its parent goes away, so a stuck
 * benchmark fails instead of hanging.
 */
import { fork, type ChildProcess } from 'node:child_process'
import type { PeerMethods } from './peer.js'

type Args<M extends keyof PeerMethods> = Parameters<PeerMethods[M]>[0]
type Result<M extends keyof PeerMethods> = Awaited<ReturnType<PeerMethods[M]>>

/** The longest any single call may take, in ms: far above any round, so hitting it means something is stuck. */
const CALL_DEADLINE = 120_000

interface Pending {
  resolve: (value: unknown) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

interface Reply {
  id: number
  result?: unknown
  error?: string
}

export class PeerProcess {
  private nextId = 0
  private readonly pending = new Map<number, Pending>()
  private readonly exited: Promise<void>

  private constructor (private readonly child: ChildProcess, readonly label: string) {
    child.on('message', (reply: Reply) => {
      const call = this.pending.get(reply.id)
      if (call === undefined) return
      this.pending.delete(reply.id)
      clearTimeout(call.timer)
      if (reply.error !== undefined) call.reject(new Error(`${label}: ${reply.error}`))
      else call.resolve(reply.result)
    })
    this.exited = new Promise(resolve => {
      child.once('exit', code => {
        for (const call of this.pending.values()) {
          clearTimeout(call.timer)
          call.reject(new Error(`${label} exited (code ${String(code)}) during a call`))
        }
        this.pending.clear()
        resolve()
      })
    })
  }

  /**
   * Forks a peer process. It inherits this process's `execArgv`, so the tsx
   * loader and any `--cpu-prof` flags apply to it too.
   */
  static async start (label: string): Promise<PeerProcess> {
    const child = fork(new URL('./peer.ts', import.meta.url), [label], { execArgv: process.execArgv, serialization: 'advanced' })
    const peer = new PeerProcess(child, label)
    await peer.call('ready', undefined)
    return peer
  }

  call<M extends keyof PeerMethods> (method: M, args: Args<M>): Promise<Result<M>> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`${this.label}: ${method} took longer than ${CALL_DEADLINE} ms`))
      }, CALL_DEADLINE)
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer })
      this.child.send({ id, method, args })
    })
  }

  /** Asks the process to close everything and exit; kills it if it does not within a few seconds. */
  async stop (): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.send({ id: -1, method: 'exit', args: undefined })
    const killer = setTimeout(() => { this.child.kill('SIGKILL') }, 5000)
    await this.exited
    clearTimeout(killer)
  }
}

/** Starts peer processes, runs `fn` with them, and always stops them. */
export async function withPeers<T> (labels: string[], fn: (...peers: PeerProcess[]) => Promise<T>): Promise<T> {
  const peers = await Promise.all(labels.map(async label => await PeerProcess.start(label)))
  try {
    return await fn(...peers)
  } finally {
    await Promise.all(peers.map(async peer => { await peer.stop() }))
  }
}

/**
 * Optional: a mesh across network namespaces. Three namespaces, each with
 * one meshline process, joined through veth pairs to a bridge in a fourth;
 * every link is throttled with tc (netem delay and loss where the kernel has
 * it, else a tbf rate limit). The nodes form a full mesh from one bootstrap
 * address and every message each one sends reaches the other two, in order.
 * Needs root and `ip netns`; skipped with the reason otherwise. Only
 * addresses inside the namespaces it creates are used, and they are removed
 * however the test ends.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { describe, it } from 'node:test'
import { ROOT, tsx } from '../support/processes.js'

const NODES = 3
const MESSAGES = 2000
const PORT = 7000
const prefix = `ml${process.pid}`
const hub = `${prefix}h`
const nsOf = (i: number): string => `${prefix}n${i}`
const ipOf = (i: number): string => `10.99.0.${i + 1}`

function ip (...args: string[]): string {
  return execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString()
}

/** Why the test cannot run here, or undefined when it can. */
function unavailable (): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces are Linux only'
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root'
  try {
    ip('netns', 'add', `${prefix}probe`)
    ip('netns', 'del', `${prefix}probe`)
  } catch (error) {
    return `\`ip netns add\` failed: ${(error as Error).message.split('\n')[0] ?? ''}`
  }
  return undefined
}

/** Throttles a link with netem (delay and loss) if the kernel has it, else with a tbf rate limit; says which. */
function throttle (ns: string, dev: string): string {
  try {
    ip('-n', ns, 'link', 'set', dev, 'up')
    execFileSync('tc', ['-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'netem', 'delay', '10ms', '5ms', 'loss', '1%'], { stdio: 'pipe' })
    return 'netem delay 10±5 ms, 1% loss'
  } catch {
    execFileSync('tc', ['-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', '4mbit', 'burst', '16kbit', 'latency', '100ms'], { stdio: 'pipe' })
    return 'tbf 4 Mbit/s (this kernel has no netem)'
  }
}

function setUp (): string {
  let shaping = ''
  ip('netns', 'add', hub)
  ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge')
  ip('-n', hub, 'link', 'set', 'br0', 'up')
  for (let i = 0; i < NODES; i++) {
    const ns = nsOf(i)
    ip('netns', 'add', ns)
    ip('link', 'add', `${prefix}v${i}`, 'netns', ns, 'type', 'veth', 'peer', 'name', `${prefix}b${i}`, 'netns', hub)
    ip('-n', ns, 'link', 'set', `${prefix}v${i}`, 'name', 'eth0')
    ip('-n', ns, 'addr', 'add', `${ipOf(i)}/24`, 'dev', 'eth0')
    ip('-n', ns, 'link', 'set', 'lo', 'up')
    shaping = throttle(ns, 'eth0')
    ip('-n', hub, 'link', 'set', `${prefix}b${i}`, 'master', 'br0')
    ip('-n', hub, 'link', 'set', `${prefix}b${i}`, 'up')
  }
  return shaping
}

function tearDown (): void {
  for (const ns of [hub, ...Array.from({ length: NODES }, (_, i) => nsOf(i))]) {
    try { ip('netns', 'del', ns) } catch { /* not created */ }
  }
}

/** A node process in namespace `i`, its JSON output lines handed out in order. */
class NsNode {
  readonly child: ChildProcessWithoutNullStreams
  private readonly lines: unknown[] = []
  private wake: (() => void) | undefined
  readonly stderr: string[] = []

  constructor (i: number) {
    const args = [ipOf(i), String(PORT), String(NODES - 1), String(MESSAGES), ...(i === 0 ? [] : [`${ipOf(0)}:${PORT}`])]
    this.child = spawn('ip', ['netns', 'exec', nsOf(i), process.execPath, ...tsx('test/support/netns-node.ts', ...args)], { cwd: ROOT })
    createInterface({ input: this.child.stdout }).on('line', line => { this.lines.push(JSON.parse(line)); this.wake?.() })
    createInterface({ input: this.child.stderr }).on('line', line => { this.stderr.push(line) })
  }

  async next (what: string, ms: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms
    while (this.lines.length === 0) {
      if (Date.now() > deadline || this.child.exitCode !== null) assert.fail(`no ${what} within ${ms} ms; stderr: ${this.stderr.join('\n')}`)
      await new Promise<void>(resolve => { const t = setTimeout(resolve, 50); this.wake = () => { clearTimeout(t); resolve() } })
    }
    return this.lines.shift() as Record<string, unknown>
  }
}

describe('across network namespaces', () => {
  const reason = unavailable()
  it(`${NODES} processes in their own namespaces over throttled veth links form a mesh and deliver every message in order`, { skip: reason ?? false }, async () => {
    const processes: NsNode[] = []
    try {
      const shaping = setUp()
      for (let i = 0; i < NODES; i++) {
        const p = new NsNode(i)
        processes.push(p)
        // The bootstrap node must listen before the others dial it.
        if (i === 0) assert.deepEqual(await p.next('listening', 10_000), { listening: true })
      }
      for (const p of processes.slice(1)) assert.deepEqual(await p.next('listening', 10_000), { listening: true })
      for (const p of processes) assert.deepEqual(await p.next('full mesh', 20_000), { ready: true })
      for (const p of processes) p.child.stdin.write('go\n')
      for (const [i, p] of processes.entries()) {
        const { done } = await p.next('every message', 60_000) as { done: Record<string, { count: number, inOrder: boolean }> }
        const others = processes.map((_, j) => ipOf(j)).filter((_, j) => j !== i).sort()
        assert.deepEqual(Object.keys(done).sort(), others)
        for (const from of others) assert.deepEqual(done[from], { count: MESSAGES, inOrder: true }, `${from} -> ${ipOf(i)}`)
      }
      console.log(`netns: ${NODES} namespaces over a bridge, links shaped with ${shaping}; ${MESSAGES} messages from each node reached both others, in order`)
    } finally {
      for (const p of processes) p.child.stdin.end()
      await Promise.all(processes.map(async p => {
        if (p.child.exitCode !== null) return
        await new Promise<void>(resolve => {
          const t = setTimeout(() => { p.child.kill('SIGKILL'); resolve() }, 5000)
          p.child.once('exit', () => { clearTimeout(t); resolve() })
        })
      }))
      tearDown()
    }
  })
})

/**
 * `meshline demo`: a mesh of five nodes on 127.0.0.1 in this one process,
 * each bootstrapped from the one before. It shows discovery turning the
 * chain into a full mesh, chat reaching everyone, a broadcast of binary
 * data, and a file sent to every node with progress and a verified hash,
 * then prints a summary and stops. Timers are short so it ends in seconds.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { receiveFiles, type FileReceiver } from '../file-transfer/receiver.js'
import { sendFile } from '../file-transfer/sender.js'
import { MeshNode } from '../mesh/node.js'
import { formatBytes, formatDuration, formatRate, type Output } from './output.js'
import { explain, reportSend } from './report.js'
import type { MeshNodeOptions } from '../options/node-options.js'

const NODES = 5
const BINARY_SIZE = 1024 * 1024
const FILE_SIZE = 4 * 1024 * 1024
/** The whole demo must be over by then, or it fails, in ms. */
const DEADLINE = 30_000

/** Timers a hundred times shorter than the protocol's defaults, so the mesh forms and settles in well under a second. */
const DEMO_OPTIONS: MeshNodeOptions = {
  host: '127.0.0.1',
  maintenanceInterval: 1000,
  discoveryInterval: 300,
  peerTimeout: 5000,
  connectionTimeout: 2000,
  dialJitter: 50,
  bootstrapBackoff: 100,
  // As the command line does: every link of the demo runs over Noise.
  secure: 'preferred'
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex')

/** Wakes whoever waits for a condition whenever something happened. */
class Progress {
  private wake: (() => void) | undefined

  changed (): void {
    this.wake?.()
  }

  /** Resolves once `done()` holds; rejects when `signal` is aborted first. */
  async until (done: () => boolean, signal: AbortSignal): Promise<void> {
    const onAbort = (): void => { this.wake?.() }
    signal.addEventListener('abort', onAbort)
    try {
      while (!done()) {
        signal.throwIfAborted()
        await new Promise<void>(resolve => { this.wake = resolve })
      }
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }
}

/** What the nodes saw, counted as it happens. */
interface Tally {
  links: Set<string>
  chats: number
  binary: Map<string, string>
  files: Map<string, string>
}

/** Runs the demo. @returns the exit code */
export async function runDemo (out: Output): Promise<number> {
  const startedAt = performance.now()
  const signal = AbortSignal.timeout(DEADLINE)
  const dir = await mkdtemp(join(tmpdir(), 'meshline-demo-'))
  const nodes: MeshNode[] = []
  const receivers: FileReceiver[] = []
  const progress = new Progress()
  const tally: Tally = { links: new Set(), chats: 0, binary: new Map(), files: new Map() }
  try {
    out.line('SYSTEM', `Starting ${NODES} nodes on 127.0.0.1, each bootstrapping from the one before`)
    for (let i = 1; i <= NODES; i++) {
      const node = new MeshNode({ ...DEMO_OPTIONS, name: `node-${i}` })
      nodes.push(node)
      receivers.push(watch(node, join(dir, node.name), tally, progress, out))
      await node.start()
    }
    out.line('SYSTEM', `Listening: ${nodes.map(node => `${node.name} ${node.address}`).join(', ')}`)

    const meshStart = performance.now()
    for (let i = 1; i < NODES; i++) {
      const [node, seed] = [nodes[i] as MeshNode, nodes[i - 1] as MeshNode]
      out.line('BOOTSTRAP', `${node.name} joins through ${seed.name} (${seed.address})`)
      await node.connect(seed.address)
    }
    const allLinks = NODES * (NODES - 1) / 2
    await progress.until(() => tally.links.size === allLinks && nodes.every(node => node.peers().length === NODES - 1), signal)
    const meshMs = performance.now() - meshStart
    out.line('DISCOVERY', `Converged in ${formatDuration(meshMs)}: every node is connected to the ${NODES - 1} others (${allLinks} links)`)

    for (const node of nodes) await node.broadcast(`hello from ${node.name}`)
    const chats = NODES * (NODES - 1)
    await progress.until(() => tally.chats === chats, signal)
    out.line('NETWORK', `${tally.chats}/${chats} chat messages delivered (those received by node-1 are shown above)`)

    const [binarySender, fileSender] = [nodes[1] as MeshNode, nodes[2] as MeshNode]
    const binary = randomBytes(BINARY_SIZE)
    const binaryStart = performance.now()
    await binarySender.broadcastBytes(binary)
    await progress.until(() => tally.binary.size === NODES - 1, signal)
    const binaryMs = performance.now() - binaryStart
    const intact = [...tally.binary.values()].filter(hash => hash === sha256(binary)).length
    out.line('NETWORK', `${binarySender.name} broadcast ${formatBytes(BINARY_SIZE)} of random bytes: ${intact}/${NODES - 1} nodes received them intact in ${formatDuration(binaryMs)}`)

    const source = join(dir, 'demo-file.bin')
    const content = randomBytes(FILE_SIZE)
    await writeFile(source, content)
    out.line('FILE', `${fileSender.name} sends demo-file.bin (${formatBytes(FILE_SIZE)}, SHA-256 ${sha256(content)}) to its ${NODES - 1} peers`)
    const fileStart = performance.now()
    await reportSend(sendFile(fileSender, source), out, `${fileSender.name}: `)
    await progress.until(() => tally.files.size === NODES - 1, signal)
    const fileMs = performance.now() - fileStart
    // The receivers checked the hash the sender announced; this checks the copies against the original itself.
    let verified = 0
    for (const [name, path] of tally.files) {
      if (sha256(await readFile(path)) === sha256(content)) verified++
      else out.line('ERROR', `${name}: ${basename(path)} differs from the original`)
    }

    const moved = BINARY_SIZE * intact + FILE_SIZE * verified
    out.line('SYSTEM', `Summary: ${NODES} nodes, ${allLinks} links (full mesh in ${formatDuration(meshMs)})`)
    out.line('SYSTEM', `Summary: ${tally.chats} chat messages, ${intact} binary deliveries, ${verified} verified file copies`)
    out.line('SYSTEM', `Summary: ${formatBytes(moved)} of data delivered in ${formatDuration(binaryMs + fileMs)} (${formatRate(moved, binaryMs + fileMs)})`)
    if (intact !== NODES - 1 || verified !== NODES - 1) {
      out.line('ERROR', 'Demo failed: some copies differ from the original')
      return 1
    }
    out.line('SYSTEM', `Demo finished in ${formatDuration(performance.now() - startedAt)}`)
    return 0
  } catch (error) {
    out.line('ERROR', `Demo failed: ${signal.aborted ? `not finished within ${formatDuration(DEADLINE)}` : explain(error)}`)
    return 1
  } finally {
    await Promise.all(receivers.map(async files => { await files.close() }))
    await Promise.all(nodes.map(async node => { await node.stop() }))
    await rm(dir, { recursive: true, force: true })
  }
}

/** Counts and prints what `node` sees, and receives its files into `downloads`. */
function watch (node: MeshNode, downloads: string, tally: Tally, progress: Progress, out: Output): FileReceiver {
  node.on('peer:connect', ({ peer }) => {
    const link = [node.name, peer.name].sort().join(' <-> ')
    if (!tally.links.has(link)) {
      tally.links.add(link)
      out.line('NETWORK', `${link} connected over ${peer.security} (${tally.links.size}/${NODES * (NODES - 1) / 2} links)`)
    }
    progress.changed()
  })
  node.on('peers:discovered', ({ from, addresses }) => {
    out.line('DISCOVERY', `${node.name} learnt ${addresses.join(', ')} from ${from?.name ?? 'a peer'}`)
  })
  node.on('chat', ({ peer, text }) => {
    if (node.name === 'node-1') out.chat(peer.name, text)
    tally.chats++
    progress.changed()
  })
  node.on('bytes', ({ data }) => {
    tally.binary.set(node.name, sha256(data.subarray()))
    progress.changed()
  })
  const files = receiveFiles(node, { dir: downloads })
  files.on('complete', ({ path, sha256, durationMs, size }) => {
    out.line('FILE', `${node.name} received ${basename(path)} in ${formatDuration(durationMs)} (${formatRate(size, durationMs)}): SHA-256 ${sha256.slice(0, 16)}... verified`)
    tally.files.set(node.name, path)
    progress.changed()
  })
  files.on('failed', ({ name, error }) => {
    out.line('ERROR', `${node.name} could not receive ${name}: ${explain(error)}`)
  })
  return files
}

/**
 * Secure links beside plaintext, in the same process and the same run:
 *
 * - throughput: one node streams `BYTES` payloads to another over TCP on
 *   127.0.0.1 (`sendBytes`, so with backpressure), in MB (10^6 payload bytes)
 *   per second; rounds alternate plaintext and Noise, the median is kept.
 * - CPU: the process's CPU time (user and system, both ends) per GB of
 *   payload in those same runs, which other load on the machine skews less
 *   than wall-clock throughput.
 * - handshake: a TCP connect alone beside a TCP connect plus the Noise XX
 *   handshake (as the initiator sees it), p50 in ms.
 * - connect: `MeshNode.connect()` up to the admitted peer, plaintext beside
 *   Noise, p50 in ms.
 *
 * Sender and receiver share this one thread, so encryption and decryption
 * both count against the secure run.
 */
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { generateIdentity } from '../lib/identity.js'
import { MeshNode } from '../lib/node.js'
import type { MeshNodeOptions, SecureMode } from '../lib/options.js'
import { secureTransport } from '../lib/secure.js'
import { tcpTransport } from '../lib/tcp.js'
import type { Transport } from '../lib/transport.js'

export interface SecureRow {
  /** What was measured. */
  name: string
  unit: 'MB/s' | 'ms' | 'ms/GB'
  plaintext: number
  secure: number
  /** secure / plaintext: for MB/s above 1 is better, for ms and ms/GB below 1 is. */
  ratio: number
}

export interface SecureBenchOptions {
  /** Shorter runs, for a smoke test; numbers are noisier. */
  quick: boolean
}

const QUIET: MeshNodeOptions = { host: '127.0.0.1', maintenanceInterval: 600_000, discoveryInterval: 600_000, peerTimeout: 1_200_000, autoDial: false }

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)] as number
}

interface Run {
  mbPerSec: number
  cpuMsPerGb: number
}

/** Streams `totalBytes` of `payloadBytes`-sized `BYTES` messages from one node to another. */
async function throughput (secure: SecureMode, payloadBytes: number, totalBytes: number): Promise<Run> {
  const sender = new MeshNode({ ...QUIET, secure })
  const receiver = new MeshNode({ ...QUIET, secure })
  await sender.start()
  await receiver.start()
  try {
    await sender.connect(receiver.address)
    const payload = randomBytes(payloadBytes)
    const count = Math.ceil(totalBytes / payloadBytes)
    const expected = count * payloadBytes
    let received = 0
    const done = new Promise<void>(resolve => {
      receiver.on('bytes', ({ data }) => {
        received += data.byteLength
        if (received >= expected) resolve()
      })
    })
    const start = performance.now()
    const cpuStart = process.cpuUsage()
    for (let i = 0; i < count; i++) await sender.sendBytes(receiver.id, payload)
    await done
    const cpu = process.cpuUsage(cpuStart)
    return {
      mbPerSec: expected / ((performance.now() - start) / 1000) / 1e6,
      cpuMsPerGb: (cpu.user + cpu.system) / 1000 / (expected / 1e9)
    }
  } finally {
    await sender.stop()
    await receiver.stop()
  }
}

/** p50 of a TCP connect alone (`secure` false) or with the Noise handshake on top, in ms. */
async function handshakeTime (secure: boolean, iterations: number): Promise<number> {
  const tcp = tcpTransport()
  const responder = generateIdentity()
  // Sockets are half-open: the accepting side must close its ends itself.
  const accepted: Transport[] = []
  const listener = await tcp.listen('127.0.0.1', 0, transport => {
    accepted.push(transport)
    // The responder side only has to answer; its errors (the initiator closing at once) do not matter.
    if (secure) secureTransport(transport, { role: 'responder', identity: responder }).catch(() => {})
  })
  const initiator = generateIdentity()
  const times: number[] = []
  try {
    for (let i = 0; i < iterations; i++) {
      const start = performance.now()
      const transport = await tcp.dial('127.0.0.1', listener.port, { timeout: 5000 })
      const link = secure ? await secureTransport(transport, { role: 'initiator', identity: initiator }) : transport
      times.push(performance.now() - start)
      link.close()
      await link.closed
    }
  } finally {
    for (const transport of accepted) transport.close()
    await listener.close()
  }
  return median(times)
}

/** p50 of `MeshNode.connect()` to an admitted peer, in ms; a fresh dialer each time. */
async function connectTime (secure: SecureMode, iterations: number): Promise<number> {
  const target = new MeshNode({ ...QUIET, secure })
  await target.start()
  const times: number[] = []
  try {
    for (let i = 0; i < iterations; i++) {
      const dialer = new MeshNode({ ...QUIET, secure })
      await dialer.start()
      const start = performance.now()
      await dialer.connect(target.address)
      times.push(performance.now() - start)
      await dialer.stop()
    }
  } finally {
    await target.stop()
  }
  return median(times)
}

function row (name: string, unit: SecureRow['unit'], plaintext: number, secure: number): SecureRow {
  return { name, unit, plaintext, secure, ratio: secure / plaintext }
}

export async function runSecureBench (opts: SecureBenchOptions): Promise<SecureRow[]> {
  const rounds = opts.quick ? 1 : 5
  const totalBytes = (opts.quick ? 32 : 256) * 1024 * 1024
  const iterations = opts.quick ? 20 : 200
  const rows: SecureRow[] = []
  // Warm-up: JIT and socket buffers, for both modes, not measured.
  await throughput('off', 64 * 1024, 8 * 1024 * 1024)
  await throughput('required', 64 * 1024, 8 * 1024 * 1024)
  for (const payloadBytes of [64 * 1024, 1024]) {
    const plain: Run[] = []
    const noise: Run[] = []
    // Small payloads cost per message: a quarter of the bytes takes as long.
    const bytes = payloadBytes < 64 * 1024 ? totalBytes / 4 : totalBytes
    // Alternating rounds, so drift in the machine's speed hits both modes alike.
    for (let round = 0; round < rounds; round++) {
      plain.push(await throughput('off', payloadBytes, bytes))
      noise.push(await throughput('required', payloadBytes, bytes))
    }
    const size = `${payloadBytes / 1024} KiB BYTES`
    rows.push(row(`throughput, ${size}`, 'MB/s', median(plain.map(run => run.mbPerSec)), median(noise.map(run => run.mbPerSec))))
    rows.push(row(`CPU per GB, ${size} (both ends)`, 'ms/GB', median(plain.map(run => run.cpuMsPerGb)), median(noise.map(run => run.cpuMsPerGb))))
  }
  rows.push(row('handshake p50 (TCP connect; + Noise XX)', 'ms', await handshakeTime(false, iterations), await handshakeTime(true, iterations)))
  rows.push(row('connect() p50, to an admitted peer', 'ms', await connectTime('off', iterations / 4), await connectTime('required', iterations / 4)))
  return rows
}

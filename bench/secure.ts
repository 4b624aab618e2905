/**
 * Secure links beside plaintext, in the same run:
 *
 * - throughput: the point-to-point cases (`compareStreams`), with a Noise
 *   link (`secure: 'required'`) as the measured side and a plaintext link
 *   between the same two processes as the baseline. Sender and receiver are
 *   separate processes, one core each on a two-core machine, so encryption
 *   and decryption run in parallel, as on two peers of a mesh; rounds
 *   alternate, `ratio` compares the fastest rounds and `medianRatio` the
 *   median ones, and `cpuMsPerGb` is both processes' CPU time per GB.
 * - handshake: a TCP connect plus the Noise XX handshake (as the initiator
 *   sees it) beside a TCP connect alone, p50.
 * - connect: `MeshNode.connect()` up to the admitted peer, Noise beside
 *   plaintext, p50.
 *
 * - cipher: each large-payload row over Noise beside node:crypto alone
 *   sealing and then opening the same bytes, in the same 65,519-byte
 *   messages, on one core (AES-256-GCM, the cipher two current nodes
 *   agree on): how much of what the cipher allows the link delivers.
 *
 * The two handshake rows run in this process, both ends on one thread: a
 * handshake is a sequence of round trips in which one end works while the
 * other waits, so sharing a core costs it little. Their `messagesPerSec` is
 * handshakes (or connects) per second at the p50, so that, as in every row,
 * a ratio above 1 means faster.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { withPeers } from './fork.js'
import type { NetRow } from './measure.js'
import { CASES, compareStreams } from './point-to-point.js'
import { generateIdentity } from '../lib/secure/identity.js'
import { MeshNode } from '../lib/mesh/node.js'
import { secureTransport } from '../lib/secure/secure-transport.js'
import { tcpTransport } from '../lib/transport/tcp.js'
import type { Transport } from '../lib/transport/transport.js'
import type { SecureMode } from '../lib/types.js'
import type { MeshNodeOptions } from '../lib/options/node-options.js'

export interface SecureBenchOptions {
  /** Shorter runs, for a smoke test; numbers are noisier. */
  quick: boolean
}

const QUIET: MeshNodeOptions = { host: '127.0.0.1', maintenanceInterval: 600_000, discoveryInterval: 600_000, peerTimeout: 1_200_000, autoDial: false }
const NOISE: MeshNodeOptions = { secure: 'required' }

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)] as number
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

/** Bytes sealed and opened per cipher round. */
const CIPHER_BYTES = 256 * 1024 * 1024
const NOISE_PLAINTEXT = 65_519

/** node:crypto alone: MB/s of sealing and then opening `CIPHER_BYTES` in Noise-sized messages with AES-256-GCM, one core, the fastest of `rounds`. */
function cipherMbPerSec (rounds: number): number {
  const key = randomBytes(32)
  const nonce = Buffer.alloc(12)
  const plaintext = randomBytes(NOISE_PLAINTEXT)
  let best = Infinity
  for (let round = 0; round < rounds; round++) {
    const start = performance.now()
    for (let done = 0; done < CIPHER_BYTES; done += NOISE_PLAINTEXT) {
      nonce.writeUInt32BE(done / NOISE_PLAINTEXT, 8)
      const cipher = createCipheriv('aes-256-gcm', key, nonce)
      const ciphertext = cipher.update(plaintext)
      cipher.final()
      const decipher = createDecipheriv('aes-256-gcm', key, nonce)
      decipher.setAuthTag(cipher.getAuthTag())
      decipher.update(ciphertext)
      decipher.final()
    }
    best = Math.min(best, performance.now() - start)
  }
  return CIPHER_BYTES / (best / 1000) / 1e6
}

/** A row of p50 times, in the shape of the throughput rows: no payload, one "message" per handshake. */
function timeRow (name: string, p50Ms: number, baselineP50Ms: number): NetRow {
  return {
    name,
    payloadBytes: 0,
    messagesPerSec: 1000 / p50Ms,
    mbPerSec: 0,
    baselineMessagesPerSec: 1000 / baselineP50Ms,
    baselineMbPerSec: 0,
    ratio: baselineP50Ms / p50Ms,
    p50Ms,
    baselineP50Ms
  }
}

export async function runSecureBench (opts: SecureBenchOptions): Promise<NetRow[]> {
  const rows = await withPeers(['secure sender', 'secure receiver'], async (sender, receiver) => {
    await sender.call('meshSender', { addresses: await receiver.call('meshReceivers', { count: 1 }) })
    await sender.call('meshSender', { group: 'secure', addresses: await receiver.call('meshReceivers', { count: 1, group: 'secure', options: NOISE }), options: NOISE })
    const streams = await compareStreams(sender, receiver, CASES, opts, { meshline: 'secure', baseline: 'mesh' })
    return streams.map(row => ({ ...row, name: `${row.name} over Noise` }))
  })
  const cipher = cipherMbPerSec(opts.quick ? 2 : 5)
  for (const row of rows.filter(row => row.payloadBytes >= 64 * 1024)) {
    rows.push({
      name: `${row.name} (baseline: the cipher alone, AES-256-GCM seal + open on one core)`,
      payloadBytes: row.payloadBytes,
      messagesPerSec: row.messagesPerSec,
      mbPerSec: row.mbPerSec,
      baselineMessagesPerSec: cipher * 1e6 / row.payloadBytes,
      baselineMbPerSec: cipher,
      ratio: row.mbPerSec / cipher
    })
  }
  const iterations = opts.quick ? 20 : 200
  const tcpConnect = await handshakeTime(false, iterations)
  rows.push(timeRow('handshake p50: TCP connect + Noise XX (baseline: TCP connect)', await handshakeTime(true, iterations), tcpConnect))
  const plaintextConnect = await connectTime('off', iterations / 4)
  rows.push(timeRow('connect() p50 to an admitted peer, Noise (baseline: plaintext)', await connectTime('required', iterations / 4), plaintextConnect))
  return rows
}

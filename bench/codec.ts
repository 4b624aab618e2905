/**
 * In-memory codec throughput: meshline's `frameDecoder()` and `encoder()`
 * beside it-length-prefixed decoding and encoding payloads of the same size,
 * in the same run. Both sides run as async-iterable transforms over the same
 * in-memory source, which is how a connection pipeline uses them.
 *
 * - decode: the wire bytes, cut into 64 KiB chunks (one socket read each),
 *   become frames (meshline: line strings or payload views; it-length-prefixed:
 *   payload views).
 * - encode: messages become bytes. meshline takes them in batches of about
 *   64 KiB, as its pipeline hands them over; it-length-prefixed takes one
 *   payload per item, which is its API.
 *
 * Throughput counts payload bytes only (chat text, BYTES payloads), in MB
 * (10^6 bytes) per second.
 */
import * as lp from 'it-length-prefixed'
import { Uint8ArrayList } from 'uint8arraylist'
import { FrameEncoder, encoder } from '../transforms/encoder.js'
import { frameDecoder } from '../transforms/frame-decoder.js'
import type { Message } from '../transforms/core/line-protocol.js'
import { MB, type NetRow } from './measure.js'

export interface CodecBenchOptions {
  /** Shorter runs, for a smoke test; numbers are noisier. */
  quick: boolean
}

/** Size of each chunk fed to the decoders, in bytes: one socket read. */
const CHUNK_SIZE = 64 * 1024
/** Payload bytes that meshline's encoder receives per batch. */
const BATCH_BYTES = 64 * 1024
/** Wire bytes per pass over the input, in bytes. */
const PASS_BYTES = 4 * 1024 * 1024

interface Case {
  name: string
  payloadBytes: number
  /** Messages for meshline. */
  messages: Message[]
  /** The same payloads for it-length-prefixed. */
  payloads: Uint8Array[]
}

function makeCases (): Case[] {
  const cases: Case[] = []
  const chatText = 'chat line of 32 bytes, ok: 0000'.padEnd(32, '!')
  const count = Math.floor(PASS_BYTES / (chatText.length + 1))
  cases.push({
    name: 'chat',
    payloadBytes: chatText.length,
    messages: Array.from({ length: count }, () => ({ type: 'chat', text: chatText })),
    payloads: Array.from({ length: count }, () => Buffer.from(chatText))
  })
  for (const size of [1024, 64 * 1024]) {
    const payloads = Array.from({ length: Math.floor(PASS_BYTES / size) }, (_, i) => new Uint8Array(size).fill(i))
    cases.push({
      name: `BYTES ${size / 1024} KiB`,
      payloadBytes: size,
      messages: payloads.map(data => ({ type: 'bytes', data })),
      payloads
    })
  }
  return cases
}

/** Cuts `list` into chunks of `CHUNK_SIZE` bytes, as a socket would deliver it. */
function toChunks (list: Uint8ArrayList): Uint8Array[] {
  const whole = list.subarray()
  const chunks: Uint8Array[] = []
  for (let i = 0; i < whole.length; i += CHUNK_SIZE) chunks.push(whole.subarray(i, i + CHUNK_SIZE))
  return chunks
}

function inBatches<T> (items: T[], size: number): T[][] {
  const batches: T[][] = []
  for (let i = 0; i < items.length; i += size) batches.push(items.slice(i, i + size))
  return batches
}

async function * from<T> (items: T[]): AsyncGenerator<T> {
  yield * items
}

/** One pass over a case: resolves to the number of messages processed. */
type Pass = () => Promise<number>

function decodePasses (c: Case): [Pass, Pass] {
  const wire = toChunks(new FrameEncoder().encode(c.messages))
  const lpWire = new Uint8ArrayList()
  for (const piece of lp.encode(c.payloads)) lpWire.append(piece)
  const lpChunks = toChunks(lpWire)
  return [
    async () => {
      let n = 0
      for await (const frames of frameDecoder()(from(wire))) n += frames.length
      return n
    },
    async () => {
      let n = 0
      for await (const _payload of lp.decode(from(lpChunks))) n++
      return n
    }
  ]
}

function encodePasses (c: Case): [Pass, Pass] {
  const batches = inBatches(c.messages, Math.max(1, Math.floor(BATCH_BYTES / c.payloadBytes)))
  return [
    async () => {
      let bytes = 0
      for await (const list of encoder()(from(batches))) bytes += list.byteLength
      return bytes > 0 ? c.messages.length : 0
    },
    async () => {
      let bytes = 0
      for await (const chunk of lp.encode(from(c.payloads))) bytes += chunk.byteLength
      return bytes > 0 ? c.payloads.length : 0
    }
  ]
}

/** Runs `pass` repeatedly for about `budgetMs`; messages per second. */
async function rate (pass: Pass, budgetMs: number): Promise<number> {
  let messages = 0
  const start = performance.now()
  let elapsed = 0
  do {
    messages += await pass()
    elapsed = performance.now() - start
  } while (elapsed < budgetMs)
  return messages / (elapsed / 1000)
}

/**
 * Measures both sides in alternating rounds, so that drift (JIT, GC, CPU
 * frequency) affects both alike, and keeps each side's best round.
 */
async function compare ([meshline, baseline]: [Pass, Pass], quick: boolean): Promise<[number, number]> {
  const rounds = quick ? 2 : 5
  const budgetMs = quick ? 75 : 300
  await meshline()
  await baseline()
  let best: [number, number] = [0, 0]
  for (let round = 0; round < rounds; round++) {
    best = [Math.max(best[0], await rate(meshline, budgetMs)), Math.max(best[1], await rate(baseline, budgetMs))]
  }
  return best
}

/** Rows whose baseline is it-length-prefixed on the same payloads. */
export async function runCodecBench (opts: CodecBenchOptions): Promise<NetRow[]> {
  const rows: NetRow[] = []
  for (const c of makeCases()) {
    for (const [operation, passes] of [['decode', decodePasses(c)], ['encode', encodePasses(c)]] as const) {
      const [messagesPerSec, baselineMessagesPerSec] = await compare(passes, opts.quick)
      rows.push({
        name: `${operation} ${c.name}`,
        payloadBytes: c.payloadBytes,
        messagesPerSec,
        mbPerSec: messagesPerSec * c.payloadBytes / MB,
        baselineMessagesPerSec,
        baselineMbPerSec: baselineMessagesPerSec * c.payloadBytes / MB,
        ratio: messagesPerSec / baselineMessagesPerSec
      })
    }
  }
  return rows
}

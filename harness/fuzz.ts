/**
 * Protocol fuzzing against a live node: fast-check builds streams of valid
 * frames (hello, LISTEN, control lines, PEERS lists, chat, BYTES, protocol
 * stream frames for the handlers the node has and others), corrupts
 * some of them (flipped, inserted and deleted bytes, a cut-off end, a bogus
 * BYTES header), or makes pure noise or a Noise-shaped first flight, and
 * cuts them into chunks at random boundaries. Each stream goes to the node on a connection of its own; the
 * node must report any problem as a typed error, close that connection, and
 * carry on: after all runs it still answers PING on a new connection.
 * Used by test/fuzz.test.ts (a bounded number of runs) and scripts/fuzz.ts.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { pipe } from 'it-pipe'
import { Uint8ArrayList } from 'uint8arraylist'
import { MeshNode, MeshlineError, type MeshNodeOptions, type TransportFactory } from '../lib/index.js'
import { STREAM_PREFIX, encodeStreamFrame, type StreamFrame } from '../lib/connection/stream-protocol.js'
import { waitFor, within } from './async.js'
import { collect } from './streams.js'
import type { SecureMode } from '../lib/types.js'
import { memoryNetwork, tcpTransport } from '../lib/transport/index.js'

const encoder = new TextEncoder()
const line = (text: string): Uint8Array => encoder.encode(`${text}\n`)

const id = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{32}$/),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', ':', 'a b', 'x\u0001y', 'é')
)
const host = fc.oneof(fc.constantFrom('127.0.0.1', 'localhost', '[::1]', '10.0.0.1', '', 'h'), fc.domain())
const port = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(0, -1, 99999))
const address = fc.tuple(host, port).map(([h, p]) => `${h}:${p}`)

/** A `BYTES` frame of `payload`. */
function bytesFrame (payload: Uint8Array): Uint8Array {
  return concat([encoder.encode(`BYTES:${payload.length}\n`), payload])
}

/** The protocols the fuzzed node handles, and some it does not. */
export const FUZZ_ECHO = '/fuzz/echo/1'
export const FUZZ_REQUEST = '/fuzz/request/1'
const streamId = fc.integer({ min: 0, max: 12 })

/** A protocol-stream frame: well-formed (for a handled protocol or not, with any window), or a header with any type and body. */
const streamFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.tuple(streamId, fc.constantFrom(FUZZ_ECHO, FUZZ_REQUEST, '/unknown/1'), fc.integer({ min: 0, max: 1 << 20 }), fc.integer({ min: 0, max: 1 << 18 }))
    .map(([id, protocol, window, maxFrame]): StreamFrame => ({ type: 'open', id, window, maxFrame, protocol })),
  fc.tuple(streamId, fc.uint8Array({ maxLength: 2000 })).map(([id, data]): StreamFrame => ({ type: 'data', id, data: new Uint8ArrayList(data) })),
  fc.tuple(streamId, fc.nat()).map(([id, credit]): StreamFrame => ({ type: 'window', id, credit })),
  streamId.map((id): StreamFrame => ({ type: 'fin', id })),
  fc.tuple(streamId, fc.integer({ min: 1, max: 6 }), fc.string({ maxLength: 40 })).map(([id, code, reason]): StreamFrame => ({ type: 'reset', id, code: code as 1, reason }))
).map(frame => encodeStreamFrame(frame)).map(payload => payload instanceof Uint8Array ? payload : payload.subarray())
  .chain(payload => fc.oneof(
    { weight: 4, arbitrary: fc.constant(payload) },
    // Any type byte and body after the prefix: unknown types, short and long bodies.
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 })).map(([type, body]) => concat([encoder.encode(STREAM_PREFIX), Uint8Array.of(type), body])) }
  ))
  .map(bytesFrame)

/** One frame of the protocol, as bytes: well-formed most of the time. */
const frame: fc.Arbitrary<Uint8Array> = fc.oneof(
  streamFrame,
  fc.tuple(id, fc.string({ maxLength: 30 })).map(([i, name]) => line(`${i}:${name}`)),
  address.map(a => line(`LISTEN:${a}`)),
  fc.constantFrom('PING', 'PONG', 'REQUEST_PEERS', 'DUPLICATE', 'MAX_PEERS', '', '\r', '  PING  ').map(line),
  fc.array(address, { maxLength: 30 }).map(list => line(`PEERS:${list.join(',')}`)),
  fc.string({ maxLength: 200, unit: 'grapheme' }).map(line),
  fc.uint8Array({ maxLength: 3000 }).map(payload => {
    const header = encoder.encode(`BYTES:${payload.length}\n`)
    const bytes = new Uint8Array(header.length + payload.length)
    bytes.set(header)
    bytes.set(payload, header.length)
    return bytes
  })
)

/** A handshake a listener accepts, so that what follows reaches the connected-peer stages. */
const handshake = fc.stringMatching(/^[0-9a-f]{32}$/).map(i => encoder.encode(`${i}:fuzz\nLISTEN:127.0.0.1:1\n`))

type Mutation = (bytes: Uint8Array) => Uint8Array

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, value]): Mutation => bytes => {
    if (bytes.length === 0) return bytes
    const copy = bytes.slice()
    copy[at % copy.length] = value
    return copy
  }),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([at, noise]): Mutation => bytes => {
    const i = at % (bytes.length + 1)
    return concat([bytes.subarray(0, i), noise, bytes.subarray(i)])
  }),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 32 })).map(([at, count]): Mutation => bytes => {
    const i = at % (bytes.length + 1)
    return concat([bytes.subarray(0, i), bytes.subarray(i + count)])
  }),
  fc.nat().map((at): Mutation => bytes => bytes.subarray(0, at % (bytes.length + 1))),
  fc.constantFrom('-1', 'abc', '1e9', '99999999999999999999', ' 12', '16777217', '').map((length): Mutation => bytes =>
    concat([bytes, encoder.encode(`BYTES:${length}\n`)]))
)

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/**
 * What a Noise initiator's first flight looks like (a 2-byte big-endian
 * length, then that many bytes, the first byte being 0), more or less: a
 * listener that speaks Noise reads a stream starting with 0 as one.
 */
const noiseLike = fc.tuple(fc.integer({ min: 0, max: 200 }), fc.uint8Array({ maxLength: 300 }))
  .map(([length, body]) => concat([new Uint8Array([0, length]), body]))

/** A whole stream, already cut into the chunks it is written in. */
const protocolStream: fc.Arbitrary<Uint8Array[]> = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.option(handshake, { nil: undefined }), fc.array(frame, { maxLength: 40 }), fc.array(mutation, { maxLength: 4 })) },
  { weight: 2, arbitrary: fc.tuple(fc.constant(undefined), fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 4 }), fc.constant([])) },
  { weight: 1, arbitrary: fc.tuple(noiseLike, fc.array(frame, { maxLength: 4 }), fc.array(mutation, { maxLength: 2 })) }
).chain(([hello, frames, mutations]) => {
  let bytes = concat([...(hello === undefined ? [] : [hello]), ...frames])
  for (const mutate of mutations) bytes = mutate(bytes)
  return fc.array(fc.integer({ min: 1, max: 512 }), { maxLength: 64 }).map(sizes => {
    const chunks: Uint8Array[] = []
    let offset = 0
    for (const size of sizes) {
      if (offset >= bytes.length) break
      chunks.push(bytes.subarray(offset, offset + size))
      offset += size
    }
    if (offset < bytes.length) chunks.push(bytes.subarray(offset))
    return chunks
  })
})

async function * from (chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield * chunks
}

export interface FuzzReport {
  runs: number
  /** Errors the node reported, by code. */
  codes: Record<string, number>
  /** Streams whose handshake the node accepted. */
  admitted: number
  ms: number
}

export interface FuzzOptions {
  runs: number
  seed?: number
  /** Over TCP on 127.0.0.1 instead of the in-memory transport. */
  tcp?: boolean
  /** The node's link security: with 'preferred', a stream may also be read as a Noise handshake. @default 'off' */
  secure?: SecureMode
}

/**
 * Runs the property `runs` times against one node. Throws (with
 * fast-check's shrunk counterexample) if a stream makes the node throw,
 * leaves a promise rejection unhandled, reports an untyped error, or leaves
 * the connection open; then checks the node still answers PING.
 */
export async function fuzzNode (opts: FuzzOptions): Promise<FuzzReport> {
  const network: TransportFactory = opts.tcp === true ? tcpTransport() : memoryNetwork()
  const host = opts.tcp === true ? '127.0.0.1' : 'fuzz'
  const settings: MeshNodeOptions = {
    host,
    transport: network,
    connectionTimeout: 500,
    maintenanceInterval: 60_000,
    discoveryInterval: 60_000,
    maxLineLength: 4096,
    // Room for stream frames: a node takes streams only when 16 KiB of data and a header fit.
    maxBytesPerMessage: 32 * 1024,
    dialJitter: 0,
    secure: opts.secure ?? 'off'
  }
  const node = new MeshNode(settings)
  node.handleStream(FUZZ_ECHO, ({ stream }) => { void pipe(stream, stream).catch(() => {}) })
  node.handleRequests(FUZZ_REQUEST, request => request)
  const crashes: unknown[] = []
  const onCrash = (error: unknown): void => { crashes.push(error) }
  process.on('uncaughtException', onCrash)
  process.on('unhandledRejection', onCrash)
  const codes: Record<string, number> = {}
  let untyped: unknown
  node.on('connection:error', ({ error }) => {
    if (!(error instanceof MeshlineError)) untyped ??= error
    const code = error instanceof MeshlineError ? error.code : error.name
    codes[code] = (codes[code] ?? 0) + 1
  })
  let admitted = 0
  node.on('peer:connect', () => { admitted++ })
  const started = Date.now()
  try {
    await node.start()
    const port = Number(node.address.slice(node.address.lastIndexOf(':') + 1))
    await fc.assert(fc.asyncProperty(protocolStream, async chunks => {
      const transport = await network.dial(host, port, { timeout: 1000 })
      const reading = collect(transport.source)
      await transport.sink(from(chunks)).catch(() => {})
      await within(reading, 'the node to close the connection', 3000)
      await within(transport.closed, 'the connection to close', 3000)
      await waitFor(() => node.stats().connections === 0, 'the node to forget the connection', 3000)
      assert.equal(crashes.length, 0, `the node crashed: ${String(crashes[0])}`)
      assert.equal(untyped, undefined, `an untyped error was reported: ${String(untyped)}`)
      assert.equal(node.running, true)
    }), { numRuns: opts.runs, seed: opts.seed, endOnFailure: true })

    // Still serving: a new connection gets through the handshake and is answered.
    const transport = await network.dial(host, port, { timeout: 1000 })
    let answer = ''
    const reading = (async () => {
      for await (const chunk of transport.source) answer += Buffer.from(chunk instanceof Uint8Array ? chunk : chunk.subarray()).toString('latin1')
    })()
    let finish: () => void = () => {}
    const open = new Promise<void>(resolve => { finish = resolve })
    async function * ping (): AsyncGenerator<Uint8Array> {
      yield encoder.encode('0123456789abcdef0123456789abcdef:after\nLISTEN:127.0.0.1:1\nPING\n')
      await open
    }
    const writing = transport.sink(ping())
    await waitFor(() => node.peers().length === 1, 'the handshake after fuzzing', 2000)
    // The connection stays open until the answer is in: ending it first could close it before PONG is written.
    await waitFor(() => answer.includes('PONG\n'), 'the answer to PING', 3000)
    finish()
    await writing
    await within(reading, 'the node to close the connection', 3000)
    assert.match(answer, /^[^\n]+\n(PEERS:[^\n]*\n)?PONG\n/, `unexpected answer ${JSON.stringify(answer)}`)
    assert.equal(crashes.length, 0, `the node crashed: ${String(crashes[0])}`)
    return { runs: opts.runs, codes, admitted, ms: Date.now() - started }
  } finally {
    process.off('uncaughtException', onCrash)
    process.off('unhandledRejection', onCrash)
    await node.stop()
  }
}

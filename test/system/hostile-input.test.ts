/**
 * Hostile input against a live node over 127.0.0.1. Each offence comes from
 * its own connection while a well-behaved meshline peer is connected to the
 * same node, and must: produce a `connection:error` whose error `code` names
 * the offence, close that connection and no other, leave the node serving
 * the good peer (which receives every message of a broadcast sequence,
 * checked after each offence), and leave memory where it was.
 */
import assert from 'node:assert/strict'
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { FrameDecoder } from '../../transforms/frame-decoder.js'
import { type MeshNode } from '../../lib/index.js'
import { sleep, waitFor, within } from '../../harness/async.js'
import type { FloodOpened, FloodReport } from '../support/flood-client.js'
import { LiveHarness } from '../support/live.js'
import { MiB, formatMiB, liveBytes, seededBytes } from '../../harness/memory.js'
import { causeCodes, newId, nextEvent } from '../support/mesh.js'
import { HOST, portOf } from '../../harness/loopback.js'
import { RawSocket, type ByteSocket } from '../support/raw-socket.js'
import type { PeerInfo } from '../../lib/types.js'
import type { ProtocolStream } from '../../lib/connection/protocol-stream.js'
import { BASE_WINDOW, EARLY_MAX_FRAME, ResetCode, STREAM_PREFIX, decodeStreamFrame, encodeStreamFrame, type StreamFrame } from '../../lib/connection/stream-protocol.js'
import { Uint8ArrayList } from 'uint8arraylist'
import { tcpTransport } from '../../lib/transport/index.js'

/** The target's limits: a line big enough to carry a 100,000-entry `PEERS:` list, a small BYTES limit. */
const MAX_LINE_LENGTH = 4 * MiB
const MAX_BYTES_PER_MESSAGE = 1 * MiB
const CONNECTION_TIMEOUT = 800
/** Growth of live memory allowed across an offence; the largest offence sends 10 MiB. */
const MEMORY_SLACK = 24 * MiB

interface Offence {
  name: string
  /** Complete a valid handshake first, as a connected peer would. */
  handshake: boolean
  send: (raw: RawSocket<ByteSocket>, target: MeshNode) => Promise<void>
  /** The `code` of the reported error. */
  code: string
  /** Whether the node closes the connection for it. @default true */
  closes?: boolean
  /** Extra checks once the error is reported. */
  check?: (target: MeshNode, error: Error) => void
}

/** An offence that is one write of `data`. */
const writes = (data: string | Uint8Array) => async (raw: RawSocket<ByteSocket>): Promise<void> => { await raw.write(data) }

/** Writes `line` one byte every `interval` ms until the socket closes. */
async function trickle (raw: RawSocket<ByteSocket>, line: string, interval: number): Promise<void> {
  for (const byte of Buffer.from(line)) {
    if (raw.isClosed) return
    await raw.write(Buffer.from([byte]))
    await sleep(interval)
  }
}

/** The error the frame decoder raises on `bytes`, whatever the chunking: what the node must report. */
function decoderVerdict (bytes: Uint8Array): string | undefined {
  const decoder = new FrameDecoder({ maxLineLength: MAX_LINE_LENGTH, maxBytesPerMessage: MAX_BYTES_PER_MESSAGE })
  try {
    for (const _frame of decoder.decode(bytes)) { /* frames before the error are delivered as usual */ }
    decoder.end()
  } catch (err) {
    return causeCodes(err)[0]
  }
  return undefined
}

const RANDOM_10_MB = seededBytes(10 * MiB, 6)
const RANDOM_VERDICT = decoderVerdict(RANDOM_10_MB) ?? 'none'

/** `count` distinct loopback addresses, so that nothing the node dials leaves the machine. */
function loopbackAddresses (count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.${1 + ((i >> 16) & 0xff)}.${(i >> 8) & 0xff}.${i & 0xff}:${1 + (i % 60000)}`)
}

/** `payload` as one `BYTES` frame on the wire. */
const bytesFrame = (payload: Uint8Array | Uint8ArrayList): Buffer => Buffer.concat([Buffer.from(`BYTES:${payload.byteLength}\n`), payload instanceof Uint8Array ? payload : payload.subarray()])

const OFFENCES: Offence[] = [
  {
    name: 'a protocol-stream frame too short to name its stream',
    handshake: true,
    code: 'ERR_STREAM_FRAME',
    send: writes(bytesFrame(Buffer.from(`${STREAM_PREFIX}\u0000`)))
  },
  { name: 'BYTES:-1', handshake: true, code: 'ERR_INVALID_LENGTH', send: writes('BYTES:-1\n') },
  { name: 'BYTES:abc', handshake: true, code: 'ERR_INVALID_LENGTH', send: writes('BYTES:abc\n') },
  { name: 'BYTES:1e9', handshake: true, code: 'ERR_INVALID_LENGTH', send: writes('BYTES:1e9\n') },
  { name: 'BYTES:99999999999999999999', handshake: true, code: 'ERR_INVALID_LENGTH', send: writes('BYTES:99999999999999999999\n') },
  { name: 'BYTES: 12 (space before the length)', handshake: true, code: 'ERR_INVALID_LENGTH', send: writes('BYTES: 12\nabcdefghijkl') },
  {
    name: 'BYTES: one more than maxBytesPerMessage',
    handshake: true,
    code: 'ERR_MESSAGE_TOO_LARGE',
    send: writes(`BYTES:${MAX_BYTES_PER_MESSAGE + 1}\n`)
  },
  {
    name: 'a BYTES header followed by fewer bytes, then a close',
    handshake: true,
    code: 'ERR_TRUNCATED_FRAME',
    send: async raw => {
      await raw.write('BYTES:100\n0123456789')
      raw.socket.end()
    }
  },
  {
    name: 'a line without a newline growing past maxLineLength',
    handshake: true,
    code: 'ERR_LINE_TOO_LONG',
    send: async raw => {
      const piece = Buffer.alloc(256 * 1024, 0x61)
      for (let sent = 0; sent <= MAX_LINE_LENGTH && !raw.isClosed; sent += piece.length) await raw.write(piece)
    }
  },
  {
    name: '10 MB of random bytes',
    handshake: true,
    code: RANDOM_VERDICT,
    send: async raw => { void raw.write(RANDOM_10_MB) }
  },
  { name: 'invalid UTF-8', handshake: true, code: 'ERR_INVALID_UTF8', send: writes(Buffer.from([0x68, 0x69, 0xc3, 0x28, 0xff, 0x0a])) },
  { name: 'NUL bytes', handshake: true, code: 'ERR_NUL_BYTE', send: writes('hi\u0000there\n') },
  { name: 'handshake: an empty line', handshake: false, code: 'ERR_INVALID_HANDSHAKE', send: writes('\n') },
  { name: 'handshake: ":"', handshake: false, code: 'ERR_INVALID_HANDSHAKE', send: writes(':\n') },
  { name: 'handshake: an id with spaces', handshake: false, code: 'ERR_INVALID_HANDSHAKE', send: writes('bad id:name\nLISTEN:127.0.0.1:1\n') },
  {
    name: 'handshake: an id with control characters',
    handshake: false,
    code: 'ERR_INVALID_HANDSHAKE',
    send: writes('bad\u0001id\u001b[2J:name\nLISTEN:127.0.0.1:1\n')
  },
  {
    // Within maxLineLength, so it is the handshake budget that stops it, long before the line ends.
    name: 'handshake: a 1 MB id',
    handshake: false,
    code: 'ERR_HANDSHAKE_TOO_LARGE',
    send: async raw => { void raw.write(`${'x'.repeat(MiB)}:name\n`) }
  },
  {
    name: 'handshake: a BYTES payload before the handshake is done',
    handshake: false,
    code: 'ERR_HANDSHAKE_TOO_LARGE',
    send: async raw => { void raw.write(Buffer.concat([Buffer.from(`${newId()}:x\nBYTES:${MAX_BYTES_PER_MESSAGE}\n`), Buffer.alloc(MAX_BYTES_PER_MESSAGE)])) }
  },
  {
    name: 'handshake: the node\'s own id',
    handshake: false,
    code: 'ERR_SELF_CONNECTION',
    send: async (raw, target) => { await raw.write(`${target.id}:me\nLISTEN:127.0.0.1:1\n`) }
  },
  {
    name: 'PEERS: a list of 100,000 entries',
    handshake: true,
    code: 'ERR_LIMIT_EXCEEDED',
    closes: false,
    // Built when sent, not held for the whole file.
    send: async raw => { await raw.write(`PEERS:${loopbackAddresses(100_000).join(',')}\n`) },
    check: (target, error) => {
      assert.equal((error as Error & { limit?: string }).limit, 'maxPeersPerList')
      const stats = target.stats()
      assert.ok(stats.knownAddresses <= target.options.maxKnownPeers, `known addresses: ${stats.knownAddresses}`)
      assert.ok(stats.dialing + stats.scheduledDials <= target.options.maxPeers, `dials: ${stats.dialing} + ${stats.scheduledDials}`)
    }
  },
  {
    name: 'PEERS: malformed entries',
    handshake: true,
    code: 'ERR_MALFORMED_PEERS',
    closes: false,
    send: writes('PEERS:a,:,host:99999,host:-1\n'),
    check: (target, error) => {
      assert.deepEqual((error as Error & { entries?: string[] }).entries, ['a', ':', 'host:99999', 'host:-1'])
      for (const bad of ['a', ':', 'host:99999', 'host:-1']) assert.equal(target.knownPeers().some(k => k.address === bad), false)
    }
  }
]

// The same offences over the WebSocket listener (`wsPort`), in binary messages: the transport must not change what the node refuses.
for (const over of ['TCP', 'WebSocket'] as const) {
  describe(`hostile input on a live node, over ${over}`, () => {
    const nodes = new LiveHarness()
    let target: MeshNode
    let good: MeshNode
    let goodSince: PeerInfo
    const received: string[] = []
    let sequence = 0
    let baseline = 0

    before(async () => {
      target = await nodes.node({
        maxLineLength: MAX_LINE_LENGTH,
        maxBytesPerMessage: MAX_BYTES_PER_MESSAGE,
        connectionTimeout: CONNECTION_TIMEOUT,
        ...(over === 'WebSocket' ? { wsPort: 0 } : {})
      })
      good = await nodes.node({ name: 'good' })
      good.on('chat', ({ peer, text }) => { if (peer.id === target.id) received.push(text) })
      await good.connect(target.address)
      await waitFor(() => target.peers().some(p => p.id === good.id), 'the good peer on the target')
      goodSince = target.peers().find(p => p.id === good.id) as PeerInfo
      baseline = liveBytes()
    })
    after(async () => { await nodes.close() })

    async function connectRaw (): Promise<RawSocket<ByteSocket>> {
      return over === 'TCP' ? await RawSocket.connect(portOf(target.address)) : await RawSocket.connectWebSocket(portOf(target.webSocketAddress as string))
    }

    /** The target still serves the good peer on the very same connection, which got every message so far, in order. */
    async function assertServing (): Promise<void> {
      const text = `sequence ${++sequence}`
      const result = await within(target.broadcast(text), 'broadcast', 2000)
      assert.ok(result.queued.includes(good.id), 'broadcast queued for the good peer')
      await waitFor(() => received.length >= sequence, `the good peer to receive ${text}`, 2000)
      assert.deepEqual(received, Array.from({ length: sequence }, (_, i) => `sequence ${i + 1}`))
      const now = target.peers().find(p => p.id === good.id)
      assert.equal(now?.connectedAt, goodSince.connectedAt, 'the good peer kept its connection')
    }

    /** Each raw peer announces an address of its own (where nothing listens), as distinct peers do. */
    let listenPorts = 0
    async function handshake (raw: RawSocket<ByteSocket>, id: string): Promise<void> {
      const connected = nextEvent(target, 'peer:connect', ({ peer }) => peer.id === id)
      await raw.write(`${id}:hostile\nLISTEN:127.0.0.2:${++listenPorts}\n`)
      assert.equal(await raw.readLine(), `${target.id}:${target.name}\n`)
      await connected
    }

    for (const offence of OFFENCES) {
      it(`${offence.name}: reports ${offence.code}, ${offence.closes === false ? 'ignores the bad part' : 'closes only that connection'}`, async () => {
        const raw = await connectRaw()
        try {
          const id = newId()
          if (offence.handshake) await handshake(raw, id)
          const reported = nextEvent(target, 'connection:error', ({ remoteAddress }) => remoteAddress === raw.address, 5000)
          await offence.send(raw, target)
          const [{ error, closed, peer }] = await reported
          assert.equal(causeCodes(error)[0], offence.code, `reported ${causeCodes(error)[0]}: ${error.message}`)
          if (offence.handshake) assert.equal(peer?.id, id)
          offence.check?.(target, error)
          if (offence.closes === false) {
            assert.equal(closed, false)
            assert.ok(target.peers().some(p => p.id === id), 'the peer stays connected')
            raw.destroy()
            await waitFor(() => !target.peers().some(p => p.id === id), 'the hostile peer to be gone')
          } else {
            assert.equal(closed, true)
            await raw.waitClosed()
            assert.equal(target.peers().some(p => p.id === id), false)
          }
          await assertServing()
          await waitFor(() => target.stats().connections === 1, 'only the good connection left', 3000)
          assert.equal(target.stats().pendingHandshakes, 0)
        } finally {
          raw.destroy()
        }
        const live = liveBytes()
        assert.ok(live < baseline + MEMORY_SLACK, `live memory ${formatMiB(live)} against ${formatMiB(baseline)} before the offences`)
      })
    }

    it('handshake: silence (slowloris) is closed at connectionTimeout with ERR_HANDSHAKE_TIMEOUT', async () => {
      const raw = await connectRaw()
      const opened = Date.now()
      const [{ error, closed }] = await nextEvent(target, 'connection:error', ({ remoteAddress }) => remoteAddress === raw.address, 3000)
      assert.equal(causeCodes(error)[0], 'ERR_HANDSHAKE_TIMEOUT')
      assert.equal(closed, true)
      await raw.waitClosed()
      const elapsed = (raw.closedAt as number) - opened
      assert.ok(elapsed >= CONNECTION_TIMEOUT - 50 && elapsed < CONNECTION_TIMEOUT + 1000, `closed after ${elapsed} ms`)
      await assertServing()
    })

    it('handshake: a hello sent one byte at a time is closed at connectionTimeout: the timeout bounds the whole handshake', async () => {
      const raw = await connectRaw()
      const opened = Date.now()
      const reported = nextEvent(target, 'connection:error', ({ remoteAddress }) => remoteAddress === raw.address, 3000)
      // 60 bytes at 50 ms: 3 s, long after connectionTimeout, every byte well within it of the one before.
      const trickling = trickle(raw, `${newId()}:slow-but-steady\nLISTEN:${HOST}:1\n`, 50)
      const [{ error }] = await reported
      assert.equal(causeCodes(error)[0], 'ERR_HANDSHAKE_TIMEOUT')
      await raw.waitClosed()
      const elapsed = (raw.closedAt as number) - opened
      assert.ok(elapsed >= CONNECTION_TIMEOUT - 50 && elapsed < CONNECTION_TIMEOUT + 1000, `closed after ${elapsed} ms`)
      await trickling
      await assertServing()
    })

    it('streams: opening past maxStreamsPerPeer and overrunning a window cost only those streams, never the link', async () => {
      const raw = await connectRaw()
      const held: ProtocolStream[] = []
      const off = target.handleStream('/hostile/1', ({ stream }) => { held.push(stream) })
      try {
        await handshake(raw, newId())
        const limit = target.options.maxStreamsPerPeer
        const opens = Array.from({ length: limit + 3 }, (_, i) => bytesFrame(encodeStreamFrame({ type: 'open', id: 2 * i + 1, window: BASE_WINDOW, maxFrame: EARLY_MAX_FRAME, protocol: '/hostile/1' })))
        await raw.write(Buffer.concat(opens))
        /** The next stream frame the node sends back (its `PEERS:` answer to the hello is skipped). */
        const nextFrame = async (): Promise<StreamFrame> => {
          const header = await raw.readLineMatching(line => line.startsWith('BYTES:'))
          const length = Number(header.slice('BYTES:'.length, -1))
          return decodeStreamFrame(new Uint8ArrayList(await raw.readBytes(length)))
        }
        const answers: StreamFrame[] = []
        while (answers.length < limit + 3) answers.push(await nextFrame())
        assert.equal(answers.filter(f => f.type === 'accept').length, limit)
        const refused = answers.filter(f => f.type === 'refuse')
        assert.equal(refused.length, 3)
        assert.ok(refused.every(f => f.type === 'refuse' && f.code === ResetCode.tooManyStreams))
        assert.equal(held.length, limit)
        // One stream overrun: the node grants streamWindow, the peer sends more in one frame.
        const overrun = new Uint8ArrayList(new Uint8Array(target.options.streamWindow + 1))
        await raw.write(bytesFrame(encodeStreamFrame({ type: 'data', id: 1, data: overrun })))
        const reset = await nextFrame()
        assert.deepEqual({ type: reset.type, id: reset.id }, { type: 'reset', id: 1 })
        assert.equal(reset.type === 'reset' && reset.code, ResetCode.windowExceeded)
        await assert.rejects(held[0]?.source.next() as Promise<unknown>, (err: Error & { reason?: string }) => err.reason === 'window-exceeded')
        // The other streams and the link are fine.
        await raw.write(bytesFrame(encodeStreamFrame({ type: 'data', id: 3, data: new Uint8ArrayList(Buffer.from('still here')) })))
        const next = await held[1]?.source.next()
        assert.equal(Buffer.from(next?.value?.subarray() ?? []).toString(), 'still here')
        assert.equal(target.stats().streams, limit - 1)
        await assertServing()
      } finally {
        off()
        raw.destroy()
      }
      await waitFor(() => target.stats().streams === 0, 'the hostile peer\'s streams to end with its connection')
    })

    it('PEERS: the node\'s own addresses are never stored nor dialled', async () => {
      const raw = await connectRaw()
      try {
        const id = newId()
        await handshake(raw, id)
        const port = portOf(target.address)
        let dialledSelf = false
        const onDialFailed = ({ address }: { address: string }): void => { if (portOf(address) === port) dialledSelf = true }
        target.on('dial:failed', onDialFailed)
        const discovered = nextEvent(target, 'peers:discovered', ({ from }) => from?.id === id, 2000)
        await raw.write(`PEERS:${target.address},localhost:${port},LOCALHOST:${port},127.0.0.1:2\n`)
        const [{ addresses }] = await discovered
        assert.deepEqual(addresses, ['127.0.0.1:2'])
        await sleep(100)
        target.off('dial:failed', onDialFailed)
        assert.equal(dialledSelf, false)
        assert.equal(target.knownPeers().some(k => portOf(k.address) === port), false)
        await assertServing()
      } finally {
        raw.destroy()
      }
    })
  })
}

describe('connection flood', () => {
  it('refuses the excess of 5,000 simultaneous sockets at once and stays responsive to its peers', async () => {
    // ulimit -n is 20,000 here, so the full 5,000 fit: the flood comes from a
    // child process, and this process holds as many accepted sockets at most.
    const FLOOD = 5000
    const MAX_PENDING = 64
    const nodes = new LiveHarness()
    let flood: ChildProcess | undefined
    let sampler: NodeJS.Timeout | undefined
    const delay = monitorEventLoopDelay({ resolution: 10 })
    try {
      // A listen backlog as deep as the system allows, so that the flood reaches the node rather than being dropped by the kernel.
      const target = await nodes.node({ connectionTimeout: 1500, maxPeers: 10, maxPendingHandshakes: MAX_PENDING, transport: tcpTransport({ backlog: 8192 }) })
      const good = await nodes.node({ name: 'good' })
      await good.connect(target.address)
      // The target echoes the good peer's chat: one round trip through both nodes' pipelines.
      target.on('chat', ({ peer, text }) => { if (peer.id === good.id) target.send(good.id, `echo ${text}`).catch(() => {}) })
      const echoes = new Map<string, () => void>()
      good.on('chat', ({ text }) => { echoes.get(text)?.() })
      const roundTrip = async (n: number): Promise<number> => {
        const started = Date.now()
        const back = new Promise<void>(resolve => { echoes.set(`echo ping ${n}`, resolve) })
        await good.send(target.id, `ping ${n}`)
        await within(back, `round trip ${n}`, 2000)
        return Date.now() - started
      }
      await roundTrip(0)
      const baseline = liveBytes()
      let goodLost: Error | undefined
      target.on('peer:disconnect', ({ peer, reason }) => { if (peer.id === good.id) goodLost = reason })

      /** Every flood socket the node saw, by its port: what it reported and when. */
      const seen = new Map<number, { code: string | undefined, at: number }>()
      target.on('connection:error', ({ error, remoteAddress }) => { seen.set(portOf(remoteAddress), { code: causeCodes(error)[0], at: Date.now() }) })
      const admitted = new Set<number>()
      target.on('peer:connect', ({ peer }) => { if (peer.id !== good.id) admitted.add(portOf(peer.remoteAddress)) })
      let maxPending = 0
      sampler = setInterval(() => { maxPending = Math.max(maxPending, target.stats().pendingHandshakes) }, 1)
      delay.enable()

      const child = fork(fileURLToPath(new URL('../support/flood-client.ts', import.meta.url)), [String(portOf(target.address)), String(FLOOD)], {
        execArgv: ['--import', 'tsx']
      })
      flood = child
      const message = async <T>(): Promise<T> => (await once(child, 'message'))[0] as T
      const opened = message<FloodOpened>()

      // Round trips keep completing while the flood is on.
      const latencies: number[] = []
      let rounds = 1
      let flooding = true
      const pinging = (async () => {
        while (flooding) {
          if (goodLost !== undefined) assert.fail(`the good peer was dropped: ${goodLost.message}`)
          latencies.push(await roundTrip(rounds++))
        }
      })()
      pinging.catch(() => {})
      const { connected, failed, ms } = await within(opened, 'the flood to open', 30_000)
      // Every socket reaches the node (sockets the kernel queued arrive a little later) and is answered.
      const answered = (): boolean => seen.size + admitted.size >= connected && target.stats().pendingHandshakes === 0
      await waitFor(answered, `every socket to be answered (${seen.size + admitted.size} of ${connected} so far)`, 15_000)
      flooding = false
      await pinging
      clearInterval(sampler)
      delay.disable()
      // The last refusals take a moment to be seen by the flooding process.
      let closedAt = new Map<number, number | undefined>()
      const allClosed = (): boolean => [...seen.keys()].every(port => closedAt.get(port) !== undefined)
      for (let asked = 0; asked < 20 && (asked === 0 || !allClosed()); asked++) {
        if (asked > 0) await sleep(100)
        child.send('report')
        const { sockets } = await within(message<FloodReport>(), 'the flood report', 5000)
        closedAt = new Map(sockets.map(({ port, closedAt }) => [port, closedAt]))
      }
      const refused = [...seen].filter(([, { code }]) => code === 'ERR_LIMIT_EXCEEDED')
      // How many hit the bound, rather than MAX_PEERS after their hello, depends on how fast they arrive; that the bound was hit does not.
      assert.ok(refused.length > FLOOD / 10, `only ${refused.length} sockets refused at the pending-handshake bound`)
      const closeDelays: number[] = []
      for (const [port, { code, at }] of seen) {
        const closed = closedAt.get(port)
        assert.ok(closed !== undefined, `a socket refused with ${code} is still open`)
        if (code === 'ERR_LIMIT_EXCEEDED') closeDelays.push(closed - at)
      }
      // The node closes a refused socket as it accepts it; what is measured here
      // also includes the flooding process noticing, busy as it is opening the
      // rest (and whatever else the machine runs). A node that held refused
      // sockets until connectionTimeout (1.5 s) would still fail this.
      closeDelays.sort((a, b) => a - b)
      const medianClose = closeDelays[closeDelays.length >> 1] as number
      const slowestClose = closeDelays[closeDelays.length - 1] as number
      assert.ok(medianClose < 1000 && slowestClose < 5000, `refused sockets closed after ${medianClose} ms (median), ${slowestClose} ms (max)`)
      assert.ok(maxPending <= MAX_PENDING, `pending handshakes reached ${maxPending}`)
      assert.ok(target.stats().peers <= 10)
      assert.ok(latencies.length >= 3, `only ${latencies.length} round trips during the flood`)
      const worst = Math.max(...latencies)
      assert.ok(worst < 1000, `a round trip took ${worst} ms during the flood`)
      assert.equal(goodLost, undefined)

      child.send('exit')
      await once(child, 'exit')
      flood = undefined
      await waitFor(() => target.stats().connections === 1, 'the flood connections to be gone', 5000)
      const live = liveBytes()
      assert.ok(live < baseline + 32 * MiB, `live memory ${formatMiB(live)} against ${formatMiB(baseline)} before the flood`)
      await roundTrip(rounds)
      const codes = new Map<string, number>()
      for (const { code } of seen.values()) codes.set(code ?? '?', (codes.get(code ?? '?') ?? 0) + 1)
      console.log(`flood: ${connected} of ${FLOOD} sockets connected in ${ms} ms (${failed} failed); the node saw ${seen.size + admitted.size}: ` +
        `${[...codes].map(([code, n]) => `${n} ${code}`).join(', ')}, ${admitted.size} admitted; ` +
        `max ${maxPending} pending handshakes; refused sockets seen closed after ${medianClose} ms (median), ${slowestClose} ms (max); ` +
        `${latencies.length} round trips, worst ${worst} ms; event loop delay max ${(delay.max / 1e6).toFixed(0)} ms`)
    } finally {
      clearInterval(sampler)
      flood?.kill()
      await nodes.close()
    }
  })
})

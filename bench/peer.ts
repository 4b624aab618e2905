/**
 * A peer process of the network benchmarks, forked by `bench/fork.ts` and
 * driven over IPC. One process plays one side (senders or receivers) of
 * both meshline and the raw-socket baseline, so that both run with the same
 * process layout: each side has its own process, and so its own core.
 *
 * - meshline receivers are `MeshNode`s counting delivered messages (`chat`
 *   and `bytes` events); raw receivers are `net` servers counting bytes.
 * - the meshline sender is one `MeshNode` awaiting every `sendBytes()` /
 *   `broadcastBytes()` (or `send()` / `broadcast()` for chat); the raw sender
 *   makes one `write()` per message per socket and awaits `drain` whenever a
 *   write returns false.
 * - meshline nodes belong to a group, `mesh`, `secure` or `websocket`, each
 *   with its own sender and counters, so that two kinds of meshline link
 *   (plaintext and Noise, TCP and WebSocket) can be up side by side and
 *   measured in alternating rounds; the parent gives each group its node
 *   options, and the `websocket` group's nodes use the WebSocket transport.
 * - for latency, receivers echo chat lines (meshline) or ping frames (raw).
 * - every meshline receiver also takes protocol streams (`STREAM_SINK`),
 *   counting their bytes, and answers requests (`STREAM_ECHO`) with the
 *   request.
 *
 * Everything listens and dials on 127.0.0.1 only.
 */
import { once } from 'node:events'
import net from 'node:net'
import { pipe } from 'it-pipe'
import { MeshNode, type MeshNodeOptions } from '../lib/index.js'
import { websocketTransport } from '../lib/transport/websocket.js'
import { liveMemory } from '../harness/memory.js'

const HOST = '127.0.0.1'

/** Messages per array that a `sink` round's source yields. */
const SINK_BATCH = 4096
/** Bytes per write of the packed raw baseline. */
const PACKED_WRITE = 64 * 1024

/** The protocol a receiver counts the bytes of. */
const STREAM_SINK = '/bench/sink/1'
/** The protocol a receiver answers requests on, with the request. */
const STREAM_ECHO = '/bench/echo/1'

/** A chat line of 32 bytes, the "chat" payload of every benchmark. */
const CHAT_TEXT = 'chat line of 32 bytes, ok: 0000'.padEnd(32, '!')

/** What a benchmark sends: chat lines, or `BYTES` payloads of a size. */
export interface Payload {
  kind: 'chat' | 'bytes'
  /** Payload bytes per message (32 for chat). */
  payloadBytes: number
}

export interface StreamArgs {
  /** meshline only: whose sender streams. @default 'mesh' */
  group?: MeshGroup
  payload: Payload
  /** Messages to send (to each peer, for a broadcast). */
  count: number
  /**
   * meshline only: `send` to the first peer, `broadcast` to all,
   * `sink`: through `sender()` to the first peer, from a source of arrays of
   * `SINK_BATCH` messages, or `streams`: write the payloads on protocol
   * streams to the first peer (receivers then count bytes, not messages).
   */
  mode: 'send' | 'broadcast' | 'sink' | 'streams'
  /** The raw baseline only: messages packed back to back into writes of about 64 KiB, instead of a write each. */
  packed?: boolean
  /** `streams` mode: how many streams share the payloads, each writing its part one `write()` per payload. @default 1 */
  streams?: number
  /**
   * A new buffer per message instead of one reused buffer, so that what the
   * sender retains shows up in its memory (a reused buffer would hide it).
   */
  fresh?: boolean
  /** Samples the process's memory while sending. */
  watchMemory?: boolean
}

/** Memory of the sending process, in bytes: before sending, and the highest sample while sending. */
export interface MemoryPeaks {
  /** Resident set size, garbage included (sampled every few ms). */
  rss: { before: number, peak: number }
  /** Buffer (ArrayBuffer) memory still reachable after a full collection: the payloads the sender retains. */
  buffers: { before: number, peak: number }
  /** V8 heap still in use after a full collection: messages, queues and everything else. */
  heap: { before: number, peak: number }
}

export interface StreamResult {
  memory?: MemoryPeaks
  /** Peers disconnected while sending, with when (ms after the first send) and why. */
  disconnects: Array<{ atMs: number, code: string }>
}

/** Frame types of the raw latency baseline, whose frames are `[type u8][length u32be][payload]`. */
const RAW_DATA = 0
const RAW_PING = 1
const RAW_HEADER = 5

function rawFrame (type: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(RAW_HEADER + payload.length)
  frame[0] = type
  frame.writeUInt32BE(payload.length, 1)
  frame.set(payload, RAW_HEADER)
  return frame
}

/**
 * Counts what each receiver got, and resolves a waiter once every one of
 * them has reached a target: a plain counter per receiver, so that counting
 * costs the receivers next to nothing.
 */
class Counters {
  readonly counts: number[] = []
  private target = Infinity
  private below = 0
  private reached: (() => void) | undefined

  /** Adds a receiver; returns its index. */
  add (): number {
    this.counts.push(0)
    return this.counts.length - 1
  }

  count (index: number, units: number): void {
    const before = this.counts[index] as number
    const after = before + units
    this.counts[index] = after
    if (before < this.target && after >= this.target && --this.below === 0) this.reached?.()
  }

  reset (): void {
    this.counts.fill(0)
    this.target = Infinity
  }

  async waitFor (target: number): Promise<void> {
    this.target = target
    this.below = this.counts.filter(n => n < target).length
    if (this.below === 0) return
    await new Promise<void>(resolve => { this.reached = resolve })
    this.reached = undefined
  }
}

/** How often RSS is sampled while sending, in ms. */
const RSS_SAMPLE_INTERVAL = 5
/** How often live memory is sampled, in ms: each sample is two full collections (several ms), so seldom. */
const LIVE_SAMPLE_INTERVAL = 250

/** Samples memory until the returned function is called; it returns the peaks. */
function watchMemory (): () => MemoryPeaks {
  const live = liveMemory()
  const rss = process.memoryUsage.rss()
  const peaks: MemoryPeaks = { rss: { before: rss, peak: rss }, buffers: { before: live.arrayBuffers, peak: live.arrayBuffers }, heap: { before: live.heap, peak: live.heap } }
  const sampleRss = (): void => { peaks.rss.peak = Math.max(peaks.rss.peak, process.memoryUsage.rss()) }
  const sampleLive = (): void => {
    const { heap, arrayBuffers } = liveMemory()
    peaks.heap.peak = Math.max(peaks.heap.peak, heap)
    peaks.buffers.peak = Math.max(peaks.buffers.peak, arrayBuffers)
  }
  const timers = [setInterval(sampleRss, RSS_SAMPLE_INTERVAL), setInterval(sampleLive, LIVE_SAMPLE_INTERVAL)]
  return () => {
    for (const timer of timers) clearInterval(timer)
    sampleRss()
    return peaks
  }
}

function codeOf (err: Error): string {
  return (err as { code?: string }).code ?? err.name
}

/** No auto-dialling: the receivers learn each other's addresses from the sender, and must not connect to each other. */
const NODE_DEFAULTS: MeshNodeOptions = { host: HOST, autoDial: false }

/** What receivers count apart: meshline nodes of two groups, and raw sockets. */
export type Group = 'mesh' | 'secure' | 'websocket' | 'raw'
/** The groups of meshline nodes. */
export type MeshGroup = Exclude<Group, 'raw'>

/** A transport is no IPC argument: the `websocket` group's nodes make theirs here. */
function transportOf (group: MeshGroup | undefined): MeshNodeOptions {
  return group === 'websocket' ? { transport: websocketTransport() } : {}
}

/** Receivers count apart by group, so that a round never waits on another group's receivers. */
let counters: Record<Group, Counters> = { mesh: new Counters(), secure: new Counters(), websocket: new Counters(), raw: new Counters() }
const nodes: MeshNode[] = []
const servers: net.Server[] = []
/** Every socket of this process, to close them all. */
const sockets: net.Socket[] = []
/** The raw sender's sockets, one per raw receiver. */
let rawSockets: net.Socket[] = []
/** Each group's meshline sender, and the ids of the peers it connected to. */
let senders: Partial<Record<MeshGroup, { node: MeshNode, peers: string[] }>> = {}

function senderOf (group: MeshGroup = 'mesh'): { node: MeshNode, peerId: string } {
  const sender = senders[group]
  if (sender === undefined) throw new Error(`no ${group} sender`)
  return { node: sender.node, peerId: sender.peers[0] as string }
}

async function listen (onSocket: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer({ noDelay: true }, socket => {
    sockets.push(socket)
    socket.on('error', () => {})
    onSocket(socket)
  })
  servers.push(server)
  server.listen(0, HOST)
  await once(server, 'listening')
  return (server.address() as net.AddressInfo).port
}

async function dial (port: number): Promise<net.Socket> {
  const socket = net.connect({ host: HOST, port, noDelay: true })
  sockets.push(socket)
  await once(socket, 'connect')
  socket.on('error', () => {})
  return socket
}

/** Echoes every ping frame of the raw latency baseline; data frames are skipped without a copy. */
function rawEcho (socket: net.Socket): void {
  const header = Buffer.alloc(RAW_HEADER)
  let headerFill = 0
  let type = RAW_DATA
  let remaining = 0
  let ping: Buffer[] = []
  socket.on('data', (chunk: Buffer) => {
    let i = 0
    while (i < chunk.length) {
      if (headerFill < RAW_HEADER) {
        const take = Math.min(RAW_HEADER - headerFill, chunk.length - i)
        chunk.copy(header, headerFill, i, i + take)
        headerFill += take
        i += take
        if (headerFill === RAW_HEADER) {
          type = header[0] as number
          remaining = header.readUInt32BE(1)
          ping = []
        }
        continue
      }
      const take = Math.min(remaining, chunk.length - i)
      if (type === RAW_PING) ping.push(chunk.subarray(i, i + take))
      i += take
      remaining -= take
      if (remaining === 0) {
        if (type === RAW_PING) socket.write(rawFrame(RAW_PING, Buffer.concat(ping)))
        headerFill = 0
      }
    }
  })
}

function payloadOf (payload: Payload, seq: number, fresh: boolean, reused: Buffer): Buffer {
  return fresh ? Buffer.alloc(payload.payloadBytes, seq & 0xff) : reused
}

/** Runs `fn` while streaming 64 KiB frames through `write` until it is done: the "under load" condition. */
async function underLoad<T> (load: boolean, write: () => Promise<void>, fn: () => Promise<T>): Promise<T> {
  if (!load) return await fn()
  let stop = false
  const loading = (async () => { while (!stop) await write() })()
  try {
    // Let the stream fill every buffer on the way before measuring.
    await new Promise(resolve => setTimeout(resolve, 100))
    return await fn()
  } finally {
    stop = true
    await loading
  }
}

/** The methods the parent calls; each runs in this process. */
const methods = {
  async ready (_args: undefined): Promise<void> {},

  /**
   * Starts `count` meshline receivers of a group (`mesh` by default), with
   * `options` on top of the defaults; echoing ones send every chat line
   * back. They count messages from events, or (`batches`) from
   * `messages({ batch: true })`, the batch API's reader. Resolves with their
   * addresses.
   */
  async meshReceivers (args: { count: number, echo?: boolean, group?: MeshGroup, options?: MeshNodeOptions, batches?: boolean }): Promise<string[]> {
    const addresses: string[] = []
    const group = counters[args.group ?? 'mesh']
    for (let i = 0; i < args.count; i++) {
      const node = new MeshNode({ ...NODE_DEFAULTS, ...transportOf(args.group), ...args.options })
      const index = group.add()
      if (args.batches === true) {
        // The batch API's reader: an array of every message buffered, one step per burst.
        void (async () => {
          for await (const batch of node.messages({ batch: true })) group.count(index, batch.length)
        })()
      } else {
        node.on('bytes', () => { group.count(index, 1) })
        node.on('chat', ({ peer, text }) => {
          group.count(index, 1)
          if (args.echo === true) node.send(peer.id, text).catch(() => {})
        })
      }
      node.handleStream(STREAM_SINK, ({ stream }) => {
        void (async () => {
          for await (const chunk of stream.source) group.count(index, chunk.byteLength)
          await stream.closeWrite()
        })()
      })
      node.handleRequests(STREAM_ECHO, request => request)
      nodes.push(node)
      addresses.push(await node.start())
    }
    return addresses
  },

  /** Starts `count` raw receivers counting bytes (or echoing pings). Resolves with their ports. */
  async rawReceivers (args: { count: number, echo?: boolean }): Promise<number[]> {
    const ports: number[] = []
    for (let i = 0; i < args.count; i++) {
      const index = counters.raw.add()
      ports.push(await listen(socket => {
        if (args.echo === true) rawEcho(socket)
        else socket.on('data', (chunk: Buffer) => { counters.raw.count(index, chunk.length) })
      }))
    }
    return ports
  },

  /**
   * Connects to `address` as a meshline peer that completes its handshake
   * and then never reads again: its socket is paused, so the sender's
   * writes to it stop at the socket buffers.
   */
  async slowPeer (args: { address: string, id: string }): Promise<void> {
    const socket = await dial(Number(args.address.slice(args.address.lastIndexOf(':') + 1)))
    socket.write(`${args.id}:slow\nLISTEN:${HOST}:1\n`)
    await new Promise<void>(resolve => {
      socket.once('data', () => {
        socket.pause()
        resolve()
      })
    })
  },

  /** Starts the meshline sender of a group (`mesh` by default) and connects it to every receiver. Resolves with its own address. */
  async meshSender (args: { addresses: string[], group?: MeshGroup, options?: MeshNodeOptions }): Promise<string> {
    const node = new MeshNode({ ...NODE_DEFAULTS, maxPeers: args.addresses.length, ...transportOf(args.group), ...args.options })
    const peers: string[] = []
    senders[args.group ?? 'mesh'] = { node, peers }
    const address = await node.start()
    for (const target of args.addresses) peers.push((await node.connect(target)).id)
    return address
  },

  /** Connects one raw socket to each port. */
  async rawSender (args: { ports: number[] }): Promise<void> {
    for (const port of args.ports) rawSockets.push(await dial(port))
  },

  /** CPU time this process has used so far (user + system), in ms. */
  async cpuTime (_args: undefined): Promise<number> {
    const { user, system } = process.cpuUsage()
    return (user + system) / 1000
  },

  async resetCounts (args: { group: Group }): Promise<void> {
    counters[args.group].reset()
  },

  /** Resolves once every receiver of the group counted `units` (messages for meshline, bytes for raw). */
  async waitForCounts (args: { group: Group, units: number }): Promise<void> {
    await counters[args.group].waitFor(args.units)
  },

  /** Sends `count` messages through the meshline API from the group's sender, awaiting every call. */
  async meshStream (args: StreamArgs): Promise<StreamResult> {
    const { node, peerId } = senderOf(args.group)
    const { payload, count } = args
    const reused = Buffer.alloc(payload.payloadBytes, 0x61)
    const disconnects: StreamResult['disconnects'] = []
    const start = performance.now()
    const onDisconnect = ({ reason }: { reason: Error }): void => {
      disconnects.push({ atMs: performance.now() - start, code: codeOf(reason) })
    }
    node.on('peer:disconnect', onDisconnect)
    const memory = args.watchMemory === true ? watchMemory() : undefined
    if (args.mode === 'sink') {
      const one = payload.kind === 'chat' ? CHAT_TEXT : reused
      const batch = new Array(SINK_BATCH).fill(one)
      await pipe(function * () {
        for (let sent = 0; sent < count; sent += SINK_BATCH) yield count - sent >= SINK_BATCH ? batch : batch.slice(0, count - sent)
      }, node.sender(peerId))
    } else if (args.mode === 'streams') {
      const streams = args.streams ?? 1
      await Promise.all(Array.from({ length: streams }, async (_, n) => {
        const stream = await node.openStream(peerId, STREAM_SINK)
        for (let i = n; i < count; i += streams) await stream.write(payloadOf(payload, i, args.fresh === true, reused))
        await stream.closeWrite()
      }))
    } else if (payload.kind === 'chat') {
      if (args.mode === 'send') for (let i = 0; i < count; i++) await node.send(peerId, CHAT_TEXT)
      else for (let i = 0; i < count; i++) await node.broadcast(CHAT_TEXT)
    } else {
      const fresh = args.fresh === true
      if (args.mode === 'send') for (let i = 0; i < count; i++) await node.sendBytes(peerId, payloadOf(payload, i, fresh, reused))
      else for (let i = 0; i < count; i++) await node.broadcastBytes(payloadOf(payload, i, fresh, reused))
    }
    node.off('peer:disconnect', onDisconnect)
    return { memory: memory?.(), disconnects }
  },

  /**
   * Writes `count` messages to every raw socket: one `write()` each, or
   * (`packed`) as many as fit back to back in about 64 KiB per write;
   * awaiting `drain` when a write returns false.
   */
  async rawStream (args: StreamArgs): Promise<void> {
    const { payload } = args
    const single = payload.kind === 'chat' ? Buffer.from(`${CHAT_TEXT}\n`) : Buffer.alloc(payload.payloadBytes, 0x61)
    const perWrite = args.packed === true ? Math.max(1, Math.floor(PACKED_WRITE / single.length)) : 1
    const message = perWrite === 1 ? single : Buffer.concat(new Array(perWrite).fill(single))
    const count = Math.floor(args.count / perWrite)
    const rest = args.count - count * perWrite
    if (rest > 0) for (const socket of rawSockets) socket.write(message.subarray(0, rest * single.length))
    const drains: Array<Promise<unknown>> = []
    for (let i = 0; i < count; i++) {
      for (const socket of rawSockets) {
        if (!socket.write(message)) drains.push(once(socket, 'drain'))
      }
      if (drains.length > 0) {
        await Promise.all(drains)
        drains.length = 0
      }
    }
  },

  /** Round-trip times of `count` chat lines echoed by the first peer, one at a time, in µs. */
  async meshPing (args: { count: number, load: boolean }): Promise<number[]> {
    const { node, peerId } = senderOf()
    const stream = Buffer.alloc(64 * 1024, 0x61)
    let echoed: (() => void) | undefined
    const onChat = (): void => { echoed?.() }
    node.on('chat', onChat)
    try {
      return await underLoad(args.load, async () => { await node.sendBytes(peerId, stream) }, async () => {
        const rtts: number[] = []
        for (let i = 0; i < args.count; i++) {
          const back = new Promise<void>(resolve => { echoed = resolve })
          const start = performance.now()
          await node.send(peerId, CHAT_TEXT)
          await back
          rtts.push((performance.now() - start) * 1000)
        }
        return rtts
      })
    } finally {
      node.off('chat', onChat)
    }
  },

  /** Round-trip times of `count` 32-byte requests to the first peer's `STREAM_ECHO`, one at a time, in µs. */
  async meshRequests (args: { count: number }): Promise<number[]> {
    const { node, peerId } = senderOf()
    const request = Buffer.from(CHAT_TEXT)
    const rtts: number[] = []
    for (let i = 0; i < args.count; i++) {
      const start = performance.now()
      await node.request(peerId, STREAM_ECHO, request)
      rtts.push((performance.now() - start) * 1000)
    }
    return rtts
  },

  /** The same over the first raw socket, with the raw baseline's ping frames. */
  async rawPing (args: { count: number, load: boolean }): Promise<number[]> {
    const socket = rawSockets[0] as net.Socket
    const ping = rawFrame(RAW_PING, Buffer.from(CHAT_TEXT))
    const stream = rawFrame(RAW_DATA, Buffer.alloc(64 * 1024, 0x61))
    let received = 0
    let echoed: (() => void) | undefined
    const onData = (chunk: Buffer): void => {
      received += chunk.length
      if (received >= ping.length) echoed?.()
    }
    socket.on('data', onData)
    try {
      return await underLoad(args.load, async () => { if (!socket.write(stream)) await once(socket, 'drain') }, async () => {
        const rtts: number[] = []
        for (let i = 0; i < args.count; i++) {
          received = 0
          const back = new Promise<void>(resolve => { echoed = resolve })
          const start = performance.now()
          socket.write(ping)
          await back
          rtts.push((performance.now() - start) * 1000)
        }
        return rtts
      })
    } finally {
      socket.off('data', onData)
    }
  },

  /** Closes every node, socket and server of this process. */
  async closeAll (_args: undefined): Promise<void> {
    for (const socket of sockets.splice(0)) socket.destroy()
    rawSockets = []
    const stopping = [...Object.values(senders).map(sender => sender.node), ...nodes.splice(0)].map(async node => { await node.stop() })
    senders = {}
    await Promise.all([...stopping, ...servers.splice(0).map(async server => { await new Promise(resolve => server.close(resolve)) })])
    counters = { mesh: new Counters(), secure: new Counters(), websocket: new Counters(), raw: new Counters() }
  },

  async exit (_args: undefined): Promise<void> {
    await methods.closeAll(undefined)
    process.exit(0)
  }
}

export type PeerMethods = typeof methods

interface Call {
  id: number
  method: keyof PeerMethods
  args: never
}

// Run without a parent, there is no IPC channel and nothing to do.
if (process.send !== undefined) {
  process.on('message', (call: Call) => {
    methods[call.method](call.args).then(
      result => { process.send?.({ id: call.id, result }) },
      (err: Error) => { process.send?.({ id: call.id, error: err.stack ?? String(err) }) }
    )
  })
  // The parent went away: nothing is left to do.
  process.on('disconnect', () => { process.exit(0) })
}

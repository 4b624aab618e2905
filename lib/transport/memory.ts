/**
 * In-memory transport: connected duplex pairs with the same contract as TCP
 * (bounded buffering, backpressure, close), for tests and for simulating
 * many nodes in one process with the very same connection pipelines.
 * Links can be given a latency and a loss rate, to simulate a network.
 */
import { ConnectionClosedError, DialError, InvalidOptionError } from '../errors.js'
import type { ByteChunk, DialOptions, Transport, TransportFactory, TransportListener } from './transport.js'
import { formatAddress } from '../../transforms/core/line-protocol.js'
import { applyTable, checked, integer, isFunction, type OptionTable } from '../../transforms/core/option-table.js'
import { WakeUp } from '../../transforms/core/wake-up.js'

export interface MemoryTransportOptions {
  /**
   * Bytes in flight per direction before the writer waits.
   */
  highWaterMark?: number
  /**
   * One-way delay of every written chunk, in ms: a number, or a function
   * drawing one per chunk. Chunks still arrive in order, and count against
   * `highWaterMark` while in flight.
   */
  latency?: number | (() => number)
  /**
   * Probability, from 0 to 1, that a written chunk is lost. A node's
   * connection writes whole frames per chunk, so a loss drops whole
   * messages and never breaks the framing (a lost handshake line does fail
   * its handshake).
   */
  loss?: number
  /** Source of randomness for `loss`, returning [0, 1); seed it for reproducible runs. */
  random?: () => number
}

/** Each in-memory transport option's default and range. */
export const MEMORY_TRANSPORT_OPTIONS = {
  highWaterMark: integer(256 * 1024, 1, { unit: 'bytes' }),
  latency: checked<number | (() => number)>(0, 'a number of ms >= 0 or a function returning one',
    value => isFunction(value) || (typeof value === 'number' && value >= 0 && Number.isFinite(value))),
  loss: checked(0, 'a probability from 0 to 1', value => typeof value === 'number' && value >= 0 && value <= 1),
  random: checked<() => number>(Math.random, 'a function returning a number in [0, 1)', isFunction, 'Math.random')
} satisfies OptionTable<MemoryTransportOptions>

interface ChannelOptions {
  highWaterMark: number
  latency: () => number
  loss: number
  random: () => number
}

interface InFlight {
  chunk: ByteChunk
  /** When the reader may have it (ms since epoch); 0 without latency. */
  at: number
}

/** One direction: a bounded byte queue between a writer and a reader. */
class Channel {
  private chunks: InFlight[] = []
  private bytes = 0
  private lastAt = 0
  private ended = false
  private closed = false
  private readonly reader = new WakeUp()
  private readonly writer = new WakeUp()
  private latencyTimer: NodeJS.Timeout | undefined

  constructor (private readonly opts: ChannelOptions) {}

  async write (chunk: ByteChunk): Promise<void> {
    while (this.bytes >= this.opts.highWaterMark && !this.closed) {
      await this.writer.wait()
    }
    if (this.closed || this.ended) throw new ConnectionClosedError('peer closed')
    if (this.opts.loss > 0 && this.opts.random() < this.opts.loss) return
    const delay = this.opts.latency()
    // Never before the previous chunk: a stream keeps its order whatever each chunk's delay.
    const at = delay > 0 || this.lastAt > 0 ? Math.max(this.lastAt, Date.now() + delay) : 0
    this.lastAt = at
    this.chunks.push({ chunk, at })
    this.bytes += chunk.byteLength
    this.reader.notify()
  }

  /** No more writes; the reader gets what is buffered, then ends. */
  end (): void {
    this.ended = true
    this.reader.notify()
  }

  /** Drops what is buffered; reader and writer both stop. */
  close (): void {
    this.closed = true
    clearTimeout(this.latencyTimer)
    this.chunks = []
    this.bytes = 0
    this.reader.notify()
    this.writer.notify()
  }

  async * read (): AsyncGenerator<ByteChunk> {
    while (!this.closed) {
      const head = this.chunks[0]
      const wait = head === undefined ? 0 : head.at - Date.now()
      if (head !== undefined && wait > 0) {
        await new Promise<void>(resolve => {
          void this.reader.wait().then(resolve)
          this.latencyTimer = setTimeout(resolve, wait)
        })
        // A write may have woken us first; its timer is not needed any more.
        clearTimeout(this.latencyTimer)
      } else if (head !== undefined) {
        this.chunks.shift()
        this.bytes -= head.chunk.byteLength
        this.writer.notify()
        yield head.chunk
      } else if (this.ended) {
        return
      } else {
        await this.reader.wait()
      }
    }
  }
}

interface Endpoint { host: string, port: number }

function endpoint (channelIn: Channel, channelOut: Channel, local: Endpoint, remote: Endpoint, onClose: () => void, closed: Promise<void>): Transport {
  return {
    source: channelIn.read(),
    async sink (source) {
      for await (const chunk of source) await channelOut.write(chunk)
      channelOut.end()
    },
    remoteHost: remote.host,
    remoteAddress: formatAddress(remote.host, remote.port),
    localHost: local.host,
    close: onClose,
    closed
  }
}

/** Two connected transports: what one's sink writes, the other's source reads. */
export function duplexPair (opts: MemoryTransportOptions = {}, a: Endpoint = { host: 'memory-a', port: 1 }, b: Endpoint = { host: 'memory-b', port: 1 }): [Transport, Transport] {
  const { highWaterMark, latency, loss, random } = applyTable(MEMORY_TRANSPORT_OPTIONS, opts)
  const channel: ChannelOptions = { highWaterMark, latency: typeof latency === 'number' ? () => latency : latency, loss, random }
  const aToB = new Channel(channel)
  const bToA = new Channel(channel)
  let resolveClosed: () => void = () => {}
  const closed = new Promise<void>(resolve => { resolveClosed = resolve })
  const close = (): void => {
    aToB.close()
    bToA.close()
    resolveClosed()
  }
  return [endpoint(bToA, aToB, a, b, close, closed), endpoint(aToB, bToA, b, a, close, closed)]
}

/**
 * A transport whose addresses live in one in-memory network: every factory
 * made by the same `memoryNetwork()` can dial the others' listeners.
 */
export function memoryNetwork (opts: MemoryTransportOptions = {}): TransportFactory {
  applyTable(MEMORY_TRANSPORT_OPTIONS, opts)
  const listeners = new Map<string, (transport: Transport) => void>()
  let nextEphemeralPort = 40000
  return {
    async dial (host: string, port: number, _dialOpts: DialOptions): Promise<Transport> {
      const address = formatAddress(host, port)
      const accept = listeners.get(address)
      if (accept === undefined) throw new DialError(address, 1, { cause: new ConnectionClosedError('connection refused') })
      const [dialer, listener] = duplexPair(opts, { host: 'memory', port: nextEphemeralPort++ }, { host, port })
      accept(listener)
      return dialer
    },
    async listen (host: string, port: number, onConnection: (transport: Transport) => void): Promise<TransportListener> {
      const bound = port === 0 ? nextEphemeralPort++ : port
      const address = formatAddress(host, bound)
      if (listeners.has(address)) throw new InvalidOptionError(`Expected \`port\` to be free on ${host}, got ${bound}, which is in use`)
      listeners.set(address, onConnection)
      return { host, port: bound, close: async () => { listeners.delete(address) } }
    }
  }
}

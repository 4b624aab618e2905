/**
 * In-memory transport: connected duplex pairs with the same contract as TCP
 * (bounded buffering, backpressure, close), for tests and for simulating
 * many nodes in one process with the very same connection pipelines.
 */
import { ConnectionClosedError, DialError, InvalidOptionError } from './errors.js'
import type { ByteChunk, DialOptions, Transport, TransportFactory, TransportListener } from './transport.js'
import { formatAddress } from '../transforms/wire.js'

export interface MemoryTransportOptions {
  /**
   * Bytes in flight per direction before the writer waits.
   * @default 262144 (256 KiB)
   */
  highWaterMark?: number
}

const DEFAULT_HIGH_WATER_MARK = 256 * 1024

/** One direction: a bounded byte queue between a writer and a reader. */
class Channel {
  private chunks: ByteChunk[] = []
  private bytes = 0
  private ended = false
  private closed = false
  private wakeReader: (() => void) | undefined
  private wakeWriter: (() => void) | undefined

  constructor (private readonly highWaterMark: number) {}

  async write (chunk: ByteChunk): Promise<void> {
    while (this.bytes >= this.highWaterMark && !this.closed) {
      await new Promise<void>(resolve => { this.wakeWriter = resolve })
    }
    if (this.closed || this.ended) throw new ConnectionClosedError('peer closed')
    this.chunks.push(chunk)
    this.bytes += chunk.byteLength
    this.wakeReader?.()
  }

  /** No more writes; the reader gets what is buffered, then ends. */
  end (): void {
    this.ended = true
    this.wakeReader?.()
  }

  /** Drops what is buffered; reader and writer both stop. */
  close (): void {
    this.closed = true
    this.chunks = []
    this.bytes = 0
    this.wakeReader?.()
    this.wakeWriter?.()
  }

  async * read (): AsyncGenerator<ByteChunk> {
    while (!this.closed) {
      const chunk = this.chunks.shift()
      if (chunk !== undefined) {
        this.bytes -= chunk.byteLength
        this.wakeWriter?.()
        yield chunk
      } else if (this.ended) {
        return
      } else {
        await new Promise<void>(resolve => { this.wakeReader = resolve })
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
  const highWaterMark = opts.highWaterMark ?? DEFAULT_HIGH_WATER_MARK
  const aToB = new Channel(highWaterMark)
  const bToA = new Channel(highWaterMark)
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

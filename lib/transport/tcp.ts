/**
 * TCP transport: a `net.Socket` as a duplex async iterable. Reading pauses the
 * socket once `readHighWaterMark` bytes wait unread, so TCP flow control
 * slows a peer whose messages are not consumed; writing waits for `drain`,
 * and lets the event loop turn after every `writeBurstBytes`.
 */
import { once } from 'node:events'
import net from 'node:net'
import { Uint8ArrayList } from 'uint8arraylist'
import { ConnectionClosedError } from '../errors.js'
import { DEFAULT_LISTEN_BACKLOG, DEFAULT_READ_HIGH_WATER_MARK, DEFAULT_WRITE_BURST_BYTES, whenOpen, type ByteChunk, type DialOptions, type Transport, type TransportFactory, type TransportListener } from './transport.js'
import { applyTable, checkArgument, integer, type OptionTable } from '../../transforms/core/option-table.js'
import { formatAddress } from '../../transforms/core/line-protocol.js'
import { WakeUp } from '../../transforms/core/wake-up.js'

export interface TcpOptions {
  /**
   * Unread bytes buffered per socket before it is paused.
   */
  readHighWaterMark?: number
  /**
   * Bytes written to a socket back to back before its writer lets the event
   * loop turn (reads, timers, other sockets). Node completes a write at once
   * when the kernel takes the bytes, so without a turn a writer that always
   * has more queued keeps the whole process waiting for as long as the peer
   * keeps up.
   */
  writeBurstBytes?: number
  /**
   * Connections the operating system queues for the listener before the node
   * accepts them (capped by the system, `net.core.somaxconn` on Linux). A
   * burst beyond it is dropped by the kernel, unseen by the node.
   */
  backlog?: number
}

/** Each TCP transport option's default and range. */
export const TCP_OPTIONS = {
  readHighWaterMark: integer(DEFAULT_READ_HIGH_WATER_MARK, 1, { unit: 'bytes' }),
  writeBurstBytes: integer(DEFAULT_WRITE_BURST_BYTES, 1, { unit: 'bytes' }),
  backlog: integer(DEFAULT_LISTEN_BACKLOG, 1, { defaultText: '511 (as Node.js)' })
} satisfies OptionTable<TcpOptions>

function waitForDrain (socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      socket.off('drain', onDrain)
      socket.off('close', onClose)
      if (err === undefined) resolve()
      else reject(err)
    }
    const onDrain = (): void => { done() }
    const onClose = (): void => { done(new ConnectionClosedError('socket closed while writing')) }
    socket.on('drain', onDrain)
    socket.on('close', onClose)
  })
}

/** Resolves once the event loop has turned: pending reads, timers and other sockets have run. */
function nextTurn (): Promise<void> {
  return new Promise(resolve => { setImmediate(resolve) })
}

/**
 * What a socket delivered and its transport's source has not read yet. The
 * source is a method, one generator function for every socket: one made
 * per socket would give each its own prototype and hidden classes.
 */
class SocketReader {
  private unread = new Uint8ArrayList()
  private ended = false
  private failure: Error | undefined
  private readonly reader = new WakeUp()

  constructor (private readonly socket: net.Socket, highWaterMark: number) {
    socket.on('data', (chunk: Buffer) => {
      this.unread.append(chunk)
      if (this.unread.byteLength >= highWaterMark) socket.pause()
      this.reader.notify()
    })
    const finish = (): void => {
      this.ended = true
      this.reader.notify()
    }
    socket.on('end', finish)
    socket.on('close', finish)
    socket.on('error', (err) => {
      this.failure ??= err
      this.reader.notify()
    })
  }

  async * read (): AsyncGenerator<ByteChunk> {
    for (;;) {
      if (this.unread.byteLength > 0) {
        // Everything read so far goes out as one list: one step per burst, not per packet.
        const batch = this.unread
        this.unread = new Uint8ArrayList()
        if (this.socket.isPaused() && !this.socket.destroyed) this.socket.resume()
        yield batch
      } else if (this.failure !== undefined) {
        throw this.failure
      } else if (this.ended) {
        return
      } else {
        await this.reader.wait()
      }
    }
  }
}

/** Wraps a connected socket. */
export function socketTransport (socket: net.Socket, opts: TcpOptions = {}): Transport {
  checkArgument('socket', 'a net.Socket', socket, value => value instanceof net.Socket)
  socket.setNoDelay(true)
  const { readHighWaterMark, writeBurstBytes } = applyTable(TCP_OPTIONS, opts)
  const reader = new SocketReader(socket, readHighWaterMark)
  const closed = new Promise<void>(resolve => { socket.once('close', () => { resolve() }) })

  /** Writes one chunk; false when the socket asks the writer to wait for `drain`. */
  function write (chunk: ByteChunk): boolean {
    if (chunk instanceof Uint8Array) return socket.write(chunk)
    // Corked writes of one batch leave as one writev.
    socket.cork()
    let ready = true
    for (const piece of chunk) ready = socket.write(piece)
    socket.uncork()
    return ready
  }

  async function sink (chunks: AsyncIterable<ByteChunk>): Promise<void> {
    // Not `for await`: a suspended async function keeps the values of its
    // locals, so the loop variable would pin a written batch, payloads and
    // all, until the next one arrives; the socket itself holds what it has
    // not written yet.
    const iterator = chunks[Symbol.asyncIterator]()
    let burst = 0
    for (;;) {
      let next: IteratorResult<ByteChunk> | undefined = await iterator.next()
      if (next.done === true) break
      try {
        if (socket.destroyed || socket.writableEnded) throw new ConnectionClosedError('socket closed while writing')
        burst += next.value.byteLength
        const ready = write(next.value)
        next = undefined
        // A write the kernel takes at once emits 'drain' from process.nextTick, so waiting for it does not turn the loop.
        if (!ready) await waitForDrain(socket)
        if (burst >= writeBurstBytes) {
          burst = 0
          await nextTurn()
        }
      } catch (err) {
        // Leaving early closes the pipeline above, as `for await` would.
        await iterator.return?.().catch(() => {})
        throw err
      }
    }
    if (!socket.destroyed) socket.end()
  }

  const remoteHost = socket.remoteAddress ?? 'unknown'
  return {
    source: reader.read(),
    sink,
    remoteHost,
    remoteAddress: formatAddress(remoteHost, socket.remotePort ?? 0),
    localHost: socket.localAddress ?? 'unknown',
    close: () => { socket.destroy() },
    closed
  }
}

/**
 * Dials and listens over TCP. Sockets are half-open: a peer ending its writes
 * must not end ours before our queue is flushed.
 */
export function tcpTransport (options: TcpOptions = {}): TransportFactory {
  const opts = applyTable(TCP_OPTIONS, options)
  return {
    async dial (host: string, port: number, dialOpts: DialOptions): Promise<Transport> {
      const address = formatAddress(host, port)
      const socket = net.connect({ host, port, allowHalfOpen: true })
      // `once` rejects on the socket's 'error' too, and removes its listeners either way.
      await whenOpen(signal => once(socket, 'connect', { signal }), address, dialOpts, () => { socket.destroy() })
      return socketTransport(socket, opts)
    },

    async listen (host: string, port: number, onConnection: (transport: Transport) => void): Promise<TransportListener> {
      const server = net.createServer({ noDelay: true, allowHalfOpen: true }, socket => {
        // Errors are reported through the transport; one must be listening before then.
        socket.on('error', () => {})
        onConnection(socketTransport(socket, opts))
      })
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen({ host, port, backlog: opts.backlog }, () => {
          server.off('error', reject)
          resolve()
        })
      })
      const bound = server.address() as net.AddressInfo
      return {
        host: bound.address,
        port: bound.port,
        close: () => new Promise<void>(resolve => { server.close(() => { resolve() }) })
      }
    }
  }
}

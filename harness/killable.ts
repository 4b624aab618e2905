/**
 * A TCP transport that a test can kill, the two ways a node dies without a
 * goodbye:
 * - `crash()`: the process is gone; the kernel resets every connection (RST)
 *   and nothing listens on the port any more.
 * - `freeze()`: the host hangs or is cut off; its connections stay open but
 *   carry nothing either way, so peers only find out from their heartbeat.
 * After either, the node object is inert (no dial, no accept, nothing on the
 * wire) until `release()` lets its sockets go so it can be stopped.
 */
import net from 'node:net'
import { socketTransport } from '../lib/transport/tcp.js'
import type { ByteChunk, DialOptions, Transport, TransportFactory, TransportListener } from '../lib/transport/transport.js'
import { DialError } from '../lib/errors.js'

type State = 'alive' | 'crashed' | 'frozen'

export class KillableTcp implements TransportFactory {
  private state: State = 'alive'
  private readonly sockets = new Set<net.Socket>()
  private readonly servers = new Set<net.Server>()
  /** Wakes every read held back by a freeze. */
  private released: () => void = () => {}
  private readonly release$ = new Promise<void>(resolve => { this.released = resolve })

  async dial (host: string, port: number, opts: DialOptions): Promise<Transport> {
    if (this.state !== 'alive') throw new DialError(`${host}:${port}`, 1, { cause: new Error(`node ${this.state}`) })
    const socket = net.connect({ host, port })
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => { reject(new Error(`no answer within ${opts.timeout} ms`)) }, opts.timeout)
        onAbort = () => { reject(new Error('dial aborted')) }
        if (opts.signal?.aborted === true) onAbort()
        opts.signal?.addEventListener('abort', onAbort, { once: true })
        socket.once('connect', resolve)
        socket.once('error', reject)
      })
    } catch (cause) {
      socket.destroy()
      throw new DialError(`${host}:${port}`, 1, { cause })
    } finally {
      clearTimeout(timer)
      // The signal lives as long as the node: a listener left on it would keep this socket too.
      if (onAbort !== undefined) opts.signal?.removeEventListener('abort', onAbort)
    }
    return this.wrap(socket)
  }

  async listen (host: string, port: number, onConnection: (transport: Transport) => void): Promise<TransportListener> {
    const server = net.createServer({ noDelay: true }, socket => {
      socket.on('error', () => {})
      if (this.state !== 'alive') {
        socket.destroy()
        return
      }
      onConnection(this.wrap(socket))
    })
    this.servers.add(server)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host, port }, () => { resolve() })
    })
    const bound = server.address() as net.AddressInfo
    return {
      host: bound.address,
      port: bound.port,
      close: async () => {
        this.servers.delete(server)
        await new Promise<void>(resolve => { server.close(() => { resolve() }) })
      }
    }
  }

  /** Every connection reset at once, the port closed. */
  crash (): void {
    this.state = 'crashed'
    this.closeServers()
    for (const socket of this.sockets) socket.resetAndDestroy()
  }

  /** Every connection goes silent both ways; the port is closed so a successor can take it. */
  freeze (): void {
    this.state = 'frozen'
    this.closeServers()
    for (const socket of this.sockets) socket.pause()
  }

  /** Lets a killed node's sockets go (quietly, as the kernel would for a dead process), so the node can be stopped. */
  release (): void {
    for (const socket of this.sockets) socket.resetAndDestroy()
    this.released()
  }

  private closeServers (): void {
    for (const server of this.servers) server.close()
    this.servers.clear()
  }

  private wrap (socket: net.Socket): Transport {
    this.sockets.add(socket)
    socket.once('close', () => { this.sockets.delete(socket) })
    const inner = socketTransport(socket)
    const alive = (): boolean => this.state === 'alive'
    const release = this.release$
    async function * source (): AsyncGenerator<ByteChunk> {
      for await (const chunk of inner.source) {
        if (!alive()) {
          await release
          return
        }
        yield chunk
      }
    }
    async function * outgoing (chunks: AsyncIterable<ByteChunk>): AsyncGenerator<ByteChunk> {
      for await (const chunk of chunks) if (alive()) yield chunk
      // Ending would send a FIN: a dead node's sockets stay as they are until released.
      if (!alive()) await release
    }
    return {
      ...inner,
      source: source(),
      sink: async chunks => { await inner.sink(outgoing(chunks)) },
      // A dead node closes nothing: its peers must find out by themselves.
      close: () => { if (alive()) inner.close() }
    }
  }
}

/**
 * A throttling TCP proxy for loopback tests: every chunk is cut at random
 * boundaries into pieces, and each piece is held for a random delay before it
 * is forwarded, in order. A direction that holds more than `maxBuffered`
 * bytes stops reading its source, so TCP backpressure reaches the sender
 * just as it would over a slow link.
 */
import net from 'node:net'
import { HOST } from '../../harness/loopback.js'
import { seeded } from '../../harness/random.js'

export interface ProxyOptions {
  /** Where to forward to. */
  port: number
  /** Longest delay of one piece, in ms. @default 2 */
  maxDelay?: number
  /** Largest piece, in bytes. @default 4096 */
  maxPiece?: number
  /** Bytes held per direction before its source is paused. @default 262144 */
  maxBuffered?: number
  /** Seed of the random cuts and delays. @default 1 */
  seed?: number
}

export interface ThrottlingProxy {
  /** Where to connect to go through the proxy: `127.0.0.1:<port>`. */
  address: string
  /** Pieces forwarded so far, both directions. */
  readonly pieces: number
  /** Breaks every connection through the proxy at once (a reset on both sides). */
  cut: () => void
  close: () => Promise<void>
}

/** Forwards `from` to `to` in random pieces with random delays, in order, pausing `from` while too much is held. */
function relay (from: net.Socket, to: net.Socket, opts: Required<Omit<ProxyOptions, 'port' | 'seed'>>, random: () => number, count: () => void): void {
  const held: Buffer[] = []
  let heldBytes = 0
  let timer: NodeJS.Timeout | undefined
  let ended = false
  const pump = (): void => {
    timer = undefined
    const piece = held.shift()
    if (piece === undefined) {
      if (ended) to.end()
      return
    }
    heldBytes -= piece.length
    to.write(piece)
    count()
    if (heldBytes < opts.maxBuffered && from.isPaused()) from.resume()
    schedule()
  }
  const schedule = (): void => {
    if (timer !== undefined || (held.length === 0 && !ended)) return
    const delay = Math.floor(random() * (opts.maxDelay + 1))
    timer = setTimeout(pump, delay)
  }
  from.on('data', (chunk: Buffer) => {
    for (let offset = 0; offset < chunk.length;) {
      const size = Math.min(chunk.length - offset, 1 + Math.floor(random() * opts.maxPiece))
      held.push(chunk.subarray(offset, offset + size))
      offset += size
    }
    heldBytes += chunk.length
    if (heldBytes >= opts.maxBuffered) from.pause()
    schedule()
  })
  from.on('end', () => {
    ended = true
    schedule()
  })
  from.on('close', () => { clearTimeout(timer) })
}

export async function throttlingProxy (opts: ProxyOptions): Promise<ThrottlingProxy> {
  const settings = { maxDelay: opts.maxDelay ?? 2, maxPiece: opts.maxPiece ?? 4096, maxBuffered: opts.maxBuffered ?? 256 * 1024 }
  const random = seeded(opts.seed ?? 1)
  const sockets = new Set<net.Socket>()
  let pieces = 0
  const count = (): void => { pieces++ }
  const server = net.createServer(client => {
    const upstream = net.connect({ host: HOST, port: opts.port })
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.setNoDelay(true)
      socket.on('error', () => { client.destroy(); upstream.destroy() })
      socket.on('close', () => {
        sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
    relay(client, upstream, settings, random, count)
    relay(upstream, client, settings, random, count)
  })
  await new Promise<void>(resolve => { server.listen(0, HOST, resolve) })
  return {
    address: `${HOST}:${(server.address() as net.AddressInfo).port}`,
    get pieces () { return pieces },
    cut: () => { for (const socket of sockets) socket.resetAndDestroy() },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}

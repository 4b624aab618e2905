/**
 * One end of a TCP connection driven by hand, for hostile-input and
 * wire-compatibility tests: writes whatever it is told, reads back exact
 * lines (with their `\n`) and byte counts, and reports when the other side
 * closes. `connectWebSocket()` drives a WebSocket listener the same way,
 * its bytes in binary messages as meshline's WebSocket transport frames
 * them.
 */
import assert from 'node:assert/strict'
import { EventEmitter, once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import net from 'node:net'
import { WebSocket } from 'ws'
import { within } from '../../harness/async.js'
import { HOST } from '../../harness/loopback.js'
import { MAX_MESSAGE_BYTES } from '../../lib/transport/websocket.js'

/** What RawSocket needs of a connection. */
export interface ByteSocket {
  readonly localPort?: number | undefined
  readonly destroyed: boolean
  on: (event: 'data' | 'end' | 'close' | 'error', listener: (chunk: Buffer) => void) => unknown
  once: (event: 'close', listener: () => void) => unknown
  write: (data: string | Uint8Array, callback: () => void) => unknown
  /** Ends this direction, keeping the other open. */
  end: () => unknown
  destroy: () => unknown
}

/** A `ws` client as a ByteSocket: binary messages carry the bytes, a zero-length one ends a direction. */
class WebSocketBytes extends EventEmitter implements ByteSocket {
  destroyed = false
  constructor (private readonly ws: WebSocket, readonly localPort: number | undefined) {
    super()
    ws.on('message', (data: Buffer) => { this.emit(data.length === 0 ? 'end' : 'data', data) })
    ws.on('close', () => { this.destroyed = true; this.emit('close') })
    ws.on('error', error => { this.emit('error', error) })
  }

  /** Cut into messages of at most MAX_MESSAGE_BYTES, as the transport cuts its writes (a larger one is refused by the WebSocket layer). */
  write (data: string | Uint8Array, callback: () => void): void {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data
    // An empty message would end this direction: nothing to send.
    if (bytes.length === 0) callback()
    for (let at = 0; at < bytes.length; at += MAX_MESSAGE_BYTES) {
      const last = at + MAX_MESSAGE_BYTES >= bytes.length
      this.ws.send(bytes.subarray(at, at + MAX_MESSAGE_BYTES), { binary: true }, last ? () => { callback() } : undefined)
    }
  }

  end (): void {
    this.ws.send(new Uint8Array(0), { binary: true })
  }

  destroy (): void {
    this.ws.terminate()
  }
}

export class RawSocket<S extends ByteSocket = net.Socket> {
  private unread = Buffer.alloc(0)
  private ended = false
  private wake: (() => void) | undefined
  readonly closed: Promise<void>
  /** When the other side closed the connection (ms since epoch), once it has. */
  closedAt: number | undefined

  constructor (readonly socket: S) {
    socket.on('data', (chunk: Buffer) => {
      // Concatenation is fine in a test helper; beyond 1 MiB unread (a hostile peer's flood answered at length), the rest is dropped.
      if (this.unread.length < 1 << 20) this.unread = Buffer.concat([this.unread, chunk])
      this.wake?.()
    })
    const finish = (): void => {
      this.ended = true
      this.closedAt ??= Date.now()
      this.wake?.()
    }
    socket.on('end', finish)
    socket.on('close', finish)
    // A reset from the node is how some offences end: it shows up as `closed`.
    socket.on('error', () => {})
    this.closed = new Promise(resolve => { socket.once('close', () => { resolve() }) })
  }

  /** A WebSocket to `ws://127.0.0.1:port/`, once its upgrade is done. */
  static async connectWebSocket (port: number, ms = 5000): Promise<RawSocket<ByteSocket>> {
    const ws = new WebSocket(`ws://${HOST}:${port}/`, { perMessageDeflate: false })
    let localPort: number | undefined
    ws.once('upgrade', (response: IncomingMessage) => { localPort = response.socket.localPort })
    // Rejects on an error before the upgrade.
    await within(once(ws, 'open'), 'WebSocket open', ms)
    return new RawSocket<ByteSocket>(new WebSocketBytes(ws, localPort))
  }

  static async connect (port: number, ms = 5000): Promise<RawSocket> {
    const socket = net.connect({ host: HOST, port })
    const raw = new RawSocket(socket)
    await within(new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    }), 'TCP connect', ms)
    return raw
  }

  /** This end's address as the node sees it: `host:port`. */
  get address (): string {
    return `${HOST}:${this.socket.localPort ?? 0}`
  }

  get isClosed (): boolean {
    return this.ended
  }

  /** Writes and resolves once the data is handed to the kernel (or the socket is gone). */
  async write (data: string | Uint8Array): Promise<void> {
    if (this.socket.destroyed) return
    await new Promise<void>(resolve => { this.socket.write(data, () => { resolve() }) })
  }

  /** The next line, exactly as received, `\n` included. */
  async readLine (ms = 5000): Promise<string> {
    return await this.take('a line', () => {
      const end = this.unread.indexOf(0x0a)
      return end < 0 ? undefined : this.consume(end + 1).toString('utf8')
    }, ms)
  }

  /** Exactly `n` raw bytes. */
  async readBytes (n: number, ms = 5000): Promise<Buffer> {
    return await this.take(`${n} bytes`, () => this.unread.length >= n ? this.consume(n) : undefined, ms)
  }

  /** Reads lines until one passes `match`, and returns it. */
  async readLineMatching (match: (line: string) => boolean, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms
    for (;;) {
      const line = await this.readLine(Math.max(1, deadline - Date.now()))
      if (match(line)) return line
    }
  }

  async waitClosed (ms = 5000): Promise<void> {
    await within(this.closed, 'the other side to close the connection', ms)
  }

  destroy (): void {
    this.socket.destroy()
  }

  /** Unread bytes, for failure messages. */
  private get pending (): string {
    return JSON.stringify(this.unread.toString('latin1').slice(0, 200))
  }

  private consume (n: number): Buffer {
    const head = this.unread.subarray(0, n)
    this.unread = this.unread.subarray(n)
    return head
  }

  /** Retries `attempt` as data arrives until it yields something; fails if the connection ends or `ms` pass first. */
  private async take<T> (what: string, attempt: () => T | undefined, ms: number): Promise<T> {
    const deadline = Date.now() + ms
    for (;;) {
      const got = attempt()
      if (got !== undefined) return got
      if (this.ended) assert.fail(`connection ended while waiting for ${what}; unread: ${this.pending}`)
      const left = deadline - Date.now()
      if (left <= 0) assert.fail(`timed out after ${ms} ms waiting for ${what}; unread: ${this.pending}`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, left)
        this.wake = () => { clearTimeout(timer); resolve() }
      })
      this.wake = undefined
    }
  }
}

/**
 * One end of a TCP connection driven by hand, for hostile-input and
 * wire-compatibility tests: writes whatever it is told, reads back exact
 * lines (with their `\n`) and byte counts, and reports when the other side
 * closes.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { within } from '../../harness/async.js'
import { HOST } from '../../harness/loopback.js'

export class RawSocket {
  private unread = Buffer.alloc(0)
  private ended = false
  private wake: (() => void) | undefined
  readonly closed: Promise<void>
  /** When the other side closed the connection (ms since epoch), once it has. */
  closedAt: number | undefined

  constructor (readonly socket: net.Socket) {
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

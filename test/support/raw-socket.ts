/**
 * A hand-driven TCP client for hostile-input tests: writes whatever it is
 * told, reads back exact lines, and reports when the other side closes.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { within } from './async.js'
import { HOST } from './mesh.js'

export class RawSocket {
  private unread = Buffer.alloc(0)
  private ended = false
  private wake: (() => void) | undefined
  readonly closed: Promise<void>
  /** When the other side closed the connection (ms since epoch), once it has. */
  closedAt: number | undefined

  constructor (readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      // Concatenation is fine in a test helper; only the start of a reply is ever read.
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

  /** The next line, `\n` included. */
  async readLine (ms = 5000): Promise<string> {
    const deadline = Date.now() + ms
    for (;;) {
      const end = this.unread.indexOf(0x0a)
      if (end >= 0) {
        const line = this.unread.subarray(0, end + 1).toString('utf8')
        this.unread = this.unread.subarray(end + 1)
        return line
      }
      if (this.ended) assert.fail(`connection ended while waiting for a line; unread: ${JSON.stringify(this.unread.toString('latin1').slice(0, 200))}`)
      const left = deadline - Date.now()
      if (left <= 0) assert.fail(`no line within ${ms} ms`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, left)
        this.wake = () => { clearTimeout(timer); resolve() }
      })
      this.wake = undefined
    }
  }

  async waitClosed (ms = 5000): Promise<void> {
    await within(this.closed, 'the node to close the connection', ms)
  }

  destroy (): void {
    this.socket.destroy()
  }
}

/**
 * A relaying TCP proxy for tests: records every byte in both directions
 * and, on Noise connections, can rewrite the dialer's frames (2-byte
 * length prefix included) one by one to flip bits, reorder or replay them.
 */
import { EventEmitter } from 'node:events'
import net from 'node:net'

/** The frames to forward now, in order, for the dialer's frame number `index` (0 is Noise message 1). */
export type FrameRewrite = (frame: Buffer, index: number) => Buffer[]

export class RelayProxy extends EventEmitter<{ frame: [number] }> {
  /** Bytes from dialers to the target, and back. */
  readonly upstream: Buffer[] = []
  readonly downstream: Buffer[] = []
  /** Applied to the dialer's frames while set. */
  rewrite: FrameRewrite | undefined
  private readonly sockets = new Set<net.Socket>()

  private constructor (private readonly server: net.Server, readonly port: number) {
    super()
  }

  static async start (targetPort: number): Promise<RelayProxy> {
    let proxy: RelayProxy | undefined
    const server = net.createServer(client => { proxy?.relay(client, targetPort) })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    proxy = new RelayProxy(server, (server.address() as net.AddressInfo).port)
    return proxy
  }

  get address (): string {
    return `127.0.0.1:${this.port}`
  }

  /** Everything relayed, both directions. */
  captured (): Buffer {
    return Buffer.concat([...this.upstream, ...this.downstream])
  }

  async close (): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    await new Promise(resolve => this.server.close(resolve))
  }

  private relay (client: net.Socket, targetPort: number): void {
    const target = net.connect(targetPort, '127.0.0.1')
    this.sockets.add(client).add(target)
    const closeBoth = (): void => { client.destroy(); target.destroy() }
    client.on('error', closeBoth).on('close', closeBoth)
    target.on('error', closeBoth).on('close', closeBoth)
    target.on('data', (chunk: Buffer) => {
      this.downstream.push(chunk)
      client.write(chunk)
    })
    let pending = Buffer.alloc(0)
    let index = 0
    client.on('data', (chunk: Buffer) => {
      this.upstream.push(chunk)
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const frame = pending.subarray(0, 2 + pending.readUInt16BE(0))
        pending = pending.subarray(frame.length)
        for (const out of this.rewrite?.(Buffer.from(frame), index) ?? [frame]) target.write(out)
        this.emit('frame', index++)
      }
    })
  }
}

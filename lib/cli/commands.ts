/**
 * The commands read from standard input, one per line: `/peers`,
 * `/connect <host:port>`, `/discover`, `/send <filepath>`, `/quit`, `/help`;
 * any other line is chat for every peer. Chat is sent before the next line
 * is read (so a fast pipe waits for the peers); connecting and sending a
 * file go on in the background.
 */
import { DialError, InvalidMessageError } from '../errors.js'
import { sendFile } from '../file-transfer/sender.js'
import type { MeshNode } from '../mesh/node.js'
import { formatDuration, type Output } from './output.js'
import { explain, reportSend } from './report.js'

export type CommandResult = 'quit' | undefined

const HELP = [
  '/peers                 connected peers (with link security and key fingerprint) and known addresses',
  '/connect <host:port>   connect to a node',
  '/discover              ask every peer for its peers now',
  '/send <filepath>       send a file to every connected peer',
  '/quit                  leave the mesh and exit',
  'anything else          chat to every peer'
]

export class Commands {
  /** Connects and file sends still going on. */
  private readonly background = new Set<Promise<void>>()

  constructor (private readonly node: MeshNode, private readonly out: Output) {}

  /** Runs one input line. */
  async run (line: string): Promise<CommandResult> {
    const text = line.trim()
    if (text === '') return
    if (!text.startsWith('/')) {
      await this.chat(text)
      return
    }
    const space = text.search(/\s/)
    const [command, argument] = space < 0 ? [text, ''] : [text.slice(0, space), text.slice(space + 1).trim()]
    switch (command) {
      case '/quit': return 'quit'
      case '/peers': this.peers(); return
      case '/discover': this.discover(); return
      case '/connect': this.connect(argument); return
      case '/send': this.send(argument); return
      case '/help':
        for (const entry of HELP) this.out.line('SYSTEM', entry)
        return
      default:
        this.out.line('ERROR', `Unknown command ${command}; /help lists the commands`)
    }
  }

  /** Resolves once every background connect and send has ended. */
  async settled (): Promise<void> {
    while (this.background.size > 0) await Promise.all(this.background)
  }

  private async chat (text: string): Promise<void> {
    if (this.node.peers().length === 0) {
      this.out.line('NETWORK', 'No peers connected: message not sent')
      return
    }
    try {
      const { failed } = await this.node.broadcast(text)
      for (const { peerId, error } of failed) this.out.line('ERROR', `Message not delivered to ${peerId}: ${explain(error)}`)
    } catch (error) {
      if (!(error instanceof InvalidMessageError)) throw error
      this.out.line('ERROR', `Message not sent: ${error.message}`)
    }
  }

  private peers (): void {
    const now = Date.now()
    const peers = this.node.peers()
    this.out.line('NETWORK', `Connected peers: ${peers.length}`)
    for (const peer of peers) {
      const link = peer.security === 'noise' ? `noise ${peer.cipher ?? ''}, key ${peer.fingerprint ?? ''}` : 'plaintext'
      this.out.line('NETWORK', `  ${peer.name} at ${peer.address ?? peer.remoteAddress} (${peer.direction}, id ${peer.id}, ${link}), last seen ${formatDuration(now - peer.lastSeen)} ago`)
    }
    const known = this.node.knownPeers()
    this.out.line('NETWORK', `Known addresses: ${known.length}`)
    for (const entry of known) {
      const status = entry.connected ? 'connected' : entry.failures > 0 ? `not connected, ${entry.failures} failed dial(s)` : 'not connected'
      const security = entry.security === undefined ? '' : `, last link ${entry.security}`
      this.out.line('NETWORK', `  ${entry.address}: ${status}${security}, last heard of ${formatDuration(now - entry.lastHeard)} ago`)
    }
  }

  private discover (): void {
    const asked = this.node.discover()
    this.out.line('DISCOVERY', asked === 0 ? 'No peers to ask for peers' : `Asked ${asked} peer(s) for their peers`)
  }

  private connect (address: string): void {
    if (address === '') {
      this.out.line('ERROR', 'Usage: /connect <host:port>')
      return
    }
    this.out.line('NETWORK', `Connecting to ${address}...`)
    this.inBackground(this.node.connect(address).then(() => {}, (error: unknown) => {
      // A failed dial is reported by the node's dial:failed event already.
      if (!(error instanceof DialError)) this.out.line('ERROR', `Cannot connect to ${address}: ${explain(error)}`)
    }))
  }

  private send (path: string): void {
    if (path === '') {
      this.out.line('ERROR', 'Usage: /send <filepath>')
      return
    }
    const send = sendFile(this.node, path)
    this.out.line('FILE', `Sending ${send.name} to ${this.node.peers().length} peer(s)`)
    this.inBackground(reportSend(send, this.out))
  }

  private inBackground (task: Promise<void>): void {
    this.background.add(task)
    void task.finally(() => { this.background.delete(task) })
  }
}

/**
 * One node run from the command line: start it, join the mesh through the
 * bootstrap address, read commands until `/quit`, a signal, or the end of a
 * terminal's input, then leave gracefully. Piped input that ends leaves the
 * node running until a signal, as the existing CLI does.
 */
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { MeshlineError } from '../errors.js'
import { receiveFiles } from '../file-transfer/receiver.js'
import { MeshNode } from '../mesh/node.js'
import type { NodeArgs } from './args.js'
import { Commands } from './commands.js'
import type { Output } from './output.js'
import { explain, reportNode, reportReceiver } from './report.js'
import { serveMetrics, type MetricsServer } from './metrics-server.js'
import { serveChatPage, type WebServer } from './web-server.js'

const SIGNALS = ['SIGINT', 'SIGTERM'] as const

/** Runs a node until it is told to quit. @returns the exit code */
export async function runNode (args: NodeArgs, out: Output, input: Readable & { isTTY?: boolean }): Promise<number> {
  let node: MeshNode
  try {
    node = new MeshNode({ host: args.host, port: args.port, wsPort: args.wsPort, name: args.name, peersFile: args.peersFile, topology: args.topology, overlay: args.overlay, ...args.tuning, ...args.security })
  } catch (error) {
    // An identity file others can read, or an unreadable allowlist: nothing to run with.
    if (!(error instanceof MeshlineError)) throw error
    out.line('ERROR', `Cannot start: ${explain(error)}`)
    return 1
  }
  const files = receiveFiles(node, { dir: args.downloads, maxFileSize: args.maxFileSize })
  reportNode(node, out, args.debug)
  reportReceiver(files, out)
  try {
    await node.start()
  } catch (error) {
    out.line('ERROR', `Cannot listen on ${args.host}:${args.port}: ${explain(error)}`)
    return 1
  }
  out.line('SYSTEM', `Node ${node.name} (${node.id}) listening on ${node.address}`)
  out.line('SYSTEM', describeSecurity(node, args))
  out.line('SYSTEM', `Received files go to ${resolve(args.downloads)}; /help lists the commands`)
  if (node.webSocketAddress !== undefined) out.line('SYSTEM', `WebSocket connections on ${node.webSocketAddress}`)
  let metrics: MetricsServer | undefined
  if (args.metricsPort !== undefined) {
    try {
      metrics = await serveMetrics(node, args.host, args.metricsPort)
      out.line('SYSTEM', `Metrics at ${metrics.url}`)
    } catch (error) {
      out.line('ERROR', `Cannot serve metrics on ${args.host}:${args.metricsPort}: ${explain(error)}`)
    }
  }
  let web: WebServer | undefined
  if (args.webPort !== undefined) {
    try {
      web = await serveChatPage(node, args.host, args.webPort)
      out.line('SYSTEM', `Chat page at ${web.url}`)
    } catch (error) {
      out.line('ERROR', `Cannot serve the chat page on ${args.host}:${args.webPort}: ${explain(error)}`)
    }
  }

  let stopping = false
  let quit: (reason: string) => void = () => {}
  const quitting = new Promise<string>(resolve => { quit = reason => { stopping = true; resolve(reason) } })
  const onSignal = (signal: NodeJS.Signals): void => { quit(signal) }
  for (const signal of SIGNALS) process.once(signal, onSignal)

  if (args.bootstrap !== undefined) void bootstrap(node, args.bootstrap, out)
  const commands = new Commands(node, out)
  const lines = createInterface({ input, crlfDelay: Infinity, terminal: false })
  void readCommands(lines, commands, out).then(
    ended => {
      if (stopping) return
      if (ended === 'quit') quit('/quit')
      else if (input.isTTY === true) quit('end of input')
      else out.line('SYSTEM', 'Standard input ended; running until SIGINT or SIGTERM')
    },
    (error: unknown) => { out.line('ERROR', `Reading commands failed: ${explain(error)}`); quit('input error') }
  )

  out.line('SYSTEM', `Shutting down (${await quitting})`)
  for (const signal of SIGNALS) process.off(signal, onSignal)
  lines.close()
  await Promise.all([metrics?.close(), web?.close()])
  await files.close()
  await node.stop()
  await commands.settled()
  out.line('SYSTEM', 'Stopped')
  return 0
}

function describeSecurity (node: MeshNode, args: NodeArgs): string {
  const { secure, identity, allow } = args.security
  if (node.publicKey === undefined) return 'Secure links: off (plaintext protocol only)'
  const key = identity === undefined ? 'a new key for this run' : `identity ${resolve(identity)}`
  const peers = allow === undefined ? '' : `; only peers allowed by ${resolve(allow)}`
  return `Secure links: ${secure}, ${key}; public key ${node.publicKey}, fingerprint ${node.fingerprint ?? ''}${peers}`
}

async function bootstrap (node: MeshNode, address: string, out: Output): Promise<void> {
  out.line('BOOTSTRAP', `Joining the mesh through ${address}`)
  try {
    const peer = await node.connect(address)
    out.line('BOOTSTRAP', `Joined through ${peer.name} at ${address}`)
  } catch {
    // Why is on the ERROR line of the node's dial:failed event.
    out.line('BOOTSTRAP', `Could not join through ${address}; waiting for peers to connect`)
  }
}

async function readCommands (lines: AsyncIterable<string>, commands: Commands, out: Output): Promise<'quit' | 'end'> {
  for await (const line of lines) {
    try {
      if (await commands.run(line) === 'quit') return 'quit'
    } catch (error) {
      out.line('ERROR', explain(error))
    }
  }
  return 'end'
}

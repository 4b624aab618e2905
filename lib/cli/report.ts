/**
 * Turns what a node, a file receiver and a file send report into output
 * lines, in the categories of the existing mesh CLI.
 */
import type { FileReceiver } from '../file-transfer/receiver.js'
import type { FileSend } from '../file-transfer/sender.js'
import type { MeshNode } from '../mesh/node.js'
import { describeMessage } from '../../transforms/core/line-protocol.js'
import { formatBytes, formatDuration, formatRate, type Output } from './output.js'

/** An error's code (and its cause's), for machine-readable lines. */
function codes (error: unknown): { code: string | undefined, cause?: string } {
  const code = (error as { code?: unknown }).code
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined)?.code : undefined
  return { code: typeof code === 'string' ? code : undefined, ...(typeof cause === 'string' ? { cause } : {}) }
}

/** An error's message, with its cause's when it has one (a dial failure says why). */
export function explain (error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message
}

/** Prints a node's events; `debug` adds the control traffic it receives. */
export function reportNode (node: MeshNode, out: Output, debug: boolean): void {
  node.on('peer:connect', ({ peer, peerCount }) => {
    out.line('NETWORK', `Connected to ${peer.name} at ${peer.address ?? peer.remoteAddress} (${peer.direction}, ${peer.security}); ${peerCount} peer(s)`,
      { event: 'peer:connect', peer: peer.id, address: peer.address ?? peer.remoteAddress, direction: peer.direction, security: peer.security, peers: peerCount })
  })
  node.on('peer:disconnect', ({ peer, reason, peerCount }) => {
    out.line('NETWORK', `Disconnected from ${peer.name}: ${reason.message}; ${peerCount} peer(s)`, { event: 'peer:disconnect', peer: peer.id, ...codes(reason), peers: peerCount })
  })
  node.on('peer:timeout', ({ peer }) => {
    out.line('MAINTENANCE', `${peer.name} was silent for ${formatDuration(node.options.peerTimeout)}: dropping it`, { event: 'peer:timeout', peer: peer.id })
  })
  node.on('peers:discovered', ({ from, addresses }) => {
    out.line('DISCOVERY', `Learnt ${addresses.length} new address(es) from ${from?.name ?? 'a peer'}: ${addresses.join(', ')}`)
  })
  // In the overlay, the author of a relayed message is its origin, not the neighbour that passed it on.
  // Only what no signature proves says so: who vouched for it, or that nobody did.
  node.on('chat', ({ origin, text, authenticity, gateway }) => {
    const by = authenticity === 'vouched' ? ` (vouched for by ${gateway ?? 'a gateway'})` : authenticity === 'unverified' ? ' (unverified)' : ''
    out.chat(origin.name + by, text, { origin: origin.id, authenticity, gateway })
  })
  node.on('bytes', ({ peer, origin, hops, data }) => {
    out.line('NETWORK', `Received ${formatBytes(data.byteLength)} of binary data from ${origin.name}${hops > 1 ? ` (${hops} hops, via ${peer.name})` : ''}`)
  })
  node.on('dial:failed', ({ address, error }) => { out.line('ERROR', `Could not connect to ${address}: ${explain(error)}`, { event: 'dial:failed', address, ...codes(error) }) })
  node.on('connection:error', ({ error, remoteAddress, peer, closed }) => {
    out.line('ERROR', `${peer?.name ?? remoteAddress}: ${explain(error)}${closed ? ' (connection closed)' : ''}`, { event: 'connection:error', peer: peer?.id, remoteAddress, ...codes(error), closed })
  })
  node.on('peer:denied', ({ remoteAddress, direction, fingerprint, error }) => {
    const why = error.code !== 'ERR_ACCESS_DENIED'
      ? explain(error)
      : fingerprint === undefined ? 'a plaintext peer proves no key, and an allowlist is set' : `key ${fingerprint} is not on the allowlist`
    out.line('ERROR', `Refused ${remoteAddress} (${direction}): ${why}`, { event: 'peer:denied', remoteAddress, direction, ...codes(error) })
  })
  node.on('message:refused', ({ error, peer, closed }) => {
    out.line('ERROR', `Refused a message relayed by ${peer.name}: ${explain(error)}${closed ? ' (connection closed: too many)' : ''}`, { event: 'message:refused', peer: peer.id, ...codes(error), reason: error.reason, closed })
  })
  node.on('handler:error', ({ error, peer, prefix }) => { out.line('ERROR', `${prefix} handler failed on a message from ${peer.name}: ${explain(error)}`, { event: 'handler:error', peer: peer.id, prefix, ...codes(error) }) })
  node.on('limit:exceeded', ({ error }) => {
    // The full mesh's own ceiling: say what to do about it.
    const hint = error.limit === 'maxPeers' ? ': further peers are refused; raise --max-peers, or use --topology overlay for a larger mesh' : ''
    out.line('MAINTENANCE', explain(error) + hint, { event: 'limit:exceeded', ...codes(error), limit: error.limit })
  })
  node.on('peers-file:error', ({ error }) => { out.line('ERROR', explain(error), { event: 'peers-file:error', ...codes(error) }) })
  if (debug) node.on('debug', ({ peer, message }) => { out.line('DEBUG', `${describeMessage(message)} from ${peer.name}`) })
}

/** Prints a file receiver's events, each line prefixed with `label` (a node name in the demo). */
export function reportReceiver (files: FileReceiver, out: Output, label = ''): void {
  const key = (peerId: string, name: string): string => `receive:${label}:${peerId}:${name}`
  files.on('start', ({ peer, name, size }) => {
    out.line('FILE', `${label}Receiving ${name} (${formatBytes(size)}) from ${peer.name}`)
  })
  files.on('progress', ({ peer, name, size, received }) => {
    out.progress(key(peer.id, name), `${label}Receiving ${name}`, received, size)
  })
  files.on('complete', ({ peer, name, size, sha256, path, durationMs }) => {
    out.progressDone(key(peer.id, name))
    out.line('FILE', `${label}Received ${name} (${formatBytes(size)}) from ${peer.name} in ${formatDuration(durationMs)} (${formatRate(size, durationMs)}): SHA-256 ${sha256} verified, saved as ${path}`)
  })
  files.on('failed', ({ peer, name, error }) => {
    out.progressDone(key(peer.id, name))
    out.line('ERROR', `${label}File ${name === '' ? '(unnamed)' : name} from ${peer.name} failed: ${explain(error)} [${error.code}]`)
  })
}

let sends = 0

/**
 * Prints a file send's progress and its end, each line prefixed with
 * `label`. Resolves when the send has ended, whichever way.
 */
export async function reportSend (send: FileSend, out: Output, label = ''): Promise<void> {
  const key = `send:${++sends}`
  send.on('progress', ({ name, phase, done, size }) => {
    // Hashing is worth a bar on a terminal, not lines in a log.
    if (phase === 'sending' || out.terminal) out.progress(key, `${label}${phase === 'hashing' ? 'Hashing' : 'Sending'} ${name}`, done, size)
  })
  try {
    const { name, size, sha256, delivered, failed, durationMs } = await send.done
    out.progressDone(key)
    out.line('FILE', `${label}Sent ${name} (${formatBytes(size)}) to ${delivered.length} peer(s) in ${formatDuration(durationMs)} (${formatRate(size * delivered.length, durationMs)}), SHA-256 ${sha256}`)
    for (const { peerId, error } of failed) out.line('ERROR', `${label}${name} did not reach ${peerId}: ${explain(error)}`)
  } catch (error) {
    out.progressDone(key)
    out.line('ERROR', `${label}Could not send ${send.name}: ${explain(error)}`)
  }
}

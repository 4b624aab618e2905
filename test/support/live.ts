/**
 * Live meshes for the hardening tests: nodes whose heartbeat, discovery and
 * redialling run on fast timers (where QUIET keeps them silent), in a
 * harness that stops them all.
 */
import type { MeshNode, MeshNodeOptions } from '../../lib/index.js'
import { Harness } from './mesh.js'
import { HOST } from '../../harness/loopback.js'

/** Timers short enough for tests, long enough not to fire by accident on a busy machine. */
export const FAST: MeshNodeOptions = {
  host: HOST,
  autoDial: true,
  dialJitter: 0,
  connectionTimeout: 2000,
  maintenanceInterval: 200,
  discoveryInterval: 200,
  peerTimeout: 5000,
  bootstrapAttempts: 5,
  bootstrapBackoff: 20,
  reconnectBackoff: 50,
  reconnectMaxDelay: 500
}

/** A harness whose nodes run on FAST timers. */
export class LiveHarness extends Harness {
  override async node (opts: MeshNodeOptions = {}): Promise<MeshNode> {
    return await super.node({ ...FAST, ...opts })
  }

  /** Starts a node built by the caller (to listen to its start-up events first), and stops it on close. */
  async adopt (node: MeshNode): Promise<MeshNode> {
    this.onClose(async () => { await node.stop() })
    await node.start()
    return node
  }
}

/**
 * The node's dialling and sharing limits, each driven to its bound:
 * `dialConcurrency`, `dialsPerDiscovery` and `extraPeersShared`.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { type MeshNodeOptions, type TransportFactory } from '../../lib/index.js'
import { waitFor } from '../../harness/async.js'
import { fileNodes } from '../support/mesh.js'
import { RawSocket } from '../support/raw-socket.js'
import { memoryNetwork } from '../../lib/transport/index.js'

const FAST: MeshNodeOptions = {
  host: '127.0.0.1',
  dialJitter: 0,
  connectionTimeout: 2000,
  maintenanceInterval: 200,
  discoveryInterval: 60_000,
  peerTimeout: 5000,
  bootstrapBackoff: 20
}

const { startNode, stopNodes } = fileNodes(FAST)

describe('MeshNode limits', () => {
  it('has at most dialConcurrency dials in flight; the others wait their turn', async () => {
    const network = memoryNetwork()
    let inFlight = 0
    let most = 0
    // Dials that hang until the node stops, so none frees its slot.
    const transport: TransportFactory = {
      listen: network.listen,
      dial: async (_host, _port, { signal }) => {
        most = Math.max(most, ++inFlight)
        return await new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => { inFlight--; reject(signal.reason) }, { once: true })
        })
      }
    }
    const node = await startNode({ host: 'sim', transport, dialConcurrency: 2, bootstrapAttempts: 1 })
    const dials = [1, 2, 3, 4, 5].map(async port => await node.connect(`elsewhere:${port}`).catch(() => {}))
    await waitFor(() => inFlight === 2, 'two dials in flight', 2000)
    // Time for any dial that is not held back to start.
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.equal(most, 2)
    assert.equal(node.stats().dialing, 5, 'the others are queued')
    await stopNodes(node)
    await Promise.all(dials)
  })

  it('dials at most dialsPerDiscovery of the new addresses in one PEERS list', async () => {
    const node = await startNode({ dialsPerDiscovery: 2, dialJitter: 60_000 })
    const raw = await RawSocket.connect(Number(node.address.split(':')[1]))
    try {
      const id = randomBytes(16).toString('hex')
      await raw.write(`${id}:lister\nLISTEN:127.0.0.2:1\n`)
      assert.equal(await raw.readLine(), `${node.id}:${node.name}\n`)
      const addresses = Array.from({ length: 8 }, (_, i) => `127.0.0.2:${i + 2}`)
      const discovered = new Promise<string[]>(resolve => { node.once('peers:discovered', ({ addresses }) => { resolve(addresses) }) })
      await raw.write(`PEERS:${addresses.join(',')}\n`)
      assert.deepEqual((await discovered).sort(), [...addresses].sort())
      // Room under maxPeers is 9; the list's 8 new addresses are known, and 2 of them are being dialled.
      const stats = node.stats()
      assert.equal(stats.scheduledDials + stats.dialing, 2)
    } finally {
      raw.destroy()
      await stopNodes(node)
    }
  })

  it('shares at most extraPeersShared of the addresses it dialled and is no longer connected to', async () => {
    const quiet: MeshNodeOptions = { autoDial: false, reconnectAttempts: 0 }
    const sharer = await startNode({ ...quiet, extraPeersShared: 2 })
    const gone = await Promise.all([1, 2, 3, 4].map(async () => await startNode(quiet)))
    for (const node of gone) await sharer.connect(node.address)
    const goneAddresses = gone.map(node => node.address)
    await stopNodes(...gone)
    await waitFor(() => sharer.peers().length === 0, 'the dialled peers to be gone', 2000)
    assert.equal(sharer.knownPeers().filter(known => goneAddresses.includes(known.address)).length, 4)

    const asker = await startNode(quiet)
    const lists: string[][] = []
    asker.on('debug', ({ peer, message }) => { if (peer.id === sharer.id && message.type === 'peers') lists.push(message.addresses) })
    await asker.connect(sharer.address)
    for (let round = 0; round < 3; round++) {
      asker.discover()
      await waitFor(() => lists.length > round, `PEERS answer ${round + 1}`, 2000)
    }
    for (const list of lists) {
      assert.equal(list.length, 2, `shared: ${list.join(',')}`)
      assert.ok(list.every(address => goneAddresses.includes(address)), `shared: ${list.join(',')}`)
    }
    await stopNodes(sharer, asker)
  })
})

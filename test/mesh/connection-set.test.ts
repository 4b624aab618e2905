/**
 * ConnectionSet without a node: inbound transports from in-memory pairs, a
 * raw line-protocol peer on the other end, and a host that records what
 * the set tells it.
 */
import { NodeMetrics } from '../../lib/mesh/metrics.js'
import { TrafficCounters } from '../../lib/connection/traffic.js'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { describe, it } from 'node:test'
import { AddressBook } from '../../lib/mesh/address-book.js'
import { ConnectionSet, type ConnectionSetHost, type ConnectionSetOptions } from '../../lib/mesh/connection-set.js'
import { Delivery } from '../../lib/mesh/delivery.js'
import type { MeshEvents } from '../../lib/mesh/events.js'
import { PeerTable } from '../../lib/mesh/peer-table.js'
import { SelfAddresses } from '../../lib/mesh/self-addresses.js'
import { ProtocolStreams } from '../../lib/mesh/streams.js'
import { DEFAULT_OPTIONS } from '../../lib/options/node-options.js'
import { SecureLinks } from '../../lib/secure/secure-links.js'
import { ConnectionClosedError, type MeshlineError } from '../../lib/errors.js'
import { duplexPair, memoryNetwork } from '../../lib/transport/memory.js'
import type { PeerInfo } from '../../lib/types.js'
import { rawEnd } from '../../harness/streams.js'
import { waitFor, within } from '../../harness/async.js'

const OPTIONS: ConnectionSetOptions = { ...DEFAULT_OPTIONS, id: 'local', name: 'local-name', maxPendingHandshakes: 2, connectionTimeout: 2000, capabilityTimeout: 100 }

function connectionSet (opts: Partial<ConnectionSetOptions> = {}) {
  const events = new EventEmitter<MeshEvents>()
  const table = new PeerTable('local', 10, () => false)
  const self = new SelfAddresses('memory-b', undefined, 16)
  self.listening(1)
  const seen = { up: [] as PeerInfo[], down: [] as Array<[string, boolean]>, errors: [] as string[], chat: [] as string[] }
  events.on('connection:error', ({ error }) => { seen.errors.push((error as MeshlineError).code) })
  events.on('chat', ({ text }) => { seen.chat.push(text) })
  const host: ConnectionSetHost = {
    running: true,
    signal: new AbortController().signal,
    port: 1,
    events,
    traffic: new TrafficCounters(),
    metrics: new NodeMetrics(events),
    transport: memoryNetwork(),
    links: new SecureLinks({ ...DEFAULT_OPTIONS, id: 'local', secure: 'off', identity: undefined, allowlist: undefined, running: () => true, onDenied: () => {} }),
    table,
    book: new AddressBook(100),
    self,
    delivery: new Delivery(events, 16, 0),
    streams: new ProtocolStreams({ events, streamsOf: () => { throw new Error('no streams in these tests') }, connectionTimeout: 2000, maxBytesPerMessage: 1024 }),
    probe: async () => {},
    peersToShare: () => [],
    learn: () => {},
    peerUp: peer => { seen.up.push(peer) },
    full: () => { seen.errors.push('full') },
    peerDown: (peer, redial) => { seen.down.push([peer.id, redial]) }
  }
  return { set: new ConnectionSet({ ...OPTIONS, ...opts }, host), table, seen }
}

describe('ConnectionSet', () => {
  it('runs an accepted line-protocol peer through its handshake into the table, delivers its chat, and tells of its end', async () => {
    const { set, table, seen } = connectionSet()
    const [remote, local] = duplexPair()
    set.accept(local)
    const peer = rawEnd(remote)
    peer.write('remote-id:Remote\nLISTEN:memory-a:7\n')
    await waitFor(() => seen.up.length === 1, 'the peer to be up')
    assert.equal(seen.up[0]?.id, 'remote-id')
    assert.equal(table.get('remote-id')?.info.address, 'memory-a:7')
    peer.write('hello there\n')
    await waitFor(() => seen.chat.length === 1, 'the chat line')
    assert.deepEqual(seen.chat, ['hello there'])
    peer.end()
    await waitFor(() => seen.down.length === 1, 'the peer to be down')
    // It dialled us: we do not call it back.
    assert.deepEqual(seen.down, [['remote-id', false]])
    assert.equal(table.size, 0)
    assert.match((await within(peer.received, 'the connection to close')).toString(), /^local:local-name\n/)
  })

  it('accepts at most maxPendingHandshakes connections still in their handshake, and closes the rest at once', async () => {
    const { set, seen } = connectionSet()
    const silent = [duplexPair(), duplexPair(), duplexPair()]
    for (const [, local] of silent) set.accept(local)
    assert.equal(set.sizes.pendingHandshakes, 2)
    assert.deepEqual(seen.errors, ['ERR_LIMIT_EXCEEDED'])
    await within(silent[2]?.[1].closed as Promise<void>, 'the third connection to be closed')
    await set.close(new ConnectionClosedError('test over'))
    assert.equal(set.sizes.connections, 0)
  })
})

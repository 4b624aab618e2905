import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { Connection } from '../../lib/connection/connection.js'
import { ConnectionClosedError, DuplicatePeerError } from '../../lib/errors.js'
import { fingerprint, generateIdentity } from '../../lib/secure/identity.js'
import { duplexPair } from '../../lib/transport/memory.js'
import { PeerTable, type Admitted } from '../../lib/mesh/peer-table.js'
import type { SecuredLink } from '../../lib/secure/secure-links.js'
import { collect } from '../support/pipeline.js'

const open: Connection[] = []

afterEach(async () => {
  for (const conn of open.splice(0)) conn.close(new ConnectionClosedError('test over'))
})

/** A connection that nothing is sent on, as admission sees one: a role and a secured link. */
function connection (role: 'dialer' | 'listener', publicKey?: Uint8Array): { conn: Connection, link: SecuredLink } {
  const [transport] = duplexPair()
  const conn = new Connection({
    transport,
    role,
    context: { peerId: undefined, direction: role === 'dialer' ? 'outbound' : 'inbound', remoteAddress: transport.remoteAddress },
    maxQueuedBytes: 1024,
    slowPeerTimeout: 1000,
    lingerTimeout: 10,
    protocol: () => [],
    inbound: [],
    outbound: [],
    // Read to the end: a pipeline that stops reading closes its connection.
    deliver: async source => { await collect(source) },
    onClose: () => {}
  })
  open.push(conn)
  return { conn, link: { transport, security: publicKey === undefined ? 'plaintext' : 'noise', publicKey, cipher: publicKey === undefined ? undefined : 'AESGCM', direction: role === 'dialer' ? 'outbound' : 'inbound' } }
}

function admit (table: PeerTable, role: 'dialer' | 'listener', id: string, listenAddress?: string, publicKey?: Uint8Array): Admitted & { conn: Connection } {
  const { conn, link } = connection(role, publicKey)
  return { ...table.admit(conn, { id, name: `${id}-name`, listenAddress }, link), conn }
}

const notDialing = (): boolean => false

describe('PeerTable', () => {
  it('admits a new peer, with its record as the table keeps it', () => {
    const table = new PeerTable('me', 10, notDialing)
    const admitted = admit(table, 'dialer', 'peer', 'peer.example:7000')
    assert.equal(admitted.admission, 'accept')
    assert.ok(admitted.admission === 'accept' && admitted.isNew)
    assert.deepEqual({ ...admitted.peer, connectedAt: 0, lastSeen: 0 }, {
      id: 'peer',
      name: 'peer-name',
      address: 'peer.example:7000',
      remoteAddress: 'memory-b:1',
      direction: 'outbound',
      connectedAt: 0,
      lastSeen: 0,
      security: 'plaintext',
      cipher: undefined,
      publicKey: undefined,
      fingerprint: undefined
    })
    assert.equal(table.size, 1)
    assert.equal(table.get('peer')?.conn, admitted.conn)
    assert.deepEqual(table.at('peer.example:7000'), admitted.peer)
    assert.notEqual(table.at('peer.example:7000'), admitted.peer, 'at() gives a copy')
    assert.equal(table.at('other.example:7000'), undefined)
    assert.throws(() => table.entry('nobody'), { code: 'ERR_PEER_NOT_FOUND' })
  })

  it('refuses this node itself, and anyone once maxPeers are connected', () => {
    const table = new PeerTable('me', 1, notDialing)
    assert.equal(admit(table, 'dialer', 'me').admission, 'self')
    assert.equal(admit(table, 'listener', 'first').admission, 'accept')
    assert.equal(admit(table, 'listener', 'second').admission, 'max-peers')
    assert.equal(table.size, 1)
  })

  it('in a crossing dial, the listener with the lower id refuses before accepting; the higher one accepts', () => {
    const dialing = (address: string): boolean => address === 'peer.example:7000'
    assert.equal(admit(new PeerTable('a', 10, dialing), 'listener', 'b', 'peer.example:7000').admission, 'duplicate')
    assert.equal(admit(new PeerTable('c', 10, dialing), 'listener', 'b', 'peer.example:7000').admission, 'accept')
    assert.equal(admit(new PeerTable('a', 10, dialing), 'listener', 'b', 'elsewhere.example:7000').admission, 'accept')
  })

  it('with two connections to one peer, keeps the one dialled by the lower id, moving the peer onto it', () => {
    // This node is b; the peer, a, has the lower id.
    const table = new PeerTable('b', 10, notDialing)
    const first = admit(table, 'dialer', 'a', 'a.example:7000')
    const key = generateIdentity().publicKey
    const second = admit(table, 'listener', 'a', 'a.example:7000', key)
    assert.ok(second.admission === 'accept' && !second.isNew)
    assert.equal(second.peer, table.get('a')?.info, 'the same record, moved')
    assert.equal(second.peer.direction, 'inbound')
    assert.equal(second.peer.fingerprint, fingerprint(key))
    assert.equal(table.get('a')?.conn, second.conn)
    assert.ok(first.conn.closeReason instanceof DuplicatePeerError)
    assert.equal(table.release('a', first.conn), false, 'the connection it was moved off no longer holds it')
    assert.equal(table.release('a', second.conn), true)
    assert.equal(table.size, 0)
  })

  it('with two connections to one peer, refuses the one dialled by the higher id: a listener as duplicate, a dialer as redundant', () => {
    // This node is a, the lower id, and already dialled b.
    const table = new PeerTable('a', 10, notDialing)
    const kept = admit(table, 'dialer', 'b', 'b.example:7000')
    assert.equal(admit(table, 'listener', 'b').admission, 'duplicate')
    const again = admit(table, 'dialer', 'b', 'b.example:7000')
    assert.equal(again.admission, 'redundant')
    assert.equal(again.admission === 'redundant' && again.peer, table.get('b')?.info)
    assert.equal(table.get('b')?.conn, kept.conn)
    assert.equal(kept.conn.closeReason, undefined)
  })

  it('finds peers by listen address and lists the addresses, through admissions and releases in any order', () => {
    const table = new PeerTable('me', 10, () => false)
    const a = admit(table, 'listener', 'a', 'a.example:1')
    const b = admit(table, 'listener', 'b', 'b.example:1')
    admit(table, 'listener', 'c')
    const claimant = admit(table, 'listener', 'd', 'a.example:1')
    const sorted = (): Array<string | undefined> => [...table.addresses()].sort()
    assert.deepEqual(sorted(), ['a.example:1', 'a.example:1', 'b.example:1', undefined])
    assert.equal(table.at('a.example:1')?.id, 'a', 'the first to claim an address answers for it')
    assert.equal(table.release('a', a.conn), true)
    assert.equal(table.at('a.example:1')?.id, 'd', 'then the next one that claims it')
    assert.equal(table.release('b', b.conn), true)
    assert.equal(table.at('b.example:1'), undefined)
    assert.deepEqual(sorted(), ['a.example:1', undefined])
    assert.equal(table.release('d', claimant.conn), true)
    assert.equal(table.at('a.example:1'), undefined)
    assert.deepEqual(sorted(), [undefined])
  })
})

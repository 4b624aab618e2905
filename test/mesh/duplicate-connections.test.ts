/**
 * Two nodes that dial each other at once end up with one connection, the one
 * dialled by the lower id. A dialer can learn that its connection is the
 * redundant one only after the listener has accepted it, and the listener may
 * already be sending on it: those messages must still be delivered.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { describe, it } from 'node:test'
import { type TransportFactory } from '../../lib/index.js'
import { sleep, within } from '../../harness/async.js'
import { LiveHarness } from '../support/live.js'
import { nextEvent, withHarness } from '../support/mesh.js'
import { HOST, portOf } from '../../harness/loopback.js'
import { RawSocket } from '../support/raw-socket.js'
import { tcpTransport } from '../../lib/transport/index.js'

describe('simultaneous connections', () => {
  it('a dialer reads a redundant connection to its end, delivering what the listener sent on it, and sends nothing', async () => {
    await withHarness(LiveHarness, async nodes => {
      const low = '0'.repeat(32)
      const node = await nodes.node({ id: 'f'.repeat(32), autoDial: false })
      // The peer with the lower id is connected already, having dialled the node.
      const first = await RawSocket.connect(portOf(node.address))
      const connected = nextEvent(node, 'peer:connect')
      await first.write(`${low}:peer\nLISTEN:${HOST}:1\n`)
      await connected

      // The node dials the same peer (through another address of it): the peer accepts, then chats at once.
      const received: Buffer[] = []
      const server = net.createServer(socket => {
        socket.on('error', () => {})
        socket.on('data', chunk => { received.push(chunk) })
        socket.once('data', () => { socket.write(`${low}:peer\nsent on the second connection\n`) })
        socket.on('end', () => { socket.end() })
      })
      await new Promise<void>(resolve => { server.listen(0, HOST, resolve) })
      try {
        const chat = nextEvent(node, 'chat', ({ text }) => text === 'sent on the second connection')
        const peer = await within(node.connect(`${HOST}:${(server.address() as net.AddressInfo).port}`), 'connect()', 3000)
        assert.equal(peer.id, low)
        const [{ peer: from }] = await chat
        assert.equal(from.id, low)
        // One peer, still on its first connection; the node wrote only its hello and LISTEN on the second.
        assert.equal(node.peers().length, 1)
        assert.equal(node.peers()[0]?.direction, 'inbound')
        const written = Buffer.concat(received).toString()
        assert.deepEqual(written.trim().split('\n').map(line => line.split(':')[0]), [node.id, 'LISTEN'])
      } finally {
        server.close()
        first.destroy()
      }
    })
  })

  it('connect() refused because the peer is dialling us at that moment resolves once that connection is up', async () => {
    await withHarness(LiveHarness, async nodes => {
      const tcp = tcpTransport()
      // The lower id dials slowly, so its dial is in flight when the higher id's hello arrives.
      let dialStarted: () => void = () => {}
      const dialing = new Promise<void>(resolve => { dialStarted = resolve })
      const slow: TransportFactory = {
        dial: async (host, port, opts) => { dialStarted(); await sleep(300); return await tcp.dial(host, port, opts) },
        listen: async (host, port, onConnection) => await tcp.listen(host, port, onConnection)
      }
      const low = await nodes.node({ id: '0'.repeat(32), autoDial: false, transport: slow })
      const high = await nodes.node({ id: 'f'.repeat(32), autoDial: false })
      const lowDials = low.connect(high.address)
      await within(dialing, 'the lower id to start dialling', 3000)
      const errors: Error[] = []
      low.on('connection:error', ({ error }) => { errors.push(error) })
      const [fromHigh, fromLow] = await within(Promise.all([high.connect(low.address), lowDials]), 'both connect() calls', 3000)
      assert.equal(fromHigh.id, low.id)
      assert.equal(fromLow.id, high.id)
      assert.equal(high.peers()[0]?.direction, 'inbound', 'the connection the lower id dialled is kept')
      assert.deepEqual(errors, [], 'refusing the crossing connection is not an error')
    })
  })
})

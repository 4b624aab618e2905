import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Connection } from '../../lib/connection/connection.js'
import { ConnectionClosedError } from '../../lib/errors.js'
import { duplexPair } from '../../lib/transport/memory.js'
import type { Message } from '../../transforms/core/line-protocol.js'
import { heartbeat } from '../../transforms/heartbeat.js'
import { discovery } from '../../transforms/discovery.js'
import { waitFor } from '../../harness/async.js'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

/** A connection on one end of a duplex pair, with the heartbeat and discovery stages; the other end is written by hand. */
function harness (maxHandshakeBytes?: number) {
  const [local, remote] = duplexPair()
  const delivered: Message[] = []
  const closes: Error[] = []
  const conn = new Connection({
    transport: local,
    role: 'listener',
    context: { peerId: undefined, direction: 'inbound', remoteAddress: local.remoteAddress },
    maxQueuedBytes: 1024,
    maxHandshakeBytes,
    slowPeerTimeout: 1000,
    lingerTimeout: 1000,
    inbound: [],
    protocol: link => [
      heartbeat({ link, maintenanceInterval: 60_000, peerTimeout: 60_000 }),
      discovery({ link, discoveryInterval: 60_000, peersToShare: () => ['h:1'], onPeers: () => {} })
    ],
    outbound: [],
    deliver: async source => { for await (const batch of source) delivered.push(...batch) },
    onClose: reason => { closes.push(reason) }
  })
  const queued: Uint8Array[] = []
  let ended = false
  let wake: (() => void) | undefined
  async function * input (): AsyncGenerator<Uint8Array> {
    for (;;) {
      const next = queued.shift()
      if (next !== undefined) yield next
      else if (ended) return
      else await new Promise<void>(resolve => { wake = resolve })
    }
  }
  void remote.sink(input()).catch(() => {})
  return {
    conn,
    delivered,
    closes,
    send: (s: string) => { queued.push(text(s)); wake?.() },
    end: () => { ended = true; wake?.() }
  }
}

describe('Connection', () => {
  it('keeps delivering what the peer sends after close() while it drains, answering nothing: a PING does not end the pipeline', async () => {
    const { conn, delivered, send, end } = harness()
    conn.established()
    // As a listener, the classifier reads the first line as the hello.
    send('peer:name\nfirst\n')
    await waitFor(() => delivered.length === 2, 'first message')
    conn.close(new ConnectionClosedError('superseded'))
    // The peer has not heard yet: it pings, asks for peers, and chats on.
    send('PING\nREQUEST_PEERS\nsecond\n')
    send('third\n')
    end()
    await conn.done
    assert.deepEqual(delivered.filter(m => m.type === 'chat').map(m => m.type === 'chat' && m.text), ['first', 'second', 'third'])
  })

  it('refuses more than maxHandshakeBytes before established(), and any amount after', async () => {
    const strict = harness(64)
    strict.send('x'.repeat(40))
    strict.send('x'.repeat(40))
    strict.send('x'.repeat(40))
    await strict.conn.done
    assert.equal((strict.closes[0] as Error & { code?: string }).code, 'ERR_HANDSHAKE_TOO_LARGE')

    const open = harness(64)
    open.conn.established()
    for (let i = 0; i < 10; i++) open.send(`${'y'.repeat(40)}\n`)
    await waitFor(() => open.delivered.length === 10, 'ten lines')
    open.end()
    await open.conn.done
    assert.deepEqual(open.closes.map(e => (e as Error & { code?: string }).code), ['ERR_CONNECTION_CLOSED'])
  })
})

/**
 * Wire compatibility over real TCP: a test peer that speaks the line protocol
 * by hand (literal strings and bytes on a node:net socket, lines split by
 * support/raw-socket.ts, nothing from meshline's codec) checks the exact
 * bytes a MeshNode sends, as listener, as dialer, and for the heartbeat.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { describe, it } from 'node:test'
import type { MeshNode } from '../../lib/index.js'
import { within } from '../../harness/async.js'
import { causeCodes, Harness, newId, nextEvent, withHarness } from '../support/mesh.js'
import { HOST, portOf } from '../../harness/loopback.js'
import { RawSocket } from '../support/raw-socket.js'

/** Upper bound of any single wait in this file, in ms: generous, never slept. */
const DEADLINE = 3000

/** A raw TCP server whose accepted connections are handed out in order. */
class RawServer {
  private readonly accepted: RawSocket[] = []
  private wake: (() => void) | undefined
  private closing = false
  readonly server: net.Server
  port = 0

  constructor () {
    this.server = net.createServer(socket => {
      this.accepted.push(new RawSocket(socket))
      this.wake?.()
    })
  }

  async listen (): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen({ host: HOST, port: 0 }, resolve)
    })
    this.port = (this.server.address() as net.AddressInfo).port
    return this
  }

  /** Every connection accepted so far, including ones already handed out. */
  connections: RawSocket[] = []

  async nextConnection (ms = DEADLINE): Promise<RawSocket> {
    const deadline = Date.now() + ms
    while (this.accepted.length === 0) {
      if (this.closing) assert.fail('server closed')
      const left = deadline - Date.now()
      if (left <= 0) assert.fail(`no connection accepted within ${ms} ms`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, left)
        this.wake = () => { clearTimeout(timer); resolve() }
      })
      this.wake = undefined
    }
    const peer = this.accepted.shift() as RawSocket
    this.connections.push(peer)
    return peer
  }

  async close (): Promise<void> {
    this.closing = true
    this.wake?.()
    for (const peer of [...this.connections, ...this.accepted]) peer.destroy()
    await new Promise<void>(resolve => { this.server.close(() => { resolve() }) })
  }
}

/** The harness, also opening raw peers and raw servers, and closing them. */
class RawHarness extends Harness {
  async raw (port: number): Promise<RawSocket> {
    const peer = await RawSocket.connect(port, DEADLINE)
    this.onClose(() => { peer.destroy() })
    return peer
  }

  async server (): Promise<RawServer> {
    const server = new RawServer()
    this.onClose(async () => { await server.close() })
    return await server.listen()
  }

  /**
   * Connects a raw peer to `node` and completes the dialer's half of the
   * handshake by hand, checking the listener's answer byte for byte.
   */
  async handshake (node: MeshNode, id = newId(), name = 'raw', listenPort = 1): Promise<RawSocket> {
    const peer = await this.raw(portOf(node.address))
    const connected = nextEvent(node, 'peer:connect', ({ peer }) => peer.id === id)
    await peer.write(`${id}:${name}\nLISTEN:${HOST}:${listenPort}\n`)
    assert.equal(await peer.readLine(), `${node.id}:${node.name}\n`)
    await connected
    return peer
  }
}

describe('wire compatibility: meshline as listener', () => {
  it('answers a hand-written hello with exactly <id>:<name>\\n, then PING with exactly PONG\\n', async () => {
    await withHarness(RawHarness, async h => {
      const node = await h.node({ name: 'Listener Node' })
      const raw = await h.raw(portOf(node.address))
      const id = newId()
      const connected = nextEvent(node, 'peer:connect')
      await raw.write(`${id}:Raw Client\n`)
      await raw.write(`LISTEN:${HOST}:4321\n`)
      assert.equal(await raw.readLine(), `${node.id}:Listener Node\n`)
      const [{ peer }] = await connected
      assert.equal(peer.id, id)
      assert.equal(peer.name, 'Raw Client')
      assert.equal(peer.address, `${HOST}:4321`)
      assert.equal(peer.direction, 'inbound')

      await raw.write('PING\n')
      // The node knows no other peer, so it must not have sent a PEERS line: PONG comes next.
      assert.equal(await raw.readLine(), 'PONG\n')
      await raw.write('PING\r\n')
      assert.equal(await raw.readLine(), 'PONG\n')
    })
  })

  it('sends a PEERS: line after its hello only when it has peers to share', async () => {
    await withHarness(RawHarness, async h => {
      const node = await h.node()
      await h.handshake(node, newId(), 'first', 1111)
      const second = await h.raw(portOf(node.address))
      await second.write(`${newId()}:second\nLISTEN:${HOST}:2222\n`)
      assert.equal(await second.readLine(), `${node.id}:${node.name}\n`)
      assert.equal(await second.readLine(), `PEERS:${HOST}:1111\n`)
    })
  })

  it('takes a handshake sent in one write with \\r\\n endings, a wildcard LISTEN host and a PING right behind it', async () => {
    await withHarness(RawHarness, async h => {
      const node = await h.node()
      const raw = await h.raw(portOf(node.address))
      const id = newId()
      const connected = nextEvent(node, 'peer:connect')
      await raw.write(`${id}:crlf peer\r\nLISTEN:0.0.0.0:4321\r\nPING\r\n`)
      assert.equal(await raw.readLine(), `${node.id}:${node.name}\n`)
      assert.equal(await raw.readLine(), 'PONG\n')
      const [{ peer }] = await connected
      assert.equal(peer.name, 'crlf peer')
      // A wildcard host is replaced by the address the connection came from.
      assert.equal(peer.address, `${HOST}:4321`)
    })
  })

  it('defaults an empty name to the id', async () => {
    await withHarness(RawHarness, async h => {
      const node = await h.node()
      const id = newId()
      await h.handshake(node, id, '')
      assert.equal(node.peers().find(peer => peer.id === id)?.name, id)
    })
  })

  it('answers REQUEST_PEERS with a PEERS: line of the other peers\' listen addresses', async () => {
    await withHarness(RawHarness, async h => {
      const node = await h.node()
      const raw = await h.handshake(node, newId(), 'asker', 1111)
      await h.handshake(node, newId(), 'other', 2222)
      await raw.write('REQUEST_PEERS\n')
      // The asker's own address is left out.
      assert.equal(await raw.readLine(), `PEERS:${HOST}:2222\n`)
    })
  })

  it('delivers a hand-written chat line as a chat event, trimmed, with \\r\\n tolerated', async () => {
    await withHarness(RawHarness, async h => {
      const node = await h.node()
      const id = newId()
      const raw = await h.handshake(node, id)
      let chat = nextEvent(node, 'chat')
      await raw.write('  hello mesh\t\r\n')
      let [{ peer, text }] = await chat
      assert.equal(peer.id, id)
      assert.equal(text, 'hello mesh')

      chat = nextEvent(node, 'chat')
      await raw.write(Buffer.from('héllo ✓ 🌍\n', 'utf8'))
      ;[{ text }] = await chat
      assert.equal(text, 'héllo ✓ 🌍')
    })
  })

  it('delivers BYTES:5\\nab\\ncd as a bytes event of exactly those 5 bytes, even split across writes', async () => {
    await withHarness(RawHarness, async h => {
      const node = await h.node()
      const id = newId()
      const raw = await h.handshake(node, id)
      let received = nextEvent(node, 'bytes')
      await raw.write('BYTES:5\nab\ncd')
      let [{ peer, data }] = await received
      assert.equal(peer.id, id)
      assert.deepEqual(Buffer.from(data.subarray()), Buffer.from('ab\ncd', 'latin1'))

      // Header and payload cut at awkward places, then line framing resumes.
      received = nextEvent(node, 'bytes')
      const chat = nextEvent(node, 'chat')
      await raw.write('BYT')
      await raw.write('ES:3\n\x00')
      await raw.write(Buffer.from([0xff, 0x0a]))
      await raw.write('after\n')
      ;[{ data }] = await received
      assert.deepEqual(Buffer.from(data.subarray()), Buffer.from([0x00, 0xff, 0x0a]))
      assert.equal((await chat)[0].text, 'after')

      received = nextEvent(node, 'bytes')
      await raw.write('BYTES:0\n')
      ;[{ data }] = await received
      assert.equal(data.byteLength, 0)
    })
  })

  it('writes broadcast(\'hi\') as exactly hi\\n and broadcastBytes as BYTES:<len>\\n + the raw bytes', async () => {
    await withHarness(RawHarness, async h => {
      const node = await h.node()
      const raw = await h.handshake(node)

      assert.deepEqual((await node.broadcast('hi')).failed, [])
      assert.equal(await raw.readLine(), 'hi\n')

      const small = Buffer.from([0x00, 0x0a, 0xff, 0x42, 0x0d])
      await node.broadcastBytes(small)
      assert.equal(await raw.readLine(), 'BYTES:5\n')
      assert.deepEqual(await raw.readBytes(5), small)

      // Large enough to be written by reference rather than copied.
      const large = randomBytes(100_000)
      await node.broadcastBytes(large)
      assert.equal(await raw.readLine(), 'BYTES:100000\n')
      assert.deepEqual(await raw.readBytes(large.length), large)

      await node.broadcastBytes(new Uint8Array(0))
      assert.equal(await raw.readLine(), 'BYTES:0\n')
      // Line framing resumes right after the payload.
      await node.broadcast('after')
      assert.equal(await raw.readLine(), 'after\n')
    })
  })

  it('answers a second connection with the same id with exactly DUPLICATE\\n and closes it', async () => {
    await withHarness(RawHarness, async h => {
      const node = await h.node()
      const id = newId()
      const first = await h.handshake(node, id)
      const second = await h.raw(portOf(node.address))
      await second.write(`${id}:again\nLISTEN:${HOST}:1\n`)
      assert.equal(await second.readLine(), 'DUPLICATE\n')
      await second.waitClosed()
      // The first connection is untouched.
      assert.deepEqual(node.peers().map(peer => peer.id), [id])
      await first.write('PING\n')
      assert.equal(await first.readLine(), 'PONG\n')
    })
  })

  it('answers a new id with exactly MAX_PEERS\\n and closes it once maxPeers is reached', async () => {
    await withHarness(RawHarness, async h => {
      const node = await h.node({ maxPeers: 1 })
      const id = newId()
      await h.handshake(node, id)
      const extra = await h.raw(portOf(node.address))
      await extra.write(`${newId()}:extra\nLISTEN:${HOST}:2\n`)
      assert.equal(await extra.readLine(), 'MAX_PEERS\n')
      await extra.waitClosed()
      assert.deepEqual(node.peers().map(peer => peer.id), [id])
    })
  })

  it('closes a client that never sends its id after connectionTimeout', async () => {
    await withHarness(RawHarness, async h => {
      const node = await h.node({ connectionTimeout: 200 })
      const failed = nextEvent(node, 'connection:error')
      const opened = Date.now()
      const raw = await h.raw(portOf(node.address))
      await raw.waitClosed(DEADLINE)
      const elapsed = Date.now() - opened
      assert.ok(elapsed >= 150, `closed after ${elapsed} ms, before connectionTimeout`)
      const [{ error, closed }] = await failed
      assert.equal((error as Error & { code?: string }).code, 'ERR_HANDSHAKE_TIMEOUT')
      assert.equal(closed, true)
      assert.deepEqual(node.peers(), [])
    })
  })
})

describe('wire compatibility: meshline as dialer', () => {
  it('sends <id>:<name>\\n and LISTEN:<host>:<port>\\n at once, then REQUEST_PEERS\\n once answered', async () => {
    await withHarness(RawHarness, async h => {
      const node = await h.node({ name: 'Dialer Node' })
      const server = await h.server()
      const connecting = node.connect(`${HOST}:${server.port}`)
      const raw = await server.nextConnection()
      // Both lines arrive before the server has written anything.
      assert.equal(await raw.readLine(), `${node.id}:Dialer Node\n`)
      assert.equal(await raw.readLine(), `LISTEN:${HOST}:${portOf(node.address)}\n`)

      const id = newId()
      await raw.write(`${id}:Raw Server\n`)
      const peer = await within(connecting, 'connect()', DEADLINE)
      assert.equal(peer.id, id)
      assert.equal(peer.name, 'Raw Server')
      assert.equal(peer.address, `${HOST}:${server.port}`)
      assert.equal(peer.direction, 'outbound')
      // It knows no other peer: no PEERS line first.
      assert.equal(await raw.readLine(), 'REQUEST_PEERS\n')

      await raw.write('PING\n')
      assert.equal(await raw.readLine(), 'PONG\n')
    })
  })

  it('sends its own PEERS: line before REQUEST_PEERS\\n when it knows peers', async () => {
    await withHarness(RawHarness, async h => {
      const node = await h.node()
      await h.handshake(node, newId(), 'known', 1111)
      const server = await h.server()
      const connecting = node.connect(`${HOST}:${server.port}`)
      const raw = await server.nextConnection()
      assert.equal(await raw.readLine(), `${node.id}:${node.name}\n`)
      assert.equal(await raw.readLine(), `LISTEN:${HOST}:${portOf(node.address)}\n`)
      await raw.write(`${newId()}:server\n`)
      await within(connecting, 'connect()', DEADLINE)
      assert.equal(await raw.readLine(), `PEERS:${HOST}:1111\n`)
      assert.equal(await raw.readLine(), 'REQUEST_PEERS\n')
    })
  })

  it('adds the addresses of a received PEERS: line to knownPeers', async () => {
    await withHarness(RawHarness, async h => {
      const node = await h.node({ autoDial: false })
      const server = await h.server()
      const connecting = node.connect(`${HOST}:${server.port}`)
      const raw = await server.nextConnection()
      await raw.readLine()
      await raw.readLine()
      const id = newId()
      await raw.write(`${id}:server\n`)
      await within(connecting, 'connect()', DEADLINE)
      assert.equal(await raw.readLine(), 'REQUEST_PEERS\n')

      const discovered = nextEvent(node, 'peers:discovered')
      await raw.write(`PEERS:${HOST}:1,${HOST}:2, ${HOST}:3 \r\n`)
      const [{ from, addresses }] = await discovered
      assert.equal(from?.id, id)
      assert.deepEqual(addresses.sort(), [`${HOST}:1`, `${HOST}:2`, `${HOST}:3`])
      const known = new Map(node.knownPeers().map(k => [k.address, k]))
      for (const port of [1, 2, 3]) assert.equal(known.get(`${HOST}:${port}`)?.connected, false)
      assert.equal(known.get(`${HOST}:${server.port}`)?.connected, true)
    })
  })

  it('takes a PEERS: line that arrives in the same write as the listener\'s hello', async () => {
    await withHarness(RawHarness, async h => {
      const node = await h.node({ autoDial: false })
      const server = await h.server()
      const connecting = node.connect(`${HOST}:${server.port}`)
      const raw = await server.nextConnection()
      await raw.readLine()
      await raw.readLine()
      const discovered = nextEvent(node, 'peers:discovered')
      await raw.write(`${newId()}:server\nPEERS:${HOST}:7\nPING\n`)
      await within(connecting, 'connect()', DEADLINE)
      assert.deepEqual((await discovered)[0].addresses, [`${HOST}:7`])
      // Its own REQUEST_PEERS and the answer to PING, in either order.
      assert.deepEqual([await raw.readLine(), await raw.readLine()].sort(), ['PONG\n', 'REQUEST_PEERS\n'])
    })
  })

  for (const [answer, code] of [['DUPLICATE', 'ERR_DUPLICATE_PEER'], ['MAX_PEERS', 'ERR_MAX_PEERS']] as const) {
    it(`rejects connect() with ERR_DIAL_FAILED caused by ${code} when the listener answers ${answer}\\n`, async () => {
      await withHarness(RawHarness, async h => {
        const node = await h.node({ bootstrapAttempts: 2, bootstrapBackoff: 1 })
        const server = await h.server()
        const target = `${HOST}:${server.port}`
        let refusals = 0
        // Answer every attempt the same way, the way a real listener would, then close.
        const refuse = (async () => {
          for (;;) {
            const raw = await server.nextConnection(DEADLINE).catch(() => undefined)
            if (raw === undefined) return
            assert.equal(await raw.readLine(), `${node.id}:${node.name}\n`)
            assert.equal(await raw.readLine(), `LISTEN:${HOST}:${portOf(node.address)}\n`)
            await raw.write(`${answer}\n`)
            raw.socket.end()
            refusals++
          }
        })()
        refuse.catch(() => {})
        const dialFailed = nextEvent(node, 'dial:failed')
        const error = await within(node.connect(target).then(
          () => assert.fail('connect() resolved'),
          (err: unknown) => err
        ), 'connect() to settle', DEADLINE)
        assert.equal((error as Error & { code?: string }).code, 'ERR_DIAL_FAILED')
        assert.ok(causeCodes(error).includes(code), `cause chain ${causeCodes(error).join(' <- ')} lacks ${code}`)
        const [event] = await dialFailed
        assert.equal(event.address, target)
        assert.equal(event.error, error)
        assert.ok(refusals >= 1)
        assert.deepEqual(node.peers(), [])
      })
    })
  }
})

describe('wire compatibility: heartbeat', () => {
  it('sends PING\\n every maintenanceInterval in which a peer said nothing, drops a silent peer after peerTimeout, keeps one that answers PONG', async () => {
    await withHarness(RawHarness, async h => {
      const peerTimeout = 300
      const node = await h.node({ maintenanceInterval: 50, peerTimeout })
      const silentId = newId()
      const liveId = newId()
      const timedOut = nextEvent(node, 'peer:timeout', ({ peer }) => peer.id === silentId)
      const disconnected = nextEvent(node, 'peer:disconnect', ({ peer }) => peer.id === silentId)
      let liveDisconnect: Error | undefined
      node.on('peer:disconnect', ({ peer, reason }) => { if (peer.id === liveId) liveDisconnect = reason })

      const silent = await h.handshake(node, silentId, 'silent')
      const silentSince = Date.now()
      const live = await h.handshake(node, liveId, 'live')
      const liveSince = Date.now()

      // The live peer answers every PING for well over two peer timeouts.
      let pings = 0
      const answering = (async () => {
        while (Date.now() - liveSince < 3 * peerTimeout) {
          assert.equal(await live.readLine(), 'PING\n')
          await live.write('PONG\n')
          pings++
        }
      })()

      // The silent peer reads PINGs (and nothing else) until it is dropped.
      let silentPings = 0
      const reading = (async () => {
        for (;;) {
          const line = await silent.readLine().catch(() => undefined)
          if (line === undefined) return
          assert.equal(line, 'PING\n')
          silentPings++
        }
      })()

      const [{ peer }] = await timedOut
      assert.equal(peer.id, silentId)
      const [{ reason, peerCount }] = await disconnected
      assert.equal((reason as Error & { code?: string }).code, 'ERR_PEER_TIMEOUT')
      assert.equal(peerCount, 1)
      const elapsed = Date.now() - silentSince
      assert.ok(elapsed >= peerTimeout - 20, `dropped after ${elapsed} ms, before peerTimeout`)
      await silent.waitClosed()
      await reading
      assert.ok(silentPings >= 2, `the silent peer got ${silentPings} PINGs before being dropped`)

      await within(answering, 'the live peer to answer PINGs', DEADLINE)
      // Its PONG is heard in the interval after each PING, so it is PINGed every other interval.
      assert.ok(pings >= 5, `only ${pings} PINGs in ${3 * peerTimeout} ms at a 50 ms interval`)
      assert.equal(liveDisconnect, undefined)
      assert.deepEqual(node.peers().map(p => p.id), [liveId])
    })
  })

  it('keeps a peer alive on any line, not just PONG', async () => {
    await withHarness(RawHarness, async h => {
      const node = await h.node({ maintenanceInterval: 50, peerTimeout: 200 })
      const id = newId()
      const raw = await h.handshake(node, id)
      const since = Date.now()
      let lines = 0
      while (Date.now() - since < 600) {
        await raw.readLineMatching(line => line === 'PING\n')
        await raw.write(`still here ${lines++}\n`)
      }
      assert.deepEqual(node.peers().map(p => p.id), [id])
    })
  })
})

import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { describe, it } from 'node:test'
import { MeshNode, type MeshNodeOptions } from '../../lib/index.js'
import { waitFor } from '../../harness/async.js'
import { causeCodes, fileNodes } from '../support/mesh.js'
import { memoryNetwork } from '../../lib/transport/index.js'
import { mapMessages } from '../../transforms/index.js'

const FAST: MeshNodeOptions = {
  host: '127.0.0.1',
  dialJitter: 0,
  connectionTimeout: 2000,
  maintenanceInterval: 200,
  discoveryInterval: 100,
  peerTimeout: 5000,
  bootstrapBackoff: 20
}

const { startNode, stopNodes } = fileNodes(FAST)

describe('MeshNode', () => {
  it('exchanges chat and BYTES both ways', async () => {
    const a = await startNode({ name: 'alice' })
    const b = await startNode({ name: 'bob' })
    const bSaw = once(b, 'chat')
    const peer = await a.connect(b.address)
    assert.equal(peer.id, b.id)
    assert.equal(peer.name, 'bob')
    assert.equal(peer.direction, 'outbound')

    await a.send(b.id, 'hello bob')
    const [{ peer: from, text }] = await bSaw
    assert.equal(text, 'hello bob')
    assert.equal(from.id, a.id)
    assert.equal(from.name, 'alice')
    assert.equal(from.direction, 'inbound')

    const aSaw = once(a, 'chat')
    await b.broadcast('hello alice')
    assert.equal((await aSaw)[0].text, 'hello alice')

    const payload = new Uint8Array(70_000).map((_, i) => i % 251)
    payload[10] = 0x0a
    const bBytes = once(b, 'bytes')
    const aBytes = once(a, 'bytes')
    await a.sendBytes(b.id, payload)
    await b.broadcastBytes(new Uint8Array(0))
    assert.deepEqual((await bBytes)[0].data.subarray(), payload)
    assert.equal((await aBytes)[0].data.byteLength, 0)
    await stopNodes(a, b)
  })

  it('converges from a chain bootstrap to a full mesh through discovery alone', async () => {
    const nodes = await Promise.all(Array.from({ length: 5 }, async (_, i) => await startNode({ name: `n${i}` })))
    for (let i = 1; i < nodes.length; i++) await (nodes[i] as MeshNode).connect((nodes[i - 1] as MeshNode).address)
    await waitFor(() => nodes.every(node => node.peerCount === nodes.length - 1), 'full mesh', 5000)
    for (const node of nodes) {
      const ids = node.peers().map(p => p.id).sort()
      assert.equal(node.peerCount, ids.length)
      assert.deepEqual(ids, nodes.filter(other => other !== node).map(other => other.id).sort())
    }
    const received = nodes.slice(1).map(node => once(node, 'chat'))
    const result = await (nodes[0] as MeshNode).broadcast('to everyone')
    assert.equal(result.queued.length, 4)
    assert.deepEqual(result.failed, [])
    for (const seen of await Promise.all(received)) assert.equal(seen[0].text, 'to everyone')
    await stopNodes(...nodes)
  })

  it('is refused as DUPLICATE when a peer with the same id is already connected', async () => {
    const a = await startNode()
    const b = await startNode()
    const twin = await startNode({ id: b.id })
    await b.connect(a.address)
    const failed = once(twin, 'dial:failed')
    await assert.rejects(twin.connect(a.address), (err: unknown) => causeCodes(err).includes('ERR_DUPLICATE_PEER'))
    assert.ok(causeCodes((await failed)[0].error).includes('ERR_DUPLICATE_PEER'))
    assert.equal(a.peers().length, 1)
    await stopNodes(a, b, twin)
  })

  it('is refused with MAX_PEERS when the listener is full', async () => {
    const a = await startNode({ maxPeers: 1, autoDial: false })
    const b = await startNode({ autoDial: false })
    const c = await startNode({ autoDial: false })
    await b.connect(a.address)
    await assert.rejects(c.connect(a.address), (err: unknown) => causeCodes(err).includes('ERR_MAX_PEERS'))
    assert.deepEqual(a.peers().map(p => p.id), [b.id])
    assert.deepEqual(c.peers(), [])
    await stopNodes(a, b, c)
  })

  it('keeps exactly one connection, the same on both sides, when two nodes dial each other at once', async () => {
    for (let round = 0; round < 10; round++) {
      const a = await startNode({ autoDial: false })
      const b = await startNode({ autoDial: false })
      const results = await Promise.allSettled([a.connect(b.address), b.connect(a.address)])
      assert.ok(results.some(r => r.status === 'fulfilled'), 'at least one connect succeeds')
      await waitFor(() => a.peers().length === 1 && b.peers().length === 1, 'one peer each', 2000)
      const [aSide] = a.peers()
      const [bSide] = b.peers()
      assert.equal(aSide?.id, b.id)
      assert.equal(bSide?.id, a.id)
      // One connection: dialled by A on one side means accepted from A on the other.
      assert.notEqual(aSide?.direction, bSide?.direction)
      const dialer = aSide?.direction === 'outbound' ? a : b
      assert.equal(dialer.id, [a.id, b.id].sort()[0], 'the lower id dialled the surviving connection')
      const got = once(b, 'chat')
      await a.send(b.id, `round ${round}`)
      assert.equal((await got)[0].text, `round ${round}`)
      await stopNodes(a, b)
    }
  })

  it('loses nothing sent the moment a peer connects while two nodes dial each other', async () => {
    for (let round = 0; round < 20; round++) {
      const a = await startNode({ autoDial: false })
      const b = await startNode({ autoDial: false })
      const heard = new Map<MeshNode, string[]>([[a, []], [b, []]])
      for (const node of [a, b]) {
        // Sending from the connect event puts the message on whichever connection was just accepted.
        node.on('peer:connect', ({ peer }) => { node.send(peer.id, `hello from ${node.name}`).catch(() => {}) })
        node.on('chat', ({ text }) => { heard.get(node)?.push(text) })
      }
      await Promise.allSettled([a.connect(b.address), b.connect(a.address)])
      await waitFor(() => heard.get(a)?.length === 1 && heard.get(b)?.length === 1, `round ${round}: one hello each way`, 2000)
      assert.deepEqual(heard.get(a), [`hello from ${b.name}`])
      assert.deepEqual(heard.get(b), [`hello from ${a.name}`])
      await stopNodes(a, b)
    }
  })

  it('asks every peer for its peers on discover(), without waiting for the discovery interval', async () => {
    const slow = { discoveryInterval: 60_000, autoDial: false }
    const a = await startNode(slow)
    const b = await startNode(slow)
    const c = await startNode(slow)
    await a.connect(b.address)
    await c.connect(b.address)
    const answered = new Promise<string[]>(resolve => {
      a.on('debug', ({ message }) => { if (message.type === 'peers' && message.addresses.includes(c.address)) resolve(message.addresses) })
    })
    assert.equal(a.discover(), 1)
    assert.ok((await answered).includes(c.address))
    assert.ok(a.knownPeers().some(known => known.address === c.address && !known.connected))
    await stopNodes(a, b, c)
  })

  it('asks discoveryFanout peers at random per discoveryInterval, not every peer', async () => {
    const INTERVAL = 150
    const quiet = { discoveryInterval: 60_000, autoDial: false }
    const a = await startNode({ discoveryInterval: INTERVAL, discoveryFanout: 2, autoDial: false })
    const peers = await Promise.all(Array.from({ length: 4 }, async () => await startNode(quiet)))
    // The peers dial: a listener sends no REQUEST_PEERS in its handshake, so every request counted comes from a round.
    for (const peer of peers) await peer.connect(a.address)
    const asked: Array<{ peer: MeshNode, at: number }> = []
    for (const peer of peers) peer.on('debug', ({ message }) => { if (message.type === 'request-peers') asked.push({ peer, at: performance.now() }) })
    await waitFor(() => asked.length >= 16, 'eight rounds of requests', 5000)
    const rounds: Array<typeof asked> = []
    for (const request of asked.slice(0, 16)) {
      const round = rounds.at(-1)
      if (round !== undefined && request.at - (round[0] as { at: number }).at < INTERVAL / 2) round.push(request)
      else rounds.push([request])
    }
    assert.deepEqual(rounds.map(round => round.length), [2, 2, 2, 2, 2, 2, 2, 2], 'two peers asked per round')
    assert.ok(rounds.every(([first, second]) => first?.peer !== second?.peer), 'two different peers per round')
    assert.ok(new Set(asked.map(request => request.peer)).size > 2, 'peers picked at random, not always the same two (all eight rounds alike: p = 6^-7)')
    await stopNodes(a, ...peers)
  })

  it('refuses to dial itself, by address and by id', async () => {
    const a = await startNode()
    await assert.rejects(a.connect(a.address), (err: unknown) => causeCodes(err).includes('ERR_SELF_CONNECTION'))
    const port = a.address.split(':')[1]
    await assert.rejects(a.connect(`localhost:${port}`), (err: unknown) => causeCodes(err).includes('ERR_SELF_CONNECTION'))
    // Through a relay the address is new, so the id in the handshake is what catches it.
    const relay = net.createServer(client => {
      const upstream = net.connect(Number(port), '127.0.0.1')
      client.pipe(upstream).pipe(client)
      const closeBoth = (): void => { client.destroy(); upstream.destroy() }
      client.on('error', closeBoth).on('close', closeBoth)
      upstream.on('error', closeBoth).on('close', closeBoth)
    })
    await new Promise<void>(resolve => relay.listen(0, '127.0.0.1', resolve))
    const relayPort = (relay.address() as net.AddressInfo).port
    try {
      await assert.rejects(a.connect(`127.0.0.1:${relayPort}`), (err: unknown) => causeCodes(err).includes('ERR_SELF_CONNECTION'))
    } finally {
      await new Promise(resolve => relay.close(resolve))
    }
    assert.deepEqual(a.peers(), [])
    await stopNodes(a)
  })

  it('reports the disconnect of a stopped peer, and stop() closes everything', async () => {
    const a = await startNode()
    const b = await startNode()
    await a.connect(b.address)
    const gone = once(a, 'peer:disconnect')
    await stopNodes(b)
    const [{ peer, peerCount }] = await gone
    assert.equal(peer.id, b.id)
    assert.equal(peerCount, 0)
    assert.equal(b.running, false)
    await stopNodes(a)
  })

  it('routes BYTES sub-protocols to their handler by prefix and leaves other payloads alone', async () => {
    const a = await startNode()
    const b = await startNode()
    const handled: string[] = []
    const remove = b.handle('APP:', (data, peer) => { handled.push(`${peer.id === a.id ? 'a' : '?'}:${new TextDecoder().decode(data.subarray())}`) })
    const unclaimed = once(b, 'bytes')
    await a.connect(b.address)
    await a.broadcastBytes(new TextEncoder().encode('APP:one'))
    await a.broadcastBytes(new TextEncoder().encode('OTHER'))
    assert.equal(new TextDecoder().decode((await unclaimed)[0].data.subarray()), 'OTHER')
    assert.deepEqual(handled, ['a:APP:one'])
    remove()
    const next = once(b, 'bytes')
    await a.broadcastBytes(new TextEncoder().encode('APP:two'))
    assert.equal(new TextDecoder().decode((await next)[0].data.subarray()), 'APP:two')
    await stopNodes(a, b)
  })

  it('runs user transforms on every connection, inbound and outbound', async () => {
    const shout = mapMessages(msg => msg.type === 'chat' ? { type: 'chat', text: msg.text.toUpperCase() } : msg)
    const dropSecrets = mapMessages(msg => msg.type === 'chat' && msg.text.includes('SECRET') ? undefined : msg)
    const a = await startNode({ outbound: [shout] })
    const b = await startNode({ inbound: [dropSecrets] })
    await a.connect(b.address)
    const inbox = b.messages()
    await a.send(b.id, 'a secret')
    await a.send(b.id, 'hello')
    const first = await inbox.next()
    assert.equal(first.done, false)
    assert.deepEqual(first.value.type === 'chat' && first.value.text, 'HELLO')
    await inbox.return?.()
    await stopNodes(a, b)
  })

  it('refuses invalid chat text and oversize payloads at the API with typed errors', async () => {
    const a = await startNode({ maxBytesPerMessage: 10 })
    await assert.rejects(a.broadcast('two\nlines'), { code: 'ERR_INVALID_MESSAGE' })
    await assert.rejects(a.broadcast('BYTES:3'), { code: 'ERR_INVALID_MESSAGE' })
    await assert.rejects(a.broadcastBytes(new Uint8Array(11)), { code: 'ERR_INVALID_MESSAGE' })
    await assert.rejects(a.send('nobody', 'hi'), { code: 'ERR_PEER_NOT_FOUND' })
    assert.throws(() => new MeshNode({ maxPeers: 0 }), { code: 'ERR_INVALID_OPTION' })
    assert.throws(() => new MeshNode({ id: 'has:colon' }), { code: 'ERR_INVALID_OPTION' })
    await stopNodes(a)
  })

  it('gives up a bootstrap after bootstrapAttempts with a DialError', async () => {
    const a = await startNode({ bootstrapAttempts: 3, bootstrapBackoff: 5 })
    const b = await startNode()
    const deadAddress = b.address
    await stopNodes(b)
    const failed = once(a, 'dial:failed')
    await assert.rejects(a.connect(deadAddress), (err: unknown) => {
      assert.equal((err as { code: string }).code, 'ERR_DIAL_FAILED')
      assert.equal((err as { attempts: number }).attempts, 3)
      return true
    })
    assert.equal((await failed)[0].address, deadAddress)
    await stopNodes(a)
  })

  it('forms a mesh over the in-memory transport with the same pipelines', async () => {
    const network = memoryNetwork()
    const nodes = await Promise.all(Array.from({ length: 4 }, async () => await startNode({ host: 'sim', port: 0, transport: network })))
    for (let i = 1; i < nodes.length; i++) await (nodes[i] as MeshNode).connect((nodes[0] as MeshNode).address)
    await waitFor(() => nodes.every(node => node.peers().length === nodes.length - 1), 'full in-memory mesh', 5000)
    const got = once(nodes[3] as MeshNode, 'chat')
    await (nodes[1] as MeshNode).broadcast('over memory')
    assert.equal((await got)[0].text, 'over memory')
    await stopNodes(...nodes)
  })
})

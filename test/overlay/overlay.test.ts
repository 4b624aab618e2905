import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, afterEach, describe, it } from 'node:test'
import { DEFAULT_OVERLAY_OPTIONS, MeshNode, type MeshNodeOptions, type OverlayOptions } from '../../lib/index.js'
import { Overlay, type OverlayHost } from '../../lib/overlay/overlay.js'
import { OVERLAY_PREFIX, decodeFrame, encodeFrame, type OverlayFrame } from '../../lib/overlay/overlay-protocol.js'
import type { Message } from '../../transforms/core/line-protocol.js'
import { Uint8ArrayList } from 'uint8arraylist'
import { PENDING, activeTimers, settled, sleep, waitFor, within } from '../../harness/async.js'
import { seeded } from '../../harness/random.js'
import type { IncomingMessage, PeerInfo } from '../../lib/types.js'
import { crashable, memoryNetwork } from '../../lib/transport/index.js'

const FAST_OVERLAY: OverlayOptions = {
  shuffleInterval: 300,
  repairInterval: 50,
  graftTimeout: 100,
  graftRetryTimeout: 50,
  capabilityTimeout: 1000,
  routeTimeout: 1000
}

const running = new Set<MeshNode>()
after(async () => { await Promise.all([...running].map(async node => { await node.stop() })) })

/** Generous: it only bounds a hang; on an idle machine each wait takes well under a second. */
const PATIENCE = 15_000

interface SimNode { node: MeshNode, crash: () => void, alive: boolean }

/** Starts `n` overlay nodes in memory, each joining through a random earlier one. */
async function overlayOf (n: number, seed: number, opts: MeshNodeOptions = {}): Promise<SimNode[]> {
  const network = memoryNetwork()
  const random = seeded(seed)
  // Every node gets the same seeded generator: their choices interleave, but the same way on every run.
  const nodes: SimNode[] = []
  for (let i = 0; i < n; i++) {
    const { transport, crash } = crashable(opts.transport ?? network)
    const node = new MeshNode({ host: 'sim', topology: 'overlay', connectionTimeout: 1000, ...opts, transport, overlay: { ...FAST_OVERLAY, random, ...opts.overlay } })
    running.add(node)
    await node.start()
    if (i > 0) await node.connect((nodes[Math.floor(random() * i)] as SimNode).node.address)
    nodes.push({ node, crash, alive: true })
  }
  return nodes
}

async function stopAll (nodes: SimNode[]): Promise<void> {
  await Promise.all(nodes.map(async ({ node }) => {
    await node.stop()
    running.delete(node)
  }))
}

/** Records which node delivered which chat text, and at how many hops. */
function recordChat (nodes: SimNode[]): Map<string, Map<string, number>> {
  const seen = new Map<string, Map<string, number>>()
  for (const { node } of nodes) {
    node.on('chat', ({ text, hops }) => {
      const byNode = seen.get(text) ?? new Map<string, number>()
      assert.equal(byNode.has(node.id), false, `${text} delivered twice to one node`)
      seen.set(text, byNode.set(node.id, hops))
    })
  }
  return seen
}

/** Whether the active views are symmetric and connect all these nodes. */
function overlayConnected (nodes: SimNode[]): boolean {
  const byId = new Map(nodes.map(({ node }) => [node.id, node]))
  const active = (node: MeshNode): string[] => node.overlayStatus()?.active ?? []
  for (const node of byId.values()) {
    if (!active(node).every(peer => byId.get(peer) !== undefined && active(byId.get(peer) as MeshNode).includes(node.id))) return false
  }
  const [first] = byId.keys()
  const reached = new Set([first as string])
  const stack = [first as string]
  while (stack.length > 0) {
    for (const peer of active(byId.get(stack.pop() as string) as MeshNode)) {
      if (reached.has(peer)) continue
      reached.add(peer)
      stack.push(peer)
    }
  }
  return reached.size === byId.size
}

function payloadsSent (nodes: SimNode[]): number {
  return nodes.reduce((sum, { node }) => sum + (node.overlayStatus()?.stats.sent.gossip ?? 0), 0)
}

describe('overlay topology', () => {
  it('delivers every broadcast once to every node, with bounded degree and about N-1 payloads per broadcast', async () => {
    const n = 60
    // No failures here: a long graftTimeout keeps a slow machine from pulling payloads that are on their way.
    const nodes = await overlayOf(n, 1, { overlay: { graftTimeout: 2000 } })
    const { activeViewSize } = nodes[0]?.node.options.overlay as { activeViewSize: number }
    await waitFor(() => overlayConnected(nodes), 'a connected overlay', PATIENCE)
    for (const { node } of nodes) {
      assert.ok(node.peers().length < node.options.maxPeers)
      assert.ok((node.overlayStatus()?.active.length ?? 0) <= activeViewSize)
    }
    const seen = recordChat(nodes)
    const random = seeded(2)
    const sendOne = async (text: string): Promise<void> => {
      const origin = nodes[Math.floor(random() * n)] as SimNode
      await origin.node.broadcast(text)
      await waitFor(() => seen.get(text)?.size === n - 1, `delivery of ${text}`, PATIENCE)
      assert.equal(seen.get(text)?.has(origin.node.id), false, 'the origin does not deliver its own broadcast')
    }
    // The first broadcasts prune the links that carried duplicates; the tree then carries each payload once.
    for (let b = 0; b < 3; b++) await sendOne(`warm-up ${b}`)
    await sleep(50)
    const before = payloadsSent(nodes)
    for (let b = 0; b < 10; b++) await sendOne(`broadcast ${b}`)
    await sleep(50)
    const perBroadcast = (payloadsSent(nodes) - before) / 10
    assert.ok(perBroadcast >= n - 1 && perBroadcast <= (n - 1) * 1.1, `${perBroadcast} payloads per broadcast for ${n} nodes`)
    const hops = [...(seen.get('broadcast 0')?.values() ?? [])]
    assert.ok(Math.max(...hops) > 1, 'relayed over several hops')
    await stopAll(nodes)
  })

  it('delivers to every survivor when 20% of the nodes crash during the broadcasts, and repairs the views', async () => {
    const n = 60
    const nodes = await overlayOf(n, 3)
    await waitFor(() => overlayConnected(nodes), 'a connected overlay', PATIENCE)
    const seen = recordChat(nodes)
    const random = seeded(4)
    const origins = new Map<string, string>()
    for (let b = 0; b < 20; b++) {
      if (b === 5) {
        const victims = nodes.filter(({ alive }, i) => i > 0 && alive && random() < 0.2)
        for (const victim of victims) {
          victim.alive = false
          victim.crash()
          void victim.node.stop()
        }
        assert.ok(victims.length >= 6)
      }
      const live = nodes.filter(({ alive }) => alive)
      const origin = live[Math.floor(random() * live.length)] as SimNode
      origins.set(`m${b}`, origin.node.id)
      await origin.node.broadcast(`m${b}`)
      await sleep(10)
    }
    const survivors = nodes.filter(({ alive }) => alive)
    const missing = (): string[] => [...origins].flatMap(([text, origin]) =>
      survivors.filter(({ node }) => node.id !== origin && seen.get(text)?.has(node.id) !== true).map(({ node }) => `${text}@${node.id}`))
    await waitFor(() => missing().length === 0, 'delivery to every survivor', PATIENCE)
    await waitFor(() => overlayConnected(survivors), 'repaired views', PATIENCE)
    await stopAll(nodes)
  })

  for (const endToEnd of ['off', 'required'] as const) it(`delivers every payload of a burst that outruns the payload cache (endToEnd ${endToEnd})`, async () => {
    // A chain whose ends meet mid-burst: copies pushed back to the author once set off PRUNEs that cut
    // two nodes off the tree, and the payloads their GRAFTs asked for had left the 16 MiB cache.
    const network = memoryNetwork()
    const nodes: MeshNode[] = []
    for (let i = 0; i < 4; i++) {
      const node = new MeshNode({ host: 'sim', transport: network, topology: 'overlay', connectionTimeout: 1000, overlay: { ...FAST_OVERLAY, endToEnd } })
      running.add(node)
      await node.start()
      if (i > 0) await node.connect((nodes[i - 1] as MeshNode).address)
      nodes.push(node)
    }
    const [author, ...receivers] = nodes as [MeshNode, ...MeshNode[]]
    const delivered = receivers.map(() => new Set<number>())
    receivers.forEach((node, i) => node.on('bytes', ({ data }) => { delivered[i]?.add(Buffer.from(data.subarray(0, 4)).readUInt32BE(0)) }))
    const count = 600
    const payloads = Array.from({ length: count }, (_, k) => { const payload = Buffer.alloc(64 * 1024); payload.writeUInt32BE(k); return payload })
    await author.broadcaster()([payloads.slice(0, 256), payloads.slice(256, 512), payloads.slice(512)])
    await waitFor(() => delivered.every(set => set.size === count), 'every payload at every node', PATIENCE)
    assert.equal(author.overlayStatus()?.stats.duplicates, 0, 'nothing came back to its author')
    await stopAll(nodes.map(node => ({ node, crash: () => {}, alive: true })))
  })

  it('routes a direct message to a node that is not a neighbour, and fails with ERR_NO_ROUTE for an unknown id', async () => {
    const nodes = await overlayOf(30, 5)
    await waitFor(() => overlayConnected(nodes), 'a connected overlay', PATIENCE)
    const first = (nodes[0] as SimNode).node
    const far = nodes.find(({ node }) => node !== first && first.peers().every(peer => peer.id !== node.id))?.node as MeshNode
    const got = once(far, 'chat')
    await first.send(far.id, 'just for you')
    const [{ text, origin, hops, peer }] = await got
    assert.equal(text, 'just for you')
    assert.equal(origin.id, first.id)
    assert.notEqual(peer.id, first.id)
    assert.ok(hops >= 2)
    const bytes = once(first, 'bytes')
    await far.sendBytes(first.id, new Uint8Array([1, 2, 3]))
    assert.deepEqual((await bytes)[0].data.subarray(), new Uint8Array([1, 2, 3]))
    await assert.rejects(first.send('no-such-node', 'hello?'), { code: 'ERR_NO_ROUTE' })
    await stopAll(nodes)
  })

  it('hands relayed BYTES payloads to the handler of their prefix, with their origin, unless it is link-only, and keeps the overlay prefix to itself', async () => {
    const nodes = await overlayOf(20, 8)
    await waitFor(() => overlayConnected(nodes), 'a connected overlay', PATIENCE)
    const author = (nodes[0] as SimNode).node
    const handled = new Map<string, { origin: string, hops: number }>()
    for (const { node } of nodes) {
      node.handle('APP:', (_data, _peer, { origin, hops }) => { handled.set(node.id, { origin: origin.id, hops }) })
      node.on('bytes', () => { assert.fail('a claimed payload reached the bytes event') })
    }
    await author.broadcastBytes(new TextEncoder().encode('APP:to all'))
    await waitFor(() => handled.size === nodes.length - 1, 'the handler on every other node', PATIENCE)
    assert.ok([...handled.values()].every(({ origin }) => origin === author.id))
    assert.ok(Math.max(...[...handled.values()].map(({ hops }) => hops)) > 1, 'relayed over several hops')
    // A link-only handler: what a neighbour sends over the link, not what reaches a node through the overlay.
    const neighbour = author.peers()[0] as PeerInfo
    const linkOnly: string[] = []
    const asData = new Set<string>()
    for (const { node } of nodes) {
      node.handle('LINK:', (data, peer) => { linkOnly.push(`${node.id} ${new TextDecoder().decode(data.subarray())} from ${peer.id}`) }, { relayed: false })
      node.removeAllListeners('bytes')
      node.on('bytes', ({ data }) => { if (new TextDecoder().decode(data.subarray()) === 'LINK:broadcast') asData.add(node.id) })
    }
    await author.sendBytes(neighbour.id, new TextEncoder().encode('LINK:direct'))
    await author.broadcastBytes(new TextEncoder().encode('LINK:broadcast'))
    await waitFor(() => linkOnly.length === 1 && asData.size === nodes.length - 1, 'the direct payload handled, the broadcast delivered as data', PATIENCE)
    assert.deepEqual(linkOnly, [`${neighbour.id} LINK:direct from ${author.id}`])
    const reserved = new TextEncoder().encode(`${OVERLAY_PREFIX}PRUNE`)
    await assert.rejects(author.broadcastBytes(reserved), { code: 'ERR_INVALID_MESSAGE' })
    await assert.rejects(author.sendBytes((nodes[1] as SimNode).node.id, reserved), { code: 'ERR_INVALID_MESSAGE' })
    await stopAll(nodes)
  })

  it('sends broadcasts to a full-mesh meshline peer as plain messages, and never an overlay frame it would see', async () => {
    const network = memoryNetwork()
    const nodes = await overlayOf(10, 6, { transport: network })
    const far = (nodes[0] as SimNode).node
    const gateway = (nodes[9] as SimNode).node
    // Full mesh, the default; it stays with the one peer it dials, so each broadcast reaches it once.
    const plain = new MeshNode({ host: 'sim', transport: network, connectionTimeout: 1000, autoDial: false })
    running.add(plain)
    await plain.start()
    await plain.connect(gateway.address)
    await waitFor(() => gateway.overlayStatus()?.plain.includes(plain.id) === true, 'the full-mesh peer known as plain', PATIENCE)
    const chats: string[] = []
    const bytes: string[] = []
    plain.on('chat', ({ text, origin, peer }) => { chats.push(`${origin.id === gateway.id && peer.id === gateway.id ? 'gateway' : '?'}:${text}`) })
    plain.on('bytes', ({ data }) => { bytes.push(data.subarray().join(',')) })
    await far.broadcast('to all')
    await far.broadcastBytes(new Uint8Array([7]))
    await waitFor(() => chats.length === 1 && bytes.length === 1, 'plain delivery', PATIENCE)
    await sleep(50)
    assert.deepEqual(chats, ['gateway:to all'], 'as chat from the gateway, once')
    assert.deepEqual(bytes, ['7'], 'no overlay frame surfaces as bytes')
    const got = once(gateway, 'chat')
    await plain.broadcast('from the full mesh')
    assert.equal((await got)[0].origin.id, plain.id)
    await plain.stop()
    running.delete(plain)
    await stopAll(nodes)
  })

  it('sends a raw line-protocol peer over TCP only line-protocol messages: broadcasts as chat, the one probe as BYTES', async () => {
    const overlay = { ...FAST_OVERLAY, capabilityTimeout: 200 }
    const a = new MeshNode({ host: '127.0.0.1', topology: 'overlay', connectionTimeout: 1000, overlay })
    const b = new MeshNode({ host: '127.0.0.1', topology: 'overlay', connectionTimeout: 1000, overlay })
    for (const node of [a, b]) {
      running.add(node)
      await node.start()
    }
    await b.connect(a.address)
    await waitFor(() => a.overlayStatus()?.active.includes(b.id) === true, 'a and b neighbours', PATIENCE)
    const [host, port] = [a.address.split(':')[0] as string, Number(a.address.split(':')[1])]
    const raw = net.connect(port, host)
    await once(raw, 'connect')
    raw.write('rawpeer:Raw Peer\nLISTEN:127.0.0.1:1\n')
    let buffer = Buffer.alloc(0)
    raw.on('data', (chunk: Buffer) => { buffer = Buffer.concat([buffer, chunk]) })
    // Lines and BYTES frames the raw peer received, as the line protocol frames them.
    const frames = (): Array<{ line?: string, bytes?: string }> => {
      const out: Array<{ line?: string, bytes?: string }> = []
      let pos = 0
      for (;;) {
        const newline = buffer.indexOf(0x0a, pos)
        if (newline < 0) return out
        const line = buffer.subarray(pos, newline).toString('utf8').trim()
        pos = newline + 1
        if (line.startsWith('BYTES:')) {
          const length = Number(line.slice(6))
          if (buffer.length < pos + length) return out
          out.push({ bytes: buffer.subarray(pos, pos + length).toString('latin1') })
          pos += length
        } else {
          out.push({ line })
        }
      }
    }
    await waitFor(() => a.overlayStatus()?.plain.includes('rawpeer') === true, 'the raw peer known as plain', PATIENCE)
    await b.broadcast('hello raw')
    await waitFor(() => frames().some(f => f.line === 'hello raw'), 'the broadcast as a chat line', PATIENCE)
    raw.destroy()
    const received = frames()
    assert.equal(received[0]?.line, `${a.id}:${a.name}`)
    const controls = /^(PING|PONG|REQUEST_PEERS|PEERS:.*)$/
    const chat = received.slice(1).filter(f => f.line !== undefined && !controls.test(f.line)).map(f => f.line)
    assert.deepEqual(chat, ['hello raw'], 'nothing else reads as chat')
    const binary = received.filter(f => f.bytes !== undefined).map(f => f.bytes)
    assert.deepEqual(binary, [`${OVERLAY_PREFIX}CAPS overlay probe`], 'one capability probe, nothing of the overlay after it')
    await Promise.all([a.stop(), b.stop()])
    running.delete(a)
    running.delete(b)
  })

  it('leaves no timer behind once its nodes are stopped, and fails a pending route with ERR_NOT_RUNNING', async () => {
    const before = activeTimers()
    const nodes = await overlayOf(10, 7, { overlay: { routeTimeout: 60_000 } })
    await waitFor(() => overlayConnected(nodes), 'a connected overlay', PATIENCE)
    await (nodes[3] as SimNode).node.broadcast('one')
    const pending = (nodes[0] as SimNode).node.send('nobody', 'hello?')
    assert.ok(activeTimers() > before)
    await stopAll(nodes)
    await assert.rejects(pending, { code: 'ERR_NOT_RUNNING' })
    assert.equal(activeTimers(), before)
  })

  it('validates its options with ERR_INVALID_OPTION', () => {
    assert.throws(() => new MeshNode({ topology: 'ring' as 'overlay' }), { code: 'ERR_INVALID_OPTION' })
    assert.throws(() => new MeshNode({ topology: 'overlay', maxPeers: 5, overlay: { activeViewSize: 5 } }), { code: 'ERR_INVALID_OPTION' })
    assert.throws(() => new MeshNode({ topology: 'overlay', overlay: { graftTimeout: 0 } }), { code: 'ERR_INVALID_OPTION' })
    assert.throws(() => new MeshNode({ topology: 'overlay', overlay: { seenTtl: 10, cacheTtl: 20 } }), { code: 'ERR_INVALID_OPTION' })
    assert.throws(() => new MeshNode({ topology: 'overlay', overlay: { maxHops: 256 } }), { code: 'ERR_INVALID_OPTION' })
    assert.equal(new MeshNode().overlayStatus(), undefined, 'full mesh by default')
  })

  it('keeps nodes that do not listen (pages) as leaves: more than activeViewSize of them stay linked to their node, and broadcasts reach them all', async () => {
    const network = memoryNetwork()
    const random = seeded(7)
    const options: MeshNodeOptions = { host: 'sim', topology: 'overlay', connectionTimeout: 1000, transport: network, overlay: { ...FAST_OVERLAY, random, activeViewSize: 2 } }
    const start = async (extra: MeshNodeOptions = {}): Promise<MeshNode> => {
      const node = new MeshNode({ ...options, ...extra })
      running.add(node)
      await node.start()
      return node
    }
    const hub = await start()
    const others = [await start(), await start(), await start()]
    for (const node of others) await node.connect(hub.address)
    const leaves: MeshNode[] = []
    for (let i = 0; i < 5; i++) {
      const leaf = await start({ listen: false })
      await leaf.connect(hub.address)
      leaves.push(leaf)
    }
    const dropped: string[] = []
    for (const leaf of leaves) leaf.on('peer:disconnect', ({ peer, reason }) => { dropped.push(`${peer.name}: ${reason.message}`) })
    // Shuffles and repairs run every few hundred ms: a few rounds of them.
    await sleep(4 * (FAST_OVERLAY.shuffleInterval as number))
    assert.deepEqual(dropped, [])
    const status = hub.overlayStatus()
    for (const leaf of leaves) {
      assert.ok(status?.active.includes(leaf.id), 'a leaf stays in its node\'s active view')
      assert.deepEqual(leaf.peers().map(peer => peer.id), [hub.id], 'a leaf dials no one')
    }
    for (const node of [hub, ...others]) {
      assert.equal(node.overlayStatus()?.passive.some(id => leaves.some(leaf => leaf.id === id)), false, 'no leaf in a passive view')
    }
    const listening = status?.active.filter(id => !leaves.some(leaf => leaf.id === id)) ?? []
    assert.ok(listening.length <= 2, `activeViewSize bounds the listening neighbours: ${listening.length}`)
    const seen = recordChat([...others, ...leaves].map(node => ({ node, crash: () => {}, alive: true })))
    await (leaves[0] as MeshNode).broadcast('from a leaf')
    await waitFor(() => seen.get('from a leaf')?.size === others.length + leaves.length - 1, 'the leaf\'s broadcast everywhere', PATIENCE)
    await Promise.all([hub, ...others, ...leaves].map(async node => { await node.stop(); running.delete(node) }))
  })
})

/** The driver alone, with a host whose peers and clock the test controls. */
describe('overlay driver', () => {
  function peerInfo (id: string): PeerInfo {
    return { id, name: id, address: `sim:${id.length}`, remoteAddress: 'sim:9', direction: 'inbound', connectedAt: 0, lastSeen: 0, security: 'plaintext', cipher: undefined, publicKey: undefined, fingerprint: undefined }
  }

  type FakeHost = OverlayHost & { peers: Map<string, PeerInfo>, sent: Array<[string, Message]>, closed: Array<[string, string]>, delivered: IncomingMessage[] }

  function fakeHost (): FakeHost {
    const peers = new Map<string, PeerInfo>()
    const sent: Array<[string, Message]> = []
    const closed: Array<[string, string]> = []
    const delivered: IncomingMessage[] = []
    return {
      id: 'self',
      name: 'Self',
      identity: undefined,
      address: () => 'sim:1',
      peer: id => peers.get(id),
      send: (peerId, msg) => { sent.push([peerId, msg]); return undefined },
      dial: async () => { throw new Error('no dialling here') },
      disconnect: (peerId, reason) => { closed.push([peerId, (reason as { code?: string }).code ?? '']); peers.delete(peerId) },
      deliver: msg => { delivered.push(msg); return undefined },
      refused: () => { throw new Error('nothing is refused with endToEnd off') },
      peers,
      sent,
      closed,
      delivered
    }
  }

  /** Peers connected to the host and handed to the driver, as the node does once their handshake is done. */
  function connected<T extends string[]> (host: FakeHost, driver: Overlay, ...ids: T): { [K in keyof T]: PeerInfo } {
    return ids.map(id => {
      const peer = peerInfo(id)
      host.peers.set(id, peer)
      driver.peerUp(peer)
      return peer
    }) as { [K in keyof T]: PeerInfo }
  }

  const frame = (f: OverlayFrame): Uint8ArrayList => encodeFrame(f)
  const overlayFrames = (sent: Array<[string, Message]>, to: string): string[] => sent
    .filter(([peer, msg]) => peer === to && msg.type === 'bytes')
    .map(([, msg]) => decodeFrame(new Uint8ArrayList((msg as { data: Uint8ArrayList }).data)).type)

  // Stopped even when a test fails, so that their timers never keep the process alive.
  const drivers = new Set<Overlay>()
  afterEach(() => {
    for (const driver of drivers) driver.stop()
    drivers.clear()
  })

  function started (host: OverlayHost, overlay: Partial<OverlayOptions> = {}, connectionTimeout = 1000): Overlay {
    // Unsigned frames, written by hand here; signed ones have tests of their own.
    const driver = new Overlay(host, { ...DEFAULT_OVERLAY_OPTIONS, ...FAST_OVERLAY, capabilityTimeout: 20, endToEnd: 'off', ...overlay, connectionTimeout })
    drivers.add(driver)
    driver.start()
    return driver
  }

  it('joins through a contact whose capability answer comes only after capabilityTimeout', async () => {
    const host = fakeHost()
    const driver = started(host)
    const [contact] = connected(host, driver, 'contact')
    await driver.join(contact)
    assert.deepEqual(driver.status().plain, ['contact'], 'taken for plain at the timeout')
    assert.deepEqual(overlayFrames(host.sent, 'contact'), ['caps'])
    await driver.receive(frame({ type: 'caps', topology: 'overlay', reply: true }), contact)
    assert.deepEqual(overlayFrames(host.sent, 'contact'), ['caps', 'join', 'shuffle'])
    assert.deepEqual(driver.status().active, ['contact'])
  })

  it('holds broadcasts for an undecided peer: sent plain if it is plain, dropped if it speaks the overlay', async () => {
    const host = fakeHost()
    const driver = started(host)
    const [, meshline] = connected(host, driver, 'plain', 'meshline')
    await driver.broadcast({ type: 'chat', text: 'early' })
    await driver.receive(frame({ type: 'caps', topology: 'overlay', reply: false }), meshline)
    await sleep(40)
    const plainSent = host.sent.filter(([peer, msg]) => peer === 'plain' && msg.type === 'chat')
    assert.deepEqual(plainSent.map(([, msg]) => msg), [{ type: 'chat', text: 'early' }])
    assert.equal(host.sent.some(([peer, msg]) => peer === 'meshline' && msg.type === 'chat'), false)
    assert.deepEqual(overlayFrames(host.sent, 'meshline'), ['caps', 'caps'], 'its probe, and our answer to its probe')
  })

  it('closes a peer that sends a malformed overlay frame, or relays chat text no chat line can be', async () => {
    const host = fakeHost()
    const driver = started(host)
    const [bad, worse] = connected(host, driver, 'bad', 'worse')
    await driver.receive(new Uint8ArrayList(new TextEncoder().encode(`${OVERLAY_PREFIX}NONSENSE`)), bad)
    const gossip: OverlayFrame = { type: 'gossip', id: 'm1', kind: 'chat', hops: 1, hopLimit: 8, origin: { id: 'o', name: '' }, payload: new TextEncoder().encode('BYTES:99') }
    await driver.receive(frame(gossip), worse)
    assert.deepEqual(host.closed, [['bad', 'ERR_OVERLAY_FRAME'], ['worse', 'ERR_OVERLAY_FRAME']])
    assert.deepEqual(host.delivered, [])
  })

  it('delivers a broadcast from a neighbour with its origin and hop count, and relays it to plain peers', async () => {
    const host = fakeHost()
    const driver = started(host)
    const [neighbour, plain] = connected(host, driver, 'neighbour', 'plain')
    await driver.receive(frame({ type: 'caps', topology: 'full-mesh', reply: true }), plain)
    const gossip: OverlayFrame = { type: 'gossip', id: 'm1', kind: 'chat', hops: 3, hopLimit: 8, origin: { id: 'far', name: 'Far Away' }, payload: new TextEncoder().encode('hi all') }
    await driver.receive(frame(gossip), neighbour)
    await driver.receive(frame(gossip), neighbour)
    assert.deepEqual(host.delivered.map(m => m.type === 'chat' && [m.text, m.origin, m.hops, m.peer.id]), [['hi all', { id: 'far', name: 'Far Away' }, 3, 'neighbour']])
    assert.deepEqual(host.sent.filter(([peer, msg]) => peer === 'plain' && msg.type === 'chat').map(([, msg]) => msg), [{ type: 'chat', text: 'hi all' }])
    assert.equal(driver.status().stats.duplicates, 1)
  })

  it('sends a neighbour request over the peer\'s own connection when its dial lost a crossing-dial tie-break', async () => {
    const host = fakeHost()
    const crossing = peerInfo('crossing')
    host.dial = async () => {
      // The peer dialled us at the same time, and its connection is the one kept.
      host.peers.set(crossing.id, crossing)
      throw new Error('duplicate')
    }
    const driver = started(host, { repairInterval: 10 })
    const [contact] = connected(host, driver, 'contact')
    await driver.receive(frame({ type: 'caps', topology: 'overlay', reply: true }), contact)
    await driver.join(contact)
    await driver.receive(frame({ type: 'shuffle-reply', target: 'self', hops: 1, entries: [{ id: 'crossing', address: 'sim:8' }] }), contact)
    await waitFor(() => overlayFrames(host.sent, 'crossing').includes('neighbor'), 'the request on the kept connection')
    await driver.receive(frame({ type: 'neighbor-reply', accepted: true }), crossing)
    assert.deepEqual(driver.status().active.sort(), ['contact', 'crossing'])
  })

  it('closes, after connectionTimeout, an overlay connection that is neither a neighbour nor asked to be one', async () => {
    const host = fakeHost()
    const driver = started(host, { repairInterval: 10 }, 50)
    const [stranger] = connected(host, driver, 'stranger')
    await driver.receive(frame({ type: 'caps', topology: 'overlay', reply: false }), stranger)
    await sleep(20)
    assert.deepEqual(host.closed, [], 'not before connectionTimeout')
    await waitFor(() => host.closed.length > 0, 'the idle connection closed')
    assert.deepEqual(host.closed, [['stranger', 'ERR_CONNECTION_CLOSED']])
  })

  it('keeps one route discovery per target, bounded by routeTimeout, and forgets it once settled', async () => {
    const host = fakeHost()
    const driver = started(host, { routeTimeout: 50 })
    const [neighbour] = connected(host, driver, 'neighbour')
    await driver.receive(frame({ type: 'caps', topology: 'overlay', reply: true }), neighbour)
    await driver.join(neighbour)
    const requests = (): number => overlayFrames(host.sent, 'neighbour').filter(type => type === 'gossip').length
    const before = activeTimers()
    const first = driver.sendTo('far', { type: 'chat', text: 'one' })
    const second = driver.sendTo('far', { type: 'chat', text: 'two' })
    assert.equal(requests(), 1, 'one route request for both sends')
    assert.equal(activeTimers(), before + 1, 'one timer for both sends')
    await assert.rejects(first, { code: 'ERR_NO_ROUTE' })
    await assert.rejects(second, { code: 'ERR_NO_ROUTE' })
    assert.equal(activeTimers(), before)
    const third = driver.sendTo('far', { type: 'chat', text: 'three' })
    assert.equal(requests(), 2, 'a failed discovery is forgotten: the next send asks again')
    await driver.receive(frame({ type: 'route-reply', requester: 'self', target: 'far', hops: 2, hopLimit: 8 }), neighbour)
    await within(third, 'the send once the route is known')
    assert.deepEqual(overlayFrames(host.sent, 'neighbour').slice(-1), ['route'])
    assert.equal(activeTimers(), before)
  })

  it('keeps at most maxSeenMessages GRAFT timers, cancelling the oldest wait for a new one', async () => {
    const host = fakeHost()
    const driver = started(host, { maxSeenMessages: 2, graftTimeout: 60_000 })
    const [neighbour] = connected(host, driver, 'neighbour')
    await driver.receive(frame({ type: 'caps', topology: 'overlay', reply: true }), neighbour)
    const before = activeTimers()
    await driver.receive(frame({ type: 'ihave', ids: [{ id: 'x', hops: 1 }, { id: 'y', hops: 1 }] }), neighbour)
    assert.equal(activeTimers(), before + 2)
    await driver.receive(frame({ type: 'ihave', ids: [{ id: 'z', hops: 1 }] }), neighbour)
    assert.equal(activeTimers(), before + 2, 'the wait for x gave way to z')
  })

  it('lets a join that waits for an undecided peer go when the peer does, without joining', async () => {
    const host = fakeHost()
    const driver = started(host, { capabilityTimeout: 60_000 })
    const [contact] = connected(host, driver, 'contact')
    const joining = driver.join(contact)
    assert.equal(await settled(joining), PENDING)
    host.peers.delete(contact.id)
    driver.peerDown(contact)
    await within(joining, 'the join to give up')
    assert.deepEqual(overlayFrames(host.sent, 'contact'), ['caps'])
    assert.deepEqual(driver.status().active, [])
  })
})

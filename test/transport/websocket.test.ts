/**
 * Mesh nodes over the WebSocket transport, on 127.0.0.1: chat, protocol
 * streams and Noise links as over TCP, and what the transport refuses from
 * a WebSocket client that does not play by its rules.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { describe, it } from 'node:test'
import { WebSocket } from 'ws'
import { MeshNode } from '../../lib/index.js'
import { MAX_MESSAGE_BYTES, websocketTransport } from '../../lib/transport/websocket.js'
import { waitFor, within } from '../../harness/async.js'
import { RawSocket } from '../support/raw-socket.js'
import { fileNodes, nextEvent, QUIET } from '../support/mesh.js'

const { startNode, stopNodes } = fileNodes({ ...QUIET, transport: websocketTransport() })

describe('WebSocket transport', () => {
  it('carries a mesh: chat both ways, a request on a protocol stream, over plaintext and over Noise', async () => {
    for (const secure of ['off', 'required'] as const) {
      const a = await startNode({ secure })
      const b = await startNode({ secure })
      const peer = await a.connect(b.address)
      assert.equal(peer.security, secure === 'off' ? 'plaintext' : 'noise')
      const atB = nextEvent(b, 'chat')
      await a.send(b.id, 'over a websocket')
      assert.equal((await atB)[0].text, 'over a websocket')
      b.handleRequests('/echo/1', request => request)
      const big = new Uint8Array(3 * MAX_MESSAGE_BYTES + 5).fill(7)
      assert.deepEqual(await a.request(b.id, '/echo/1', big), big)
      await stopNodes(a, b)
    }
  })

  it('closes a connection that sends a text message or one larger than maxPayload, and keeps serving', async () => {
    const node = await startNode()
    for (const offence of [(ws: WebSocket) => { ws.send('hello as text') }, (ws: WebSocket) => { ws.send(new Uint8Array(MAX_MESSAGE_BYTES + 1)) }]) {
      const ws = new WebSocket(`ws://${node.address}/`)
      await once(ws, 'open')
      ws.on('error', () => {})
      offence(ws)
      await within(once(ws, 'close'), 'the node to close the connection')
    }
    const other = new MeshNode({ ...QUIET, transport: websocketTransport() })
    await other.start()
    assert.equal((await other.connect(node.address)).id, node.id)
    await stopNodes(node)
    await other.stop()
  })

  it('listens on TCP and WebSocket at once (wsPort): a TCP peer and a WebSocket peer meet through it', async () => {
    const hub = new MeshNode({ ...QUIET, host: '127.0.0.1', wsPort: 0 })
    const overTcp = new MeshNode({ ...QUIET, host: '127.0.0.1' })
    const overWs = new MeshNode({ ...QUIET, host: '127.0.0.1', transport: websocketTransport() })
    try {
      await Promise.all([hub, overTcp, overWs].map(async node => await node.start()))
      const wsAddress = hub.webSocketAddress as string
      assert.match(wsAddress, /^127\.0\.0\.1:\d+$/)
      assert.notEqual(wsAddress, hub.address)
      assert.equal(overTcp.webSocketAddress, undefined)
      await overTcp.connect(hub.address)
      await overWs.connect(wsAddress)
      const heard: string[] = []
      hub.on('chat', ({ peer, text }) => { heard.push(`${peer.id}: ${text}`) })
      await overTcp.send(hub.id, 'over TCP')
      await overWs.send(hub.id, 'over a WebSocket')
      await waitFor(() => heard.length === 2, 'both chats at the hub')
      assert.deepEqual(heard.sort(), [`${overTcp.id}: over TCP`, `${overWs.id}: over a WebSocket`].sort())
    } finally {
      await Promise.all([hub, overTcp, overWs].map(async node => await node.stop()))
    }
  })

  it('a node that does not listen (listen: false) dials, announces its id under .invalid, and is never passed on', async () => {
    const hub = new MeshNode({ ...QUIET, host: '127.0.0.1', wsPort: 0 })
    const dialOnly = new MeshNode({ ...QUIET, transport: websocketTransport(), listen: false })
    const other = new MeshNode({ ...QUIET, host: '127.0.0.1' })
    try {
      await Promise.all([hub, dialOnly, other].map(async node => await node.start()))
      assert.equal(dialOnly.address, `${dialOnly.id}.invalid:1`)
      await dialOnly.connect(hub.webSocketAddress as string)
      const seen = hub.peers().find(peer => peer.id === dialOnly.id)
      assert.equal(seen?.address, dialOnly.address)
      await other.connect(hub.address)
      const raw = await RawSocket.connect(Number(hub.address.split(':')[1]))
      await raw.write(`raw:raw\nLISTEN:127.0.0.1:1\nREQUEST_PEERS\n`)
      const peers = await raw.readLineMatching(line => line.startsWith('PEERS:'))
      raw.socket.destroy()
      assert.ok(peers.includes(other.address), peers)
      assert.ok(!peers.includes('.invalid'), `passed on: ${peers}`)
    } finally {
      await Promise.all([hub, dialOnly, other].map(async node => await node.stop()))
    }
  })

  it('closes a connection that never completes its HTTP upgrade, within connectionTimeout', async () => {
    const node = new MeshNode({ ...QUIET, host: '127.0.0.1', wsPort: 0, connectionTimeout: 300 })
    await node.start()
    try {
      const silent = await RawSocket.connect(Number((node.webSocketAddress as string).split(':')[1]))
      await silent.write('GET / HTTP/1.1\r\nHost: x\r\n')
      const started = Date.now()
      await silent.waitClosed(3000)
      assert.ok(Date.now() - started < 2000, `closed after ${Date.now() - started} ms`)
    } finally {
      await node.stop()
    }
  })

  it('tells a browser node where the mesh listens for WebSocket connections (webSocketPeers), and it can dial them', async () => {
    // A short connectionTimeout: the hub gives up on its line-protocol peer's answer after half of it.
    const hub = new MeshNode({ ...QUIET, host: '127.0.0.1', wsPort: 0, connectionTimeout: 600 })
    const withWs = new MeshNode({ ...QUIET, host: '127.0.0.1', wsPort: 0 })
    const tcpOnly = new MeshNode({ ...QUIET, host: '127.0.0.1' })
    const page = new MeshNode({ ...QUIET, transport: websocketTransport(), listen: false })
    const nodes = [hub, withWs, tcpOnly, page]
    let legacy: RawSocket | undefined
    try {
      await Promise.all(nodes.map(async node => await node.start()))
      await withWs.connect(hub.address)
      await tcpOnly.connect(hub.address)
      // A line-protocol peer of the hub has nothing to tell, and holds nothing up.
      legacy = await RawSocket.connect(Number(hub.address.split(':')[1]))
      await legacy.write('legacy:peer\nLISTEN:127.0.0.1:1\n')
      await legacy.readLine()
      await page.connect(hub.webSocketAddress as string)
      const found = await page.webSocketPeers(hub.id)
      assert.deepEqual(found.map(({ id, address }) => `${id} ${address}`).sort(), [
        `${hub.id} ${hub.webSocketAddress as string}`,
        `${withWs.id} ${withWs.webSocketAddress as string}`
      ].sort())
      assert.equal((await page.connect(withWs.webSocketAddress as string)).id, withWs.id)
      assert.deepEqual(await tcpOnly.webSocketPeers(hub.id).then(list => list.map(({ id }) => id).sort()), [hub.id, withWs.id].sort())
    } finally {
      legacy?.socket.destroy()
      await Promise.all(nodes.map(async node => await node.stop()))
    }
  })
})

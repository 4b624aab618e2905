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
import { within } from '../../harness/async.js'
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
})

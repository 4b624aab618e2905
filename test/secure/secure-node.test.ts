/**
 * Secure links end to end, over real TCP on 127.0.0.1: confidentiality on
 * the wire, integrity against a tampering relay, identity and access
 * control, the three modes side by side, and the nonce limit.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { MeshNode, type MeshEvents, type MeshNodeOptions } from '../../lib/index.js'
import { generateIdentity, nodeIdFromPublicKey, publicKeyHex } from '../../lib/secure/identity.js'
import { loadIdentity } from '../../lib/secure/key-files.js'
import { secureTransport } from '../../lib/secure/secure-transport.js'
import { causeCodes, nextEvent } from '../support/mesh.js'
import { portOf } from '../../harness/loopback.js'
import { RawSocket } from '../support/raw-socket.js'
import { RelayProxy } from '../support/proxy.js'
import { collect, pushable } from '../../harness/streams.js'
import { waitFor } from '../../harness/async.js'
import { tcpTransport } from '../../lib/transport/index.js'
import { receiveFiles, sendFile } from '../../lib/file-transfer/index.js'

const DEADLINE = 5000
const FAST: MeshNodeOptions = {
  host: '127.0.0.1',
  dialJitter: 0,
  connectionTimeout: 2000,
  bootstrapAttempts: 1,
  secureProbeTimeout: 300,
  secure: 'preferred'
}
/** No traffic of its own after the handshake, so a test knows which frame is which. */
const QUIET: MeshNodeOptions = { ...FAST, maintenanceInterval: 60_000, discoveryInterval: 60_000, peerTimeout: 120_000, autoDial: false }

const cleanups: Array<() => Promise<void>> = []
after(async () => { for (const cleanup of cleanups.reverse()) await cleanup() })

async function startNode (opts: MeshNodeOptions = {}): Promise<MeshNode> {
  const node = new MeshNode({ ...FAST, ...opts })
  cleanups.push(async () => { await node.stop() })
  await node.start()
  return node
}

async function startProxy (target: MeshNode): Promise<RelayProxy> {
  const proxy = await RelayProxy.start(Number(target.address.split(':')[1]))
  cleanups.push(async () => { await proxy.close() })
  return proxy
}

/** The next `event` from `node` that `match`es, failing after DEADLINE. */
async function next<K extends keyof MeshEvents> (node: MeshNode, event: K, match?: (...args: MeshEvents[K]) => boolean): Promise<MeshEvents[K]> {
  return await nextEvent(node, event, match, DEADLINE)
}

/** A plaintext peer written by hand: a socket speaking the line protocol, closed after the test. */
async function dialRaw (address: string): Promise<RawSocket> {
  const raw = await RawSocket.connect(portOf(address))
  cleanups.push(async () => { raw.destroy() })
  return raw
}

/**
 * An existing plaintext peer's listener: it answers a dialer only after
 * `<ID>:<NAME>` and `LISTEN:`, so a Noise message 1 gets silence.
 */
async function legacyListener (id: string, port = 0): Promise<{ address: string, connections: RawSocket[], firstBytes: string[] }> {
  const connections: RawSocket[] = []
  const firstBytes: string[] = []
  const server = net.createServer(socket => {
    socket.once('data', (data: Buffer) => { firstBytes.push(data.toString('latin1')) })
    const peer = new RawSocket(socket)
    connections.push(peer)
    void (async () => {
      for (let line = await peer.readLine(); !line.startsWith('LISTEN:'); line = await peer.readLine());
      socket.write(`${id}:legacy\n`)
    })().catch(() => {}) // a Noise probe never sends LISTEN: its connection just ends
  })
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
  cleanups.push(async () => {
    for (const { socket } of connections) socket.destroy()
    await new Promise(resolve => server.close(resolve))
  })
  return { address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, connections, firstBytes }
}

describe('secure links', () => {
  it('two secure nodes chat, send BYTES and a file, and the relayed bytes hold none of it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshline-secure-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const a = await startNode({ name: 'alice-NAME-MARKER', secure: 'required' })
    const b = await startNode({ name: 'bob-NAME-MARKER', secure: 'required' })
    const files = receiveFiles(b, { dir: join(dir, 'downloads') })
    cleanups.push(async () => { await files.close() })
    const proxy = await startProxy(b)

    const peer = await a.connect(proxy.address)
    assert.equal(peer.id, b.id)
    assert.equal(peer.security, 'noise')
    assert.equal(peer.publicKey, b.publicKey)
    assert.equal(peer.fingerprint, b.fingerprint)
    assert.equal(a.id, nodeIdFromPublicKey(Buffer.from(a.publicKey as string, 'hex')))
    const [seen] = b.peers()
    assert.equal(seen?.security, 'noise')
    assert.equal(seen?.publicKey, a.publicKey)

    const chat = next(b, 'chat')
    await a.send(b.id, 'CHAT-MARKER secret words')
    assert.equal((await chat)[0].text, 'CHAT-MARKER secret words')
    const reply = next(a, 'chat')
    await b.send(a.id, 'REPLY-MARKER')
    assert.equal((await reply)[0].text, 'REPLY-MARKER')

    const payload = Buffer.concat([Buffer.from('BYTES-MARKER'), randomBytes(150_000)])
    const bytes = next(b, 'bytes')
    await a.sendBytes(b.id, payload)
    assert.deepEqual(Buffer.from((await bytes)[0].data.subarray()), payload)

    const content = Buffer.concat([Buffer.from('FILE-CONTENT-MARKER'), randomBytes(300_000)])
    const source = join(dir, 'secret-FILENAME-MARKER.bin')
    await writeFile(source, content)
    const complete = once(files, 'complete', { signal: AbortSignal.timeout(DEADLINE) })
    await sendFile(a, source, { to: b.id }).done
    const [received] = await complete as [{ path: string }]
    assert.deepEqual(await readFile(received.path), content)

    const wire = proxy.captured()
    assert.ok(wire.length > content.length + payload.length, 'everything went through the proxy')
    for (const marker of ['CHAT-MARKER', 'REPLY-MARKER', 'BYTES-MARKER', 'FILE-CONTENT-MARKER', 'FILENAME-MARKER', 'NAME-MARKER', 'BYTES:', 'FILESTART', 'LISTEN:', 'REQUEST_PEERS', a.id, b.id]) {
      assert.equal(wire.includes(marker), false, `${marker} is not on the wire`)
    }
    // Both directions open with a Noise handshake message (a 2-byte length below 256), with the cipher offer and the answer.
    assert.equal(Buffer.concat(proxy.upstream)[0], 0x00)
    assert.equal(Buffer.concat(proxy.downstream)[0], 0x00)
  })

  for (const attack of ['flip', 'reorder', 'replay'] as const) {
    it(`closes with ERR_INTEGRITY and delivers nothing tampered when a relay tries to ${attack} a frame`, async () => {
      const a = await startNode({ ...QUIET, secure: 'required' })
      const b = await startNode({ ...QUIET, secure: 'required' })
      const proxy = await startProxy(b)
      // The dialer's last frame of the set-up is REQUEST_PEERS: once b has it, a sends nothing unasked.
      const settled = next(b, 'debug', ({ message }) => message.type === 'request-peers')
      await a.connect(proxy.address)
      await settled
      const chats: string[] = []
      b.on('chat', ({ text }) => { chats.push(text) })
      const closed = next(b, 'peer:disconnect')

      let held: Buffer | undefined
      proxy.rewrite = frame => {
        if (attack === 'flip') {
          frame[frame.length - 20] = (frame[frame.length - 20] as number) ^ 0x04
          proxy.rewrite = undefined
          return [frame]
        }
        if (attack === 'replay') {
          proxy.rewrite = undefined
          return [frame, frame]
        }
        if (held === undefined) {
          held = frame
          return []
        }
        proxy.rewrite = undefined
        return [frame, held]
      }
      await a.send(b.id, 'first message')
      if (attack === 'reorder') {
        await once(proxy, 'frame')
        await a.send(b.id, 'second message')
      }
      const [{ reason }] = await closed
      assert.equal((reason as { code?: string }).code, 'ERR_INTEGRITY')
      // A replayed frame is a copy of a genuine one: the genuine copy is delivered, once; nothing else ever is.
      assert.deepEqual(chats, attack === 'replay' ? ['first message'] : [])
    })
  }

  it('refuses a node that claims a known id with another key, over Noise and over plaintext', async () => {
    const b = await startNode({ secure: 'preferred' })
    const a = await startNode({ secure: 'preferred' })
    await a.connect(b.address)

    // Mallory holds her own key and claims a's id.
    const refusedNoise = next(b, 'connection:error', ({ error }) => (error as { code?: string }).code === 'ERR_IDENTITY_MISMATCH')
    const [host, port] = b.address.split(':') as [string, string]
    const mallory = await secureTransport(await tcpTransport().dial(host, Number(port), { timeout: DEADLINE }), { role: 'initiator', identity: generateIdentity() })
    const lines = pushable<Uint8Array>()
    void mallory.sink(lines).catch(() => {})
    lines.push(Buffer.from(`${a.id}:mallory\nLISTEN:127.0.0.1:1\n`))
    await refusedNoise
    assert.equal((await collect(mallory.source).catch(() => Buffer.alloc(0))).includes(b.id), false, 'b never answered her hello')
    assert.deepEqual(b.peers().map(p => [p.id, p.publicKey]), [[a.id, a.publicKey]])

    // Over plaintext there is no key at all: an id b has seen proven is refused even after a leaves.
    const gone = next(b, 'peer:disconnect')
    await a.stop()
    await gone
    const refusedPlain = next(b, 'connection:error', ({ error }) => (error as { code?: string }).code === 'ERR_IDENTITY_MISMATCH')
    const deniedPlain = next(b, 'peer:denied', ({ error }) => error.code === 'ERR_IDENTITY_MISMATCH')
    const raw = await dialRaw(b.address)
    raw.socket.write(`${a.id}:mallory\nLISTEN:127.0.0.1:1\n`)
    await refusedPlain
    assert.equal((await deniedPlain)[0].direction, 'inbound')
    await raw.waitClosed(DEADLINE)
    assert.deepEqual(b.peers(), [])
  })

  it('pins an address that proved a key over Noise: a preferred node never falls back to plaintext there, also after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshline-pins-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const peersFile = join(dir, 'peers')
    const s = await startNode({ name: 's' })
    const sAddress = s.address
    const port = portOf(sAddress)
    const p = await startNode({ name: 'p', peersFile, autoDial: false, reconnectAttempts: 0 })
    assert.equal((await p.connect(sAddress)).security, 'noise')
    await p.stop()
    assert.equal((await readFile(peersFile, 'utf8')).trim(), `${sAddress} noise ${s.id}`)

    // s is gone, and something that answers as a plaintext peer (a legacy peer, or an attacker) takes its port.
    await s.stop()
    const impostor = await legacyListener(s.id, port)
    const restarted = await startNode({ name: 'p-again', peersFile, autoDial: false, reconnectAttempts: 0 })
    const denied = next(restarted, 'peer:denied', ({ error }) => error.code === 'ERR_DOWNGRADE_REFUSED')
    const attempt = restarted.connect(sAddress)
    const [{ remoteAddress, direction }] = await denied
    assert.deepEqual([remoteAddress, direction], [sAddress, 'outbound'])
    await assert.rejects(attempt, (err: unknown) => causeCodes(err).includes('ERR_DOWNGRADE_REFUSED'))
    assert.ok(impostor.firstBytes.every(first => !first.includes(`${restarted.id}:`)), 'no plaintext hello was ever sent there')
    assert.deepEqual(restarted.peers(), [])
  })

  it('an allowlisted mesh refuses an outsider, inbound and outbound, with peer:denied', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshline-allow-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const aKey = generateIdentity()
    const bKey = generateIdentity()
    const allowFile = join(dir, 'allow.txt')
    await writeFile(allowFile, `# the mesh\n${publicKeyHex(aKey.publicKey)}\n${publicKeyHex(bKey.publicKey)}\n`)
    const a = await startNode({ secure: 'required', identity: aKey.signingKey, allow: allowFile })
    const b = await startNode({ secure: 'required', identity: bKey.signingKey, allow: [publicKeyHex(aKey.publicKey), publicKeyHex(bKey.publicKey)] })
    const outsider = await startNode({ secure: 'preferred' })

    assert.equal((await b.connect(a.address)).security, 'noise')

    const deniedIn = next(a, 'peer:denied')
    await assert.rejects(outsider.connect(a.address))
    const [denial] = await deniedIn
    assert.equal(denial.publicKey, outsider.publicKey)
    assert.equal(denial.fingerprint, outsider.fingerprint)
    assert.equal(denial.direction, 'inbound')
    assert.equal(denial.error.code, 'ERR_ACCESS_DENIED')

    const deniedOut = next(a, 'peer:denied')
    await assert.rejects(a.connect(outsider.address), (err: unknown) => causeCodes(err).includes('ERR_ACCESS_DENIED'))
    assert.equal((await deniedOut)[0].direction, 'outbound')
    assert.deepEqual(a.peers().map(p => p.id), [b.id])
    assert.deepEqual(outsider.peers(), [])
  })

  it('an allowlist refuses plaintext peers, who have no key to check', async () => {
    const a = await startNode({ secure: 'preferred', allow: [publicKeyHex(generateIdentity().publicKey)] })
    const denied = next(a, 'peer:denied')
    const raw = await dialRaw(a.address)
    raw.socket.write('someone:plain\nLISTEN:127.0.0.1:1\n')
    const [{ publicKey, error }] = await denied
    assert.equal(publicKey, undefined)
    assert.equal(error.code, 'ERR_ACCESS_DENIED')
    await raw.waitClosed(DEADLINE)

    // Dialling a plaintext peer: refused after the probe, without a second connection to it.
    const off = await startNode({ secure: 'off' })
    let connections = 0
    off.on('connection:error', () => { connections++ })
    const deniedOut = next(a, 'peer:denied')
    await assert.rejects(a.connect(off.address), (err: unknown) => causeCodes(err).includes('ERR_ACCESS_DENIED'))
    assert.equal((await deniedOut)[0].direction, 'outbound')
    assert.deepEqual(off.peers(), [])
    assert.equal(connections, 1, 'only the Noise probe reached the plaintext peer')
  })

  it('a required node refuses plaintext peers, and a plaintext-only peer, with a typed reason', async () => {
    const r = await startNode({ secure: 'required' })
    const off = await startNode({ secure: 'off' })

    const refused = next(r, 'connection:error', ({ error }) => (error as { code?: string }).code === 'ERR_PLAINTEXT_REFUSED')
    const raw = await dialRaw(r.address)
    raw.socket.write('legacy:peer\nLISTEN:127.0.0.1:1\n')
    await refused
    await raw.waitClosed(DEADLINE)

    await assert.rejects(off.connect(r.address))
    const noiseRefused = next(off, 'connection:error', ({ error }) => (error as { code?: string }).code === 'ERR_NOISE_REFUSED')
    await assert.rejects(r.connect(off.address), (err: unknown) => causeCodes(err).includes('ERR_PLAINTEXT_REFUSED'))
    await noiseRefused
    assert.deepEqual(r.peers(), [])
  })

  it('a preferred node talks to plaintext peers and secure peers in one mesh, and remembers who is plaintext', async () => {
    const p = await startNode({ name: 'p' })
    const s = await startNode({ name: 's' })
    const off = await startNode({ name: 'off', secure: 'off' })
    const offToDial = await startNode({ name: 'off2', secure: 'off' })
    const legacy = await legacyListener('legacy-id')

    assert.equal((await s.connect(p.address)).security, 'noise')
    assert.equal((await off.connect(p.address)).security, 'plaintext')
    // An `off` node refuses message 1 at once; the fallback redials in plaintext.
    assert.equal((await p.connect(offToDial.address)).security, 'plaintext')
    // An existing peer stays silent on message 1: the fallback waits secureProbeTimeout.
    const legacyPeer = await p.connect(legacy.address)
    assert.equal(legacyPeer.security, 'plaintext')
    assert.equal(legacyPeer.publicKey, undefined)

    const bySecurity = Object.fromEntries(p.peers().map(peer => [peer.name, peer.security]))
    assert.deepEqual(bySecurity, { s: 'noise', off: 'plaintext', off2: 'plaintext', legacy: 'plaintext' })
    assert.equal(p.peers().find(peer => peer.name === 's')?.fingerprint, s.fingerprint)
    assert.equal(p.knownPeers().find(known => known.address === legacy.address)?.security, 'plaintext')

    const received = [next(s, 'chat'), next(off, 'chat'), next(offToDial, 'chat')]
    const raw = legacy.connections.at(-1) as RawSocket
    const result = await p.broadcast('to everyone')
    assert.equal(result.queued.length, 4)
    for (const [{ text }] of await Promise.all(received)) assert.equal(text, 'to everyone')
    for (let line = await raw.readLine(); line !== 'to everyone\n'; line = await raw.readLine());
    const fromLegacy = next(p, 'chat', ({ peer }) => peer.id === 'legacy-id')
    raw.socket.write('hello from the old world\n')
    assert.equal((await fromLegacy)[0].text, 'hello from the old world')

    // Remembered: the next dial to the legacy address speaks plaintext from its first byte.
    const gone = next(p, 'peer:disconnect', ({ peer }) => peer.id === 'legacy-id')
    raw.socket.destroy()
    await gone
    await p.connect(legacy.address)
    assert.ok(legacy.firstBytes.at(-1)?.startsWith(`${p.id}:p`), 'no Noise probe the second time')
  })

  it('first contact with a silent plaintext peer costs tens of milliseconds, not secureProbeTimeout', async () => {
    // The defaults a command-line node has: `preferred`, probing for at most 3 s.
    const preferred = await startNode({ name: 'preferred', secureProbeTimeout: 3_000 })
    const off = await startNode({ name: 'off', secure: 'off' })
    const joinMs = async (node: MeshNode): Promise<number> => {
      const legacy = await legacyListener(`legacy-${node.name}-${Math.random().toString(16).slice(2)}`)
      const started = performance.now()
      assert.equal((await node.connect(legacy.address)).security, 'plaintext')
      return performance.now() - started
    }
    const preferredMs: number[] = []
    const offMs: number[] = []
    for (let i = 0; i < 3; i++) {
      preferredMs.push(await joinMs(preferred))
      offMs.push(await joinMs(off))
    }
    const extra = Math.min(...preferredMs) - Math.min(...offMs)
    assert.ok(extra < 100, `a preferred join took ${extra.toFixed(1)} ms longer than a plaintext one`)
    assert.ok(Math.min(...preferredMs) >= preferred.options.secureProbeFloor, 'it waited for the floor before falling back')
  })

  it('negotiates AESGCM between current nodes, and ChaChaPoly with a node that speaks only that', async () => {
    const a = await startNode({ ...QUIET, secure: 'required' })
    const b = await startNode({ ...QUIET, secure: 'required' })
    assert.equal((await a.connect(b.address)).cipher, 'AESGCM')
    await waitFor(() => b.peers().length === 1, 'b to see a')
    assert.equal(b.peers()[0]?.cipher, 'AESGCM')

    // An earlier meshline node speaks ChaChaPoly only: the offer of AESGCM fails once, the dialer offers ChaChaPoly.
    const chacha = await startNode({ ...QUIET, secure: 'required', noiseCiphers: ['ChaChaPoly'] })
    const peer = await a.connect(chacha.address)
    assert.deepEqual([peer.security, peer.cipher], ['noise', 'ChaChaPoly'])
    const heard = next(chacha, 'chat')
    await a.send(chacha.id, 'over ChaChaPoly')
    assert.equal((await heard)[0].text, 'over ChaChaPoly')
    // Plaintext links have no cipher.
    const off = await startNode({ ...QUIET, secure: 'off' })
    assert.equal((await off.connect(chacha.address).catch(() => undefined))?.cipher, undefined)
  })

  it('rekeys both directions at the same message, at the shorter of the two intervals, with nothing lost across the boundaries', async () => {
    const a = await startNode({ ...QUIET, secure: 'required', noiseRekeyMessages: 3 })
    const b = await startNode({ ...QUIET, secure: 'required', noiseRekeyMessages: 5 })
    await a.connect(b.address)
    await waitFor(() => b.peers().length === 1, 'b to see a')
    const atB: string[] = []
    const atA: string[] = []
    b.on('chat', ({ text }) => { atB.push(text) })
    a.on('chat', ({ text }) => { atA.push(text) })
    // One message at a time, so that each is a Noise message of its own and many rekeys happen.
    for (let i = 0; i < 20; i++) {
      await a.send(b.id, `a ${i}`)
      await waitFor(() => atB.length === i + 1, `message ${i} to b`)
      await b.send(a.id, `b ${i}`)
      await waitFor(() => atA.length === i + 1, `message ${i} to a`)
    }
    assert.deepEqual(atB, Array.from({ length: 20 }, (_, i) => `a ${i}`))
    assert.deepEqual(atA, Array.from({ length: 20 }, (_, i) => `b ${i}`))
    assert.equal(a.peers().length, 1, 'the link held')
  })

  it('closes a link with ERR_NONCE_EXHAUSTED at maxNoiseMessages, after delivering everything before it', async () => {
    const a = await startNode({ ...QUIET, secure: 'required', maxNoiseMessages: 6 })
    const b = await startNode({ ...QUIET, secure: 'required' })
    const settled = next(b, 'debug', ({ message }) => message.type === 'request-peers')
    await a.connect(b.address)
    await settled
    const delivered: string[] = []
    let wake: (() => void) | undefined
    b.on('chat', ({ text }) => { delivered.push(text); wake?.() })
    const closed = next(a, 'peer:disconnect')
    let reason: Error | undefined
    void closed.then(([event]) => { reason = event.reason; wake?.() })
    // One message at a time, each in its own Noise message, until the link gives out.
    for (let i = 0; i < 10 && reason === undefined; i++) {
      const arrived = new Promise<void>(resolve => { wake = resolve })
      await a.send(b.id, `message ${i}`).catch(() => {})
      await arrived
    }
    await closed
    assert.equal((reason as { code?: string }).code, 'ERR_NONCE_EXHAUSTED')
    assert.ok(delivered.length > 0 && delivered.length < 10)
    assert.deepEqual(delivered, delivered.map((_, i) => `message ${i}`))
  })

  it('derives the node id from a persisted identity, and checks the options that depend on it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshline-id-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const path = join(dir, 'node.key')
    const first = new MeshNode({ secure: 'preferred', identity: path })
    const second = new MeshNode({ secure: 'required', identity: path })
    assert.equal(first.id, second.id)
    assert.equal(first.id, nodeIdFromPublicKey(loadIdentity(path).publicKey))
    assert.equal(first.name, first.id)
    assert.equal(new MeshNode({ secure: 'preferred', identity: path, id: first.id }).id, first.id)
    assert.throws(() => new MeshNode({ secure: 'preferred', identity: path, id: 'someone-else' }), { code: 'ERR_INVALID_OPTION' })
    assert.throws(() => new MeshNode({ secure: 'off', allow: [] }), { code: 'ERR_INVALID_OPTION' })
    assert.throws(() => new MeshNode({ secure: 'maybe' as never }), { code: 'ERR_INVALID_OPTION' })
    assert.equal(new MeshNode().publicKey, undefined, 'the library default is off, without a key')
  })
})

import assert from 'node:assert/strict'
import { encodeOffer } from '../../lib/secure/noise-negotiation.js'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { generateKeyPair } from '../../lib/secure/noise/index.js'
import { classifyInbound, secureTransport, type SecureTransport } from '../../lib/secure/secure-transport.js'
import { collect, rawEnd, type RawEnd } from '../../harness/streams.js'
import { duplexPair } from '../../lib/transport/index.js'
import { encryptStream } from '../../lib/secure/noise-framing.js'
import { loadIdentity } from '../../lib/secure/key-files.js'

async function securePair (opts: { maxMessages?: number } = {}): Promise<[SecureTransport, SecureTransport]> {
  const [a, b] = duplexPair()
  return await Promise.all([
    secureTransport(a, { role: 'initiator', identity: generateKeyPair(), timeout: 2000, ...opts }),
    secureTransport(b, { role: 'responder', identity: generateKeyPair(), timeout: 2000, ...opts })
  ])
}

describe('secureTransport', () => {
  it('proves both keys, agrees on the session and carries bytes both ways until each end closes', async () => {
    const [a, b] = duplexPair()
    const aKeys = generateKeyPair()
    const bKeys = generateKeyPair()
    const [sa, sb] = await Promise.all([
      secureTransport(a, { role: 'initiator', identity: aKeys }),
      secureTransport(b, { role: 'responder', identity: bKeys })
    ])
    assert.deepEqual(sa.remotePublicKey, bKeys.publicKey)
    assert.deepEqual(sb.remotePublicKey, aKeys.publicKey)
    assert.deepEqual(sa.handshakeHash, sb.handshakeHash)
    const big = randomBytes(300_000)
    const [, , toB, toA] = await Promise.all([
      sa.sink((async function * () { yield Buffer.from('hello '); yield big })()),
      sb.sink((async function * () { yield Buffer.from('back') })()),
      collect(sb.source),
      collect(sa.source)
    ])
    assert.deepEqual(toB, Buffer.concat([Buffer.from('hello '), big]))
    assert.equal(toA.toString(), 'back')
  })

  it('tells a plaintext peer apart by its answer: a line, a close, or silence', async () => {
    const cases = [
      { answer: 'line', act: (end: RawEnd) => { end.write('DUPLICATE\n') } },
      { answer: 'closed', act: (end: RawEnd) => { end.end() } },
      { answer: 'silent', act: () => {} }
    ]
    for (const { answer, act } of cases) {
      const [a, b] = duplexPair()
      const peer = rawEnd(b)
      const dialing = secureTransport(a, { role: 'initiator', identity: generateKeyPair(), probeTimeout: 50, timeout: 2000 })
      act(peer)
      await assert.rejects(dialing, (err: { code?: string, answer?: string }) => err.code === 'ERR_PLAINTEXT_PEER' && err.answer === answer)
      // What the plaintext peer saw is message 1 alone: its length, 32 key bytes and the offer.
      const seen = await peer.received
      const offer = encodeOffer({ cipher: 'AESGCM', rekeyInterval: 0 })
      assert.equal(seen.length, 2 + 32 + offer.length)
      assert.deepEqual([...seen.subarray(0, 2)], [0x00, 32 + offer.length])
      assert.deepEqual(seen.subarray(34), Buffer.from(offer))
    }
  })

  it('without a probe timeout, waits the whole handshake timeout for a silent peer', async () => {
    const [a, b] = duplexPair()
    rawEnd(b)
    await assert.rejects(secureTransport(a, { role: 'initiator', identity: generateKeyPair(), timeout: 80 }), { code: 'ERR_HANDSHAKE_TIMEOUT' })
  })

  it('refuses malformed handshake messages and closes the transport', async () => {
    const [a, b] = duplexPair()
    const peer = rawEnd(b)
    const accepting = secureTransport(a, { role: 'responder', identity: generateKeyPair(), timeout: 2000 })
    peer.write(Uint8Array.of(0x00, 0x05, 1, 2, 3, 4, 5))
    await assert.rejects(accepting, { code: 'ERR_NOISE_HANDSHAKE' })
    await a.closed
  })

  it('times out on a handshake message that never completes, and closes the transport', async () => {
    const [a, b] = duplexPair()
    const peer = rawEnd(b)
    const accepting = secureTransport(a, { role: 'responder', identity: generateKeyPair(), timeout: 80 })
    // Message 1 announces the largest length a message can have, then only part of it arrives.
    peer.write(Uint8Array.of(0xff, 0xff, ...randomBytes(1000)))
    await assert.rejects(accepting, { code: 'ERR_HANDSHAKE_TIMEOUT' })
    await a.closed
  })

  it('lets verifyRemoteKey refuse the peer on either side, before any application byte', async () => {
    for (const refusing of ['initiator', 'responder'] as const) {
      const [a, b] = duplexPair()
      const refuse = (): never => { throw new RangeError('not allowed') }
      const results = await Promise.allSettled([
        secureTransport(a, { role: 'initiator', identity: generateKeyPair(), timeout: 500, verifyRemoteKey: refusing === 'initiator' ? refuse : undefined }),
        secureTransport(b, { role: 'responder', identity: generateKeyPair(), timeout: 500, verifyRemoteKey: refusing === 'responder' ? refuse : undefined })
      ])
      const refuser = results[refusing === 'initiator' ? 0 : 1]
      assert.equal(refuser.status, 'rejected')
      assert.ok((refuser as PromiseRejectedResult).reason instanceof RangeError)
      if (refusing === 'initiator') {
        // Message 3 is never sent, so the responder cannot complete.
        assert.equal(results[1].status, 'rejected')
      }
    }
  })

  it('closes with ERR_NONCE_EXHAUSTED once maxMessages have been sent', async () => {
    const [sa, sb] = await securePair({ maxMessages: 3 })
    void collect(sb.source).catch(() => {})
    await assert.rejects(sa.sink((async function * () {
      for (let i = 0; i < 10; i++) yield Buffer.from(`message ${i}`)
    })()), { code: 'ERR_NONCE_EXHAUSTED' })
  })
})

describe('classifyInbound', () => {
  it('classifies by the first byte and keeps every byte for the reader', async () => {
    for (const [first, kind] of [[Buffer.from('abc:name\n'), 'plaintext'], [Buffer.from([0, 0x20, 1, 2]), 'noise']] as const) {
      const [a, b] = duplexPair()
      const peer = rawEnd(b)
      peer.write(first.subarray(0, 1))
      peer.write(first.subarray(1))
      peer.end()
      const classified = await classifyInbound(a, 1000)
      assert.equal(classified.kind, kind)
      assert.deepEqual(await collect(classified.transport.source), first)
    }
  })

  it('times out on silence and reports a close before any byte', async () => {
    const [a, b] = duplexPair()
    rawEnd(b)
    await assert.rejects(classifyInbound(a, 50), { code: 'ERR_HANDSHAKE_TIMEOUT' })
    const [c, d] = duplexPair()
    rawEnd(d).end()
    await assert.rejects(classifyInbound(c, 1000), { code: 'ERR_CONNECTION_CLOSED' })
  })
})

describe('secure transport at its boundary', () => {
  it('refuses a wrong role, identity, option or transport when called', async () => {
    const [a] = duplexPair()
    const identity = generateKeyPair()
    const code = (expected: string) => (err: Error & { code?: string }): boolean => err.code === expected
    await assert.rejects(secureTransport(a, { role: 'client' as 'initiator', identity }), code('ERR_INVALID_OPTION'))
    await assert.rejects(secureTransport(a, { role: 'initiator', identity: { publicKey: new Uint8Array(3) } as never }), code('ERR_INVALID_OPTION'))
    await assert.rejects(secureTransport(a, { role: 'initiator', identity, timout: 5 } as never), (err: Error) => /did you mean `timeout`/.test(err.message))
    await assert.rejects(secureTransport({} as never, { role: 'initiator', identity }), code('ERR_INVALID_ARGUMENT'))
    assert.throws(() => encryptStream({} as never), code('ERR_INVALID_ARGUMENT'))
    assert.throws(() => loadIdentity(''), code('ERR_INVALID_ARGUMENT'))
    a.close()
  })
})

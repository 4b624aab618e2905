import assert from 'node:assert/strict'
import { createCipheriv, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import { CipherState, XXHandshake, generateKeyPair, type KeyPair } from '../../lib/secure/noise/index.js'

function pair (opts: { prologue?: [Uint8Array, Uint8Array], initiatorKeys?: KeyPair, responderKeys?: KeyPair } = {}): { initiator: XXHandshake, responder: XXHandshake } {
  return {
    initiator: new XXHandshake({ initiator: true, staticKeyPair: opts.initiatorKeys ?? generateKeyPair(), prologue: opts.prologue?.[0] }),
    responder: new XXHandshake({ initiator: false, staticKeyPair: opts.responderKeys ?? generateKeyPair(), prologue: opts.prologue?.[1] })
  }
}

function seal (state: CipherState, plaintext: Uint8Array | Uint8ArrayList): Uint8ArrayList {
  const out = new Uint8ArrayList()
  state.seal(plaintext, out)
  return out
}

function flipBit (bytes: Uint8Array, index: number): Uint8Array {
  const copy = Uint8Array.from(bytes)
  copy[index] = (copy[index] as number) ^ 0x01
  return copy
}

describe('XXHandshake', () => {
  it('authenticates both static keys, agrees on the hash and on transport keys', () => {
    const initiatorKeys = generateKeyPair()
    const responderKeys = generateKeyPair()
    const { initiator, responder } = pair({ initiatorKeys, responderKeys })
    const m1 = initiator.writeMessage()
    assert.equal(m1.length, 32)
    responder.readMessage(m1)
    const m2 = responder.writeMessage()
    assert.equal(m2.length, 96)
    assert.equal(initiator.remoteStaticKey, undefined)
    initiator.readMessage(m2)
    assert.deepEqual(initiator.remoteStaticKey, responderKeys.publicKey)
    const m3 = initiator.writeMessage(Buffer.from('hi'))
    assert.equal(m3.length, 64 + 2)
    assert.equal(Buffer.from(responder.readMessage(m3)).toString(), 'hi')
    assert.deepEqual(responder.remoteStaticKey, initiatorKeys.publicKey)
    assert.ok(initiator.complete && responder.complete)
    assert.deepEqual(initiator.handshakeHash, responder.handshakeHash)

    const a = initiator.split()
    const b = responder.split()
    assert.equal(Buffer.from(b.receive.open(seal(a.send, Buffer.from('ping'))).subarray()).toString(), 'ping')
    assert.equal(Buffer.from(a.receive.open(seal(b.send, Buffer.from('pong'))).subarray()).toString(), 'pong')
  })

  it('fails the handshake on a tampered message, at any byte, and refuses to go on', () => {
    const staticKeyPair = generateKeyPair()
    const ephemeralKeyPair = generateKeyPair()
    const responder = new XXHandshake({ initiator: false, staticKeyPair: generateKeyPair() })
    const first = new XXHandshake({ initiator: true, staticKeyPair, ephemeralKeyPair }).writeMessage()
    responder.readMessage(first)
    const second = responder.writeMessage()
    // Byte 0 is in the ephemeral key, 40 in the encrypted static key, the last in the payload tag.
    for (const index of [0, 40, second.length - 1]) {
      const initiator = new XXHandshake({ initiator: true, staticKeyPair, ephemeralKeyPair })
      initiator.writeMessage()
      assert.throws(() => initiator.readMessage(flipBit(second, index)), { code: 'ERR_INTEGRITY' })
      assert.equal(initiator.remoteStaticKey, undefined)
      assert.throws(() => initiator.readMessage(second), TypeError)
    }
    const initiator = new XXHandshake({ initiator: true, staticKeyPair, ephemeralKeyPair })
    initiator.writeMessage()
    initiator.readMessage(second)
    assert.ok(initiator.remoteStaticKey !== undefined, 'the untampered message reads')
  })

  it('fails with mismatched prologues', () => {
    const { initiator, responder } = pair({ prologue: [Buffer.from('a'), Buffer.from('b')] })
    responder.readMessage(initiator.writeMessage())
    assert.throws(() => initiator.readMessage(responder.writeMessage()), { code: 'ERR_INTEGRITY' })
  })

  it('refuses short messages and low-order keys with ERR_NOISE_HANDSHAKE', () => {
    assert.throws(() => pair().responder.readMessage(new Uint8Array(31)), { code: 'ERR_NOISE_HANDSHAKE' })
    const { initiator } = pair()
    initiator.writeMessage()
    assert.throws(() => initiator.readMessage(new Uint8Array(95)), { code: 'ERR_NOISE_HANDSHAKE' })
    // An all-zero ephemeral key is a low-order point: DH with it is refused.
    const { responder } = pair()
    responder.readMessage(new Uint8Array(32))
    assert.throws(() => responder.writeMessage(), { code: 'ERR_NOISE_HANDSHAKE' })
  })

  it('enforces turns and refuses split before completion', () => {
    const { initiator, responder } = pair()
    assert.throws(() => responder.writeMessage(), TypeError)
    assert.throws(() => initiator.readMessage(new Uint8Array(96)), TypeError)
    assert.throws(() => initiator.split(), TypeError)
  })
})

describe('CipherState', () => {
  const key = randomBytes(32)

  it('uses 4 zero bytes and the 64-bit little-endian counter as the nonce', () => {
    const state = new CipherState(key)
    state.n = 2 ** 32 + 5
    const plaintext = Buffer.from('nonce check')
    const sealed = seal(state, plaintext).subarray()
    const nonce = Buffer.from('000000000500000001000000', 'hex')
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
    const expected = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
    assert.deepEqual(Buffer.from(sealed), expected)
    assert.equal(state.n, 2 ** 32 + 6)
  })

  it('seals a multi-piece list exactly as its concatenation', () => {
    const whole = randomBytes(1000)
    const pieces = new Uint8ArrayList(whole.subarray(0, 1), whole.subarray(1, 500), whole.subarray(500))
    assert.deepEqual(seal(new CipherState(key), pieces).subarray(), seal(new CipherState(key), whole).subarray())
  })

  it('rejects flipped bits, reordering, replays and truncation without using up a nonce', () => {
    const sender = new CipherState(key)
    const receiver = new CipherState(key)
    const first = seal(sender, Buffer.from('first')).subarray()
    const second = seal(sender, Buffer.from('second')).subarray()
    for (const index of [0, first.length - 1]) assert.throws(() => receiver.open(new Uint8ArrayList(flipBit(first, index))), { code: 'ERR_INTEGRITY' })
    assert.throws(() => receiver.open(new Uint8ArrayList(second)), { code: 'ERR_INTEGRITY' }, 'out of order')
    assert.throws(() => receiver.open(new Uint8ArrayList(first.subarray(0, 15))), { code: 'ERR_INTEGRITY' }, 'shorter than a tag')
    assert.equal(receiver.n, 0)
    assert.equal(Buffer.from(receiver.open(new Uint8ArrayList(first)).subarray()).toString(), 'first')
    assert.throws(() => receiver.open(new Uint8ArrayList(first)), { code: 'ERR_INTEGRITY' }, 'replayed')
    assert.equal(Buffer.from(receiver.open(new Uint8ArrayList(second)).subarray()).toString(), 'second')
  })

  it('opens a message whose tag is split across pieces, appending to the list it is given, and appends nothing of an altered one', () => {
    const sender = new CipherState(key)
    const receiver = new CipherState(key)
    const sealed = seal(sender, Buffer.from('split tag')).subarray()
    // The body and 6 tag bytes in one piece, the other 10 tag bytes in the next.
    const split = new Uint8ArrayList(sealed.subarray(0, sealed.length - 10), sealed.subarray(sealed.length - 10))
    const out = new Uint8ArrayList(Buffer.from('before: '))
    assert.equal(receiver.open(split, out), out)
    assert.equal(Buffer.from(out.subarray()).toString(), 'before: split tag')
    const altered = flipBit(seal(sender, Buffer.from('altered')).subarray(), 0)
    assert.throws(() => receiver.open(new Uint8ArrayList(altered.subarray(0, 3), altered.subarray(3)), out), { code: 'ERR_INTEGRITY' })
    assert.equal(Buffer.from(out.subarray()).toString(), 'before: split tag')
  })

  it('refuses to seal or open past its message limit', () => {
    const sender = new CipherState(key, { limit: 2 })
    const receiver = new CipherState(key, { limit: 2 })
    const sealed = [seal(sender, Buffer.from('a')), seal(sender, Buffer.from('b'))]
    assert.throws(() => seal(sender, Buffer.from('c')), { code: 'ERR_NONCE_EXHAUSTED' })
    for (const message of sealed) receiver.open(message)
    const beyond = new CipherState(key)
    beyond.n = 2
    assert.throws(() => receiver.open(seal(beyond, Buffer.from('c'))), { code: 'ERR_NONCE_EXHAUSTED' })
  })

  for (const cipher of ['ChaChaPoly', 'AESGCM'] as const) {
    it(`${cipher}: rekeys every rekeyInterval messages on both ends, across the boundary, with the key REKEY defines`, () => {
      const sender = new CipherState(key, { cipher, rekeyInterval: 3 })
      const receiver = new CipherState(key, { cipher, rekeyInterval: 3 })
      const stale = new CipherState(key, { cipher })
      for (let i = 0; i < 7; i++) {
        const message = seal(sender, Buffer.from(`message ${i}`))
        assert.equal(Buffer.from(receiver.open(message).subarray()).toString(), `message ${i}`)
        // An end that does not rekey reads the first three and nothing after.
        if (i < 3) stale.open(message)
        else assert.throws(() => stale.open(message), { code: 'ERR_INTEGRITY' })
      }
      // REKEY(k) = ENCRYPT(k, 2^64-1, empty, 32 zeros), first 32 bytes: by hand, after the third message.
      const maxNonce = Buffer.from('00000000ffffffffffffffff', 'hex')
      const rekeyed = (cipher === 'AESGCM' ? createCipheriv('aes-256-gcm', key, maxNonce) : createCipheriv('chacha20-poly1305', key, maxNonce, { authTagLength: 16 })).update(new Uint8Array(32))
      const manual = new CipherState(rekeyed, { cipher })
      manual.n = 3
      const fromSender = new CipherState(key, { cipher, rekeyInterval: 3 })
      for (let i = 0; i < 3; i++) seal(fromSender, Buffer.from('x'))
      assert.deepEqual(seal(manual, Buffer.from('same')).subarray(), seal(fromSender, Buffer.from('same')).subarray())
    })
  }

  it('passes bytes through before it has a key, as the handshake needs', () => {
    const state = new CipherState()
    const data = Buffer.from('plain')
    assert.equal(state.hasKey(), false)
    assert.equal(state.encryptWithAd(new Uint8Array(0), data), data)
    assert.equal(state.decryptWithAd(new Uint8Array(0), data), data)
  })
})

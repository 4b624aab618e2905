/**
 * The one-way pattern X against the published cacophony vector for
 * Noise_X_25519_AESGCM_SHA256, and what opening must refuse.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ONE_WAY_OVERHEAD, ONE_WAY_PROTOCOL_NAME, generateKeyPair, keyPairFromPrivateKey, openOneWay, sealOneWay } from '../../lib/secure/noise/index.js'
import { cacophonyVectors, hex, type CacophonyVector } from '../support/cacophony.js'

describe(`${ONE_WAY_PROTOCOL_NAME}`, () => {
  const vectors = cacophonyVectors('noise-x-25519-aesgcm-sha256.json')

  it('seals the test vector\'s message byte for byte, and opens it with the sender\'s key', () => {
    assert.equal(vectors.length, 1)
    const [vector] = vectors as [CacophonyVector]
    assert.equal(vector.name, ONE_WAY_PROTOCOL_NAME)
    const sender = keyPairFromPrivateKey(hex(vector.init_static))
    const recipient = keyPairFromPrivateKey(hex(vector.resp_static))
    assert.deepEqual(Buffer.from(recipient.publicKey), hex(vector.init_remote_static as string))
    const [{ payload, ciphertext }] = vector.messages as [{ payload: string, ciphertext: string }]
    const sealed = sealOneWay(sender, recipient.publicKey, hex(payload), {
      prologue: hex(vector.init_prologue),
      ephemeralKeyPair: keyPairFromPrivateKey(hex(vector.init_ephemeral))
    })
    assert.equal(Buffer.from(sealed).toString('hex'), ciphertext)
    const opened = openOneWay(recipient, sealed, hex(vector.init_prologue))
    assert.equal(Buffer.from(opened.payload).toString('hex'), payload)
    assert.deepEqual(Buffer.from(opened.senderStaticKey), Buffer.from(sender.publicKey))
  })

  it('refuses a message for another key, under another prologue, altered, or too short', () => {
    const sender = generateKeyPair()
    const recipient = generateKeyPair()
    const prologue = Buffer.from('a header')
    const sealed = sealOneWay(sender, recipient.publicKey, Buffer.from('for your eyes only'), { prologue })
    assert.equal(sealed.length, ONE_WAY_OVERHEAD + 'for your eyes only'.length)
    assert.throws(() => openOneWay(generateKeyPair(), sealed, prologue), { code: 'ERR_INTEGRITY' })
    assert.throws(() => openOneWay(recipient, sealed, Buffer.from('another header')), { code: 'ERR_INTEGRITY' })
    const altered = Buffer.from(sealed)
    altered[altered.length - 1] = (altered[altered.length - 1] as number) ^ 1
    assert.throws(() => openOneWay(recipient, altered, prologue), { code: 'ERR_INTEGRITY' })
    assert.throws(() => openOneWay(recipient, sealed.subarray(0, ONE_WAY_OVERHEAD - 1), prologue), { code: 'ERR_NOISE_HANDSHAKE' })
  })
})

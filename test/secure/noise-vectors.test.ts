/**
 * The Noise core against the published cacophony test vectors for
 * Noise_XX_25519_ChaChaPoly_SHA256 and Noise_XX_25519_AESGCM_SHA256: every
 * handshake message and every transport message must match byte for byte,
 * in both directions.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import { NOISE_PROTOCOL_NAMES, XXHandshake, keyPairFromPrivateKey, type NoiseCipher } from '../../lib/secure/noise/index.js'
import { cacophonyVectors, hex } from '../support/cacophony.js'
const HANDSHAKE_MESSAGES = 3
const FIXTURES: Record<NoiseCipher, string> = { ChaChaPoly: 'noise-xx-25519-chachapoly-sha256.json', AESGCM: 'noise-xx-25519-aesgcm-sha256.json' }

for (const [cipher, file] of Object.entries(FIXTURES) as Array<[NoiseCipher, string]>) describe(`${NOISE_PROTOCOL_NAMES[cipher]} test vectors`, () => {
  const vectors = cacophonyVectors(file)
  it('has vectors for exactly this protocol', () => {
    assert.ok(vectors.length > 0)
    for (const vector of vectors) assert.equal(vector.name, NOISE_PROTOCOL_NAMES[cipher])
  })

  for (const [index, vector] of vectors.entries()) {
    it(`vector ${index + 1}: handshake and transport messages match byte for byte`, () => {
      const initiator = new XXHandshake({
        cipher,
        initiator: true,
        prologue: hex(vector.init_prologue),
        staticKeyPair: keyPairFromPrivateKey(hex(vector.init_static)),
        ephemeralKeyPair: keyPairFromPrivateKey(hex(vector.init_ephemeral))
      })
      const responder = new XXHandshake({
        cipher,
        initiator: false,
        prologue: hex(vector.resp_prologue),
        staticKeyPair: keyPairFromPrivateKey(hex(vector.resp_static)),
        ephemeralKeyPair: keyPairFromPrivateKey(hex(vector.resp_ephemeral as string))
      })
      assert.ok(vector.messages.length > HANDSHAKE_MESSAGES, 'the vector has transport messages')

      for (const [i, { payload, ciphertext }] of vector.messages.slice(0, HANDSHAKE_MESSAGES).entries()) {
        const [sender, receiver] = i % 2 === 0 ? [initiator, responder] : [responder, initiator]
        const written = sender.writeMessage(hex(payload))
        assert.equal(Buffer.from(written).toString('hex'), ciphertext, `handshake message ${i + 1}`)
        assert.equal(Buffer.from(receiver.readMessage(written)).toString('hex'), payload, `handshake payload ${i + 1}`)
      }
      assert.ok(initiator.complete && responder.complete)
      assert.deepEqual(initiator.handshakeHash, responder.handshakeHash)
      assert.deepEqual(initiator.remoteStaticKey, keyPairFromPrivateKey(hex(vector.resp_static)).publicKey)
      assert.deepEqual(responder.remoteStaticKey, keyPairFromPrivateKey(hex(vector.init_static)).publicKey)

      const fromInitiator = initiator.split()
      const fromResponder = responder.split()
      for (const [offset, { payload, ciphertext }] of vector.messages.slice(HANDSHAKE_MESSAGES).entries()) {
        const i = HANDSHAKE_MESSAGES + offset
        const [send, receive] = i % 2 === 0 ? [fromInitiator.send, fromResponder.receive] : [fromResponder.send, fromInitiator.receive]
        const sealed = new Uint8ArrayList()
        send.seal(hex(payload), sealed)
        assert.equal(Buffer.from(sealed.subarray()).toString('hex'), ciphertext, `transport message ${i + 1}`)
        assert.equal(Buffer.from(receive.open(sealed).subarray()).toString('hex'), payload, `transport payload ${i + 1}`)
      }
    })
  }
})

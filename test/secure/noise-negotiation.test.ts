import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BASELINE_CIPHER, answerTo, encodeAnswer, encodeOffer, parseAnswer, parseOffer } from '../../lib/secure/noise-negotiation.js'

describe('Noise negotiation', () => {
  it('round-trips an offer and an answer, and reads anything else as none (an earlier node)', () => {
    const terms = { cipher: 'AESGCM', rekeyInterval: 1024 } as const
    assert.deepEqual(parseOffer(encodeOffer(terms)), terms)
    assert.deepEqual(parseAnswer(encodeAnswer(terms)), terms)
    assert.equal(parseOffer(new Uint8Array(0)), undefined)
    assert.equal(parseOffer(encodeAnswer(terms)), undefined, 'an answer is no offer')
    for (const text of ['mlo1 DES 0', 'mlo1 AESGCM -1', 'mlo1 AESGCM 1 extra', 'mlo1 AESGCM 99999999999999999', 'mlo1  AESGCM 1']) {
      assert.equal(parseOffer(new TextEncoder().encode(text)), undefined, text)
    }
  })

  it('answers with the offered cipher when it speaks it, else ChaChaPoly, and the shorter rekey interval', () => {
    assert.deepEqual(answerTo({ cipher: 'AESGCM', rekeyInterval: 100 }, ['AESGCM', 'ChaChaPoly'], 50), { cipher: 'AESGCM', rekeyInterval: 50 })
    assert.deepEqual(answerTo({ cipher: 'AESGCM', rekeyInterval: 0 }, ['ChaChaPoly'], 50), { cipher: 'ChaChaPoly', rekeyInterval: 50 })
    assert.deepEqual(answerTo({ cipher: 'ChaChaPoly', rekeyInterval: 30 }, ['AESGCM', 'ChaChaPoly'], 0), { cipher: 'ChaChaPoly', rekeyInterval: 30 })
    assert.deepEqual(answerTo({ cipher: 'AESGCM', rekeyInterval: 0 }, ['AESGCM', 'ChaChaPoly'], 0), { cipher: 'AESGCM', rekeyInterval: 0 })
    // An earlier node offers nothing: the protocol it has always spoken, never rekeying.
    assert.deepEqual(answerTo(undefined, ['AESGCM', 'ChaChaPoly'], 50), { cipher: BASELINE_CIPHER, rekeyInterval: 0 })
  })
})

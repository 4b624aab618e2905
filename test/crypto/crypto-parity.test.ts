/**
 * The browser's crypto module against Node's: the same exports, the same
 * outputs for the same inputs, and what one seals, signs or agrees on the
 * other opens, verifies or agrees on too, so a browser node and a Node
 * node interoperate. AEAD messages go through under arbitrary chunking.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import * as browser from '../../lib/crypto/crypto.browser.js'
import * as node from '../../lib/crypto/crypto.js'
import type { NoiseCipher } from '../../lib/types.js'

type Crypto = typeof browser | typeof node
const CIPHERS: NoiseCipher[] = ['AESGCM', 'ChaChaPoly']
const bytes = (max = 2048): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max })

function chunks (data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map(cut => cut % (data.length + 1)))].sort((a, b) => a - b)
  const pieces: Uint8Array[] = []
  let at = 0
  for (const point of [...points, data.length]) {
    pieces.push(data.subarray(at, point))
    at = point
  }
  return pieces
}

function seal (crypto: Crypto, cipher: NoiseCipher, key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8ArrayList()
  const length = pieces.reduce((sum, piece) => sum + piece.length, 0)
  crypto.aeadSeal(cipher, key, nonce, ad, length, pieces, out)
  return out.subarray()
}

function open (crypto: Crypto, cipher: NoiseCipher, key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array | Uint8ArrayList): Uint8Array | undefined {
  const out = new Uint8ArrayList()
  return crypto.aeadOpen(cipher, key, nonce, ad, ciphertext, out, new Uint8Array(node.TAG_BYTES)) ? out.subarray() : undefined
}

/** Byte equality, whatever view type each side is. */
function same (actual: Uint8Array | undefined, expected: Uint8Array): void {
  assert.ok(actual !== undefined, 'expected bytes')
  assert.deepEqual(Buffer.from(actual), Buffer.from(expected))
}

describe('crypto: browser module against Node\'s', () => {
  it('exports the same names', () => {
    assert.deepEqual(Object.keys(browser).sort(), Object.keys(node).sort())
  })

  it('hashes and HMACs alike, whole or in pieces', () => {
    fc.assert(fc.property(bytes(), bytes(), bytes(64), (a, b, key) => {
      same(browser.sha256(a, b), node.sha256(a, b))
      same(browser.createSha256().update(a).update(b).digest(), node.sha256(a, b))
      same(node.createSha256().update(a).update(b).digest(), node.sha256(a, b))
      same(browser.hmacSha256(key, a, b), node.hmacSha256(key, a, b))
    }), { numRuns: 100 })
  })

  it('derives the same X25519 public key and agrees on the same secret across modules', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (a, b) => {
      const nodeKey = node.x25519FromSecret(a)
      const browserKey = browser.x25519FromSecret(b)
      same(browser.publicKeyOf(browser.x25519FromSecret(a)), node.publicKeyOf(nodeKey))
      const shared = node.x25519(nodeKey, browser.publicKeyOf(browserKey))
      same(browser.x25519(browserKey, node.publicKeyOf(nodeKey)), shared)
    }), { numRuns: 30 })
  })

  it('refuses a low-order X25519 public key in both', () => {
    const lowOrder = new Uint8Array(32)
    for (const crypto of [node, browser] as Crypto[]) {
      assert.throws(() => { (crypto.x25519 as (key: unknown, pub: Uint8Array) => Buffer)(crypto.generateX25519(), lowOrder) })
    }
  })

  it('verifies Ed25519 signatures made by the other, and refuses altered ones', () => {
    fc.assert(fc.property(bytes(512), fc.nat(), (message, flip) => {
      const pairs: Array<[Crypto, Crypto]> = [[node, browser], [browser, node]]
      for (const [signer, verifier] of pairs) {
        const key = signer.generateEd25519()
        const sign = signer.ed25519Sign as (key: unknown, message: Uint8Array) => Buffer
        const publicKeyOf = signer.publicKeyOf as (key: unknown) => Buffer
        const signature = sign(key, message)
        assert.equal(signature.length, 64)
        const verify = verifier.ed25519Verify as (key: unknown, message: Uint8Array, signature: Uint8Array) => boolean
        const verificationKey = verifier.ed25519VerificationKey(publicKeyOf(key))
        assert.equal(verify(verificationKey, message, signature), true)
        const altered = Uint8Array.from(signature)
        altered[flip % 64] = (altered[flip % 64] as number) ^ 1
        assert.equal(verify(verificationKey, message, altered), false)
      }
    }), { numRuns: 20 })
  })

  for (const cipher of CIPHERS) {
    it(`${cipher}: seals alike in both, under any chunking, and opens what the other sealed`, () => {
      fc.assert(fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 12, maxLength: 12 }), bytes(64), bytes(), fc.array(fc.nat(), { maxLength: 6 }),
        (key, nonce, ad, plaintext, cuts) => {
          const fromNode = seal(node, cipher, key, nonce, ad, chunks(plaintext, cuts))
          same(seal(browser, cipher, key, nonce, ad, chunks(plaintext, cuts)), fromNode)
          const received = new Uint8ArrayList(...chunks(fromNode, cuts))
          same(open(browser, cipher, key, nonce, ad, received), plaintext)
          same(open(node, cipher, key, nonce, ad, received), plaintext)
        }), { numRuns: 100 })
    })

    it(`${cipher}: both refuse an altered or short message and append nothing`, () => {
      const key = node.randomBytes(32)
      const nonce = node.randomBytes(12)
      const sealed = seal(node, cipher, key, nonce, new Uint8Array(0), [node.randomBytes(100)])
      const altered = Uint8Array.from(sealed)
      altered[50] = (altered[50] as number) ^ 0x80
      for (const crypto of [node, browser] as Crypto[]) {
        assert.equal(open(crypto, cipher, key, nonce, new Uint8Array(0), altered), undefined)
        assert.equal(open(crypto, cipher, key, nonce, new Uint8Array(0), sealed.subarray(0, 15)), undefined)
      }
    })
  }
})

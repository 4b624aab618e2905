import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import {
  fingerprint, generateIdentity, identityFromKeyObject, linkKeyOfSigningKey, loadIdentity, nodeIdFromPublicKey, nodeIdFromSigningKey, parseAllowlist, publicKeyHex, resolveAllowlist
} from '../../lib/secure/index.js'

const dir = mkdtempSync(join(tmpdir(), 'meshline-identity-'))
after(() => { rmSync(dir, { recursive: true, force: true }) })
const posix = process.platform !== 'win32'

describe('identity', () => {
  it('creates the key file on first use with mode 0600 in a 0700 folder, and loads the same key after', () => {
    const path = join(dir, 'new', 'node.key')
    const first = loadIdentity(path)
    if (posix) {
      assert.equal(statSync(path).mode & 0o777, 0o600)
      assert.equal(statSync(join(dir, 'new')).mode & 0o777, 0o700)
    }
    assert.match(readFileSync(path, 'utf8'), /^-----BEGIN PRIVATE KEY-----/)
    const again = loadIdentity(path)
    assert.deepEqual(again.publicKey, first.publicKey)
    assert.equal(first.publicKey.length, 32)
  })

  it('refuses a key file that others may read, and one that is not an Ed25519 key, saying what to do with an X25519 one', { skip: !posix && 'POSIX permissions' }, () => {
    const open = join(dir, 'open.key')
    loadIdentity(open)
    chmodSync(open, 0o644)
    assert.throws(() => loadIdentity(open), { code: 'ERR_IDENTITY' })
    const garbage = join(dir, 'garbage.key')
    writeFileSync(garbage, 'not a key', { mode: 0o600 })
    assert.throws(() => loadIdentity(garbage), { code: 'ERR_IDENTITY' })
    const x25519 = join(dir, 'x25519.key')
    writeFileSync(x25519, generateKeyPairSync('x25519').privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 })
    assert.throws(() => loadIdentity(x25519), (err: Error & { code?: string }) => err.code === 'ERR_IDENTITY' && /cannot sign; move that key file aside/.test(err.message))
    assert.throws(() => identityFromKeyObject(generateKeyPairSync('x25519').privateKey), { code: 'ERR_IDENTITY' })
    // A key file that cannot be created: its folder would be inside a file.
    assert.throws(() => loadIdentity(join(garbage, 'node.key')), { code: 'ERR_IDENTITY' })
  })

  it('derives the X25519 link key from the Ed25519 signing key, so that the signing key alone gives the node id', () => {
    const identity = generateIdentity()
    assert.equal(identity.signingPublicKey.length, 32)
    assert.equal(identity.signingKey.asymmetricKeyType, 'ed25519')
    assert.equal(identity.privateKey.asymmetricKeyType, 'x25519')
    assert.deepEqual(Buffer.from(linkKeyOfSigningKey(identity.signingPublicKey)), Buffer.from(identity.publicKey))
    assert.equal(nodeIdFromSigningKey(identity.signingPublicKey), nodeIdFromPublicKey(identity.publicKey))
    // The same key file gives the same keys: the derivation is deterministic.
    const again = identityFromKeyObject(identity.signingKey)
    assert.deepEqual(Buffer.from(again.publicKey), Buffer.from(identity.publicKey))
    assert.notEqual(nodeIdFromSigningKey(generateIdentity().signingPublicKey), nodeIdFromPublicKey(identity.publicKey))
    assert.throws(() => linkKeyOfSigningKey(new Uint8Array(31)), { code: 'ERR_IDENTITY' })
  })

  it('derives a 32-hex-character id and a SHA256 fingerprint from the public key', () => {
    const { publicKey } = generateIdentity()
    const id = nodeIdFromPublicKey(publicKey)
    assert.match(id, /^[0-9a-f]{32}$/)
    assert.notEqual(id, nodeIdFromPublicKey(generateIdentity().publicKey))
    assert.match(fingerprint(publicKey), /^SHA256:[A-Za-z0-9+/]{43}$/)
    assert.match(publicKeyHex(publicKey), /^[0-9a-f]{64}$/)
  })
})

describe('allowlist', () => {
  const a = publicKeyHex(generateIdentity().publicKey)
  const b = publicKeyHex(generateIdentity().publicKey)

  it('reads one key per line, ignoring blank lines, comments and case', () => {
    const keys = parseAllowlist(`# the mesh\n${a}  # alice\n\n  ${b.toUpperCase()}\n`)
    assert.deepEqual([...keys], [a, b])
  })

  it('names the first bad line', () => {
    assert.throws(() => parseAllowlist(`${a}\nnot-a-key\n`), (err: Error & { code?: string }) => err.code === 'ERR_INVALID_OPTION' && err.message.includes('line 2'))
  })

  it('takes a file path or the keys themselves', () => {
    const path = join(dir, 'allow.txt')
    writeFileSync(path, `${a}\n`)
    assert.deepEqual([...resolveAllowlist(path)], [a])
    assert.deepEqual([...resolveAllowlist([b])], [b])
    assert.throws(() => resolveAllowlist(join(dir, 'missing.txt')), { code: 'ERR_INVALID_OPTION' })
    assert.throws(() => resolveAllowlist(['abc']), { code: 'ERR_INVALID_OPTION' })
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type MeshEvents, type Transport } from '../../lib/index.js'
import { fingerprint, generateIdentity, nodeIdFromPublicKey, publicKeyHex, type Identity } from '../../lib/secure/identity.js'
import { SecureLinks, securityInfo, type SecuredLink } from '../../lib/secure/secure-links.js'
import { rawEnd } from '../../harness/streams.js'
import type { SecureMode } from '../../lib/types.js'
import { duplexPair } from '../../lib/transport/index.js'

type Denial = MeshEvents['peer:denied'][0]

interface Side {
  links: SecureLinks
  id: string
  identity: Identity
  denials: Denial[]
}

function side (secure: SecureMode, opts: { allow?: Identity[], maxKnownPeers?: number } = {}): Side {
  const identity = generateIdentity()
  const id = nodeIdFromPublicKey(identity.publicKey)
  const denials: Denial[] = []
  const links = new SecureLinks({
    id,
    secure,
    connectionTimeout: 2000,
    secureProbeTimeout: 100,
    secureProbeFloor: 50,
    noiseCiphers: ['AESGCM', 'ChaChaPoly'],
    noiseRekeyMessages: 0,
    maxNoiseMessages: 1000,
    maxKnownPeers: opts.maxKnownPeers ?? 100,
    identity: secure === 'off' ? undefined : identity,
    allowlist: opts.allow === undefined ? undefined : new Set(opts.allow.map(allowed => publicKeyHex(allowed.publicKey))),
    running: () => true,
    onDenied: denial => { denials.push(denial) }
  })
  return { links, id, identity, denials }
}

type Outcome = PromiseSettledResult<SecuredLink>

/** `dialer` dials `listener` over an in-memory pair: both ends' outcomes. */
async function connect (dialer: Side, listener: Side): Promise<[Outcome, Outcome]> {
  const [dialled, accepted] = duplexPair()
  return await Promise.allSettled([dialer.links.outbound('memory-b:1', async () => dialled, undefined), listener.links.inbound(accepted)])
}

function linkOf (result: Outcome): SecuredLink {
  if (result.status === 'rejected') throw result.reason
  return result.value
}

function codeOf (result: Outcome): unknown {
  assert.equal(result.status, 'rejected')
  return (result.reason as { code?: unknown }).code
}

/** A dial's transports, each answered at once by a plaintext peer's line. */
function plaintextPeer (): { open: () => Promise<Transport>, opened: () => number, received: Array<Promise<Buffer>> } {
  const received: Array<Promise<Buffer>> = []
  return {
    open: async () => {
      const [dialled, accepted] = duplexPair()
      const peer = rawEnd(accepted)
      peer.write('plain-id:plain\n')
      received.push(peer.received)
      return dialled
    },
    opened: () => received.length,
    received
  }
}

describe('SecureLinks', () => {
  it('secures a dial and its acceptance over Noise, each side proving the other\'s key', async () => {
    const dialer = side('preferred')
    const listener = side('required')
    const [out, inb] = await connect(dialer, listener)
    assert.deepEqual(linkOf(out).publicKey, listener.identity.publicKey)
    assert.deepEqual(linkOf(inb).publicKey, dialer.identity.publicKey)
    assert.deepEqual(securityInfo(linkOf(inb)), {
      security: 'noise', cipher: 'AESGCM', publicKey: publicKeyHex(dialer.identity.publicKey), fingerprint: fingerprint(dialer.identity.publicKey)
    })
  })

  it('lets a key on the allowlist through, and denies one off it on either side, telling onDenied', async () => {
    const stranger = generateIdentity()
    const dialer = side('preferred')
    assert.equal(linkOf((await connect(dialer, side('preferred', { allow: [dialer.identity] })))[1]).security, 'noise')

    const strict = side('preferred', { allow: [stranger] })
    const [, refused] = await connect(dialer, strict)
    assert.equal(codeOf(refused), 'ERR_ACCESS_DENIED')
    assert.deepEqual(strict.denials.map(d => [d.direction, d.publicKey, d.fingerprint]), [
      ['inbound', publicKeyHex(dialer.identity.publicKey), fingerprint(dialer.identity.publicKey)]
    ])

    const strictDialer = side('required', { allow: [stranger] })
    const [refusing] = await connect(strictDialer, side('preferred'))
    assert.equal(codeOf(refusing), 'ERR_ACCESS_DENIED')
    assert.deepEqual(strictDialer.denials.map(d => d.direction), ['outbound'])
  })

  it('takes a plaintext peer in preferred mode only: refused by required, denied by an allowlist, and a Noise hello refused by off', async () => {
    const accept = async (listener: Side, first: string | Uint8Array): Promise<Outcome> => {
      const [dialled, accepted] = duplexPair()
      rawEnd(dialled).write(first)
      const [outcome] = await Promise.allSettled([listener.links.inbound(accepted)])
      return outcome
    }
    const hello = 'plain-id:plain\n'
    assert.deepEqual(securityInfo(linkOf(await accept(side('preferred'), hello))), { security: 'plaintext', cipher: undefined, publicKey: undefined, fingerprint: undefined })
    assert.equal(codeOf(await accept(side('required'), hello)), 'ERR_PLAINTEXT_REFUSED')
    const strict = side('preferred', { allow: [generateIdentity()] })
    assert.equal(codeOf(await accept(strict, hello)), 'ERR_ACCESS_DENIED')
    assert.deepEqual(strict.denials.map(d => [d.direction, d.publicKey]), [['inbound', undefined]])
    // 00 20: the length of a Noise message 1.
    assert.equal(codeOf(await accept(side('off'), Uint8Array.of(0x00, 0x20))), 'ERR_NOISE_REFUSED')
  })

  it('dialling in preferred mode, falls back to plaintext on a new connection, and at once where the address was plaintext last time', async () => {
    const fallback = plaintextPeer()
    const link = await side('preferred').links.outbound('peer:1', fallback.open, undefined)
    assert.equal(link.security, 'plaintext')
    assert.equal(fallback.opened(), 2)

    const known = plaintextPeer()
    const direct = await side('preferred').links.outbound('peer:1', known.open, 'plaintext')
    assert.equal(direct.security, 'plaintext')
    assert.equal(known.opened(), 1)
    direct.transport.close()
    assert.equal((await known.received[0] as Buffer).length, 0, 'no Noise message 1 was sent')
  })

  it('never falls back to plaintext at a pinned address: a downgrade is refused and told, without a second connection', async () => {
    const pinned = plaintextPeer()
    const dialer = side('preferred')
    dialer.links.pin('peer:1', 'proven-id')
    assert.equal(dialer.links.pinnedId('peer:1'), 'proven-id')
    await assert.rejects(dialer.links.outbound('peer:1', pinned.open, 'plaintext'), { code: 'ERR_DOWNGRADE_REFUSED' })
    assert.equal(pinned.opened(), 1, 'Noise was tried although the address answered in plaintext last time, and nothing after it')
    assert.deepEqual(dialer.denials.map(d => [d.remoteAddress, d.direction, d.error.code]), [['peer:1', 'outbound', 'ERR_DOWNGRADE_REFUSED']])
    // Pins are bounded by maxKnownPeers: past it the oldest goes.
    const bounded = side('preferred', { maxKnownPeers: 2 })
    for (const n of [1, 2, 3]) bounded.links.pin(`peer:${n}`, `id-${n}`)
    assert.deepEqual([1, 2, 3].map(n => bounded.links.pinnedId(`peer:${n}`)), [undefined, 'id-2', 'id-3'])
    // A pinned id may not be claimed over plaintext either.
    const [transport] = duplexPair()
    assert.throws(() => { dialer.links.checkClaimedId('proven-id', { transport, security: 'plaintext', publicKey: undefined, cipher: undefined, direction: 'inbound' }) }, { code: 'ERR_IDENTITY_MISMATCH' })
  })

  it('dialling a plaintext peer, required refuses it and an allowlist denies it, without a second connection', async () => {
    const required = plaintextPeer()
    await assert.rejects(side('required').links.outbound('peer:1', required.open, undefined), { code: 'ERR_PLAINTEXT_REFUSED' })
    assert.equal(required.opened(), 1)

    const allowlisted = plaintextPeer()
    const strict = side('preferred', { allow: [generateIdentity()] })
    await assert.rejects(strict.links.outbound('peer:1', allowlisted.open, 'plaintext'), { code: 'ERR_ACCESS_DENIED' })
    assert.equal(allowlisted.opened(), 1, 'an allowlist ignores how the address answered last time')
    assert.deepEqual(strict.denials.map(d => [d.remoteAddress, d.direction, d.publicKey]), [['peer:1', 'outbound', undefined]])
  })

  it('binds ids to proven keys: a Noise link proves one id, a plaintext link none that a key has proven', () => {
    const self = side('preferred', { maxKnownPeers: 2 })
    const [transport] = duplexPair()
    const key = generateIdentity().publicKey
    const noise: SecuredLink = { transport, security: 'noise', publicKey: key, cipher: 'AESGCM', direction: 'inbound' }
    const plaintext: SecuredLink = { transport, security: 'plaintext', publicKey: undefined, cipher: undefined, direction: 'inbound' }
    self.links.checkClaimedId(nodeIdFromPublicKey(key), noise)
    assert.throws(() => { self.links.checkClaimedId('someone-else', noise) }, { code: 'ERR_IDENTITY_MISMATCH' })

    assert.throws(() => { self.links.checkClaimedId(self.id, plaintext) }, { code: 'ERR_IDENTITY_MISMATCH' })
    self.links.bindId('unproven', plaintext)
    self.links.checkClaimedId('unproven', plaintext)
    for (const id of ['a', 'b', 'c']) self.links.bindId(id, noise)
    self.links.checkClaimedId('a', plaintext)
    for (const id of ['b', 'c']) assert.throws(() => { self.links.checkClaimedId(id, plaintext) }, { code: 'ERR_IDENTITY_MISMATCH' })

    // Without Noise nothing is ever proven, so any id may be claimed.
    const off = side('off')
    off.links.checkClaimedId(off.id, plaintext)
  })

  it('closePending() closes a transport still in its first byte', async () => {
    const self = side('preferred')
    const [, accepted] = duplexPair()
    const accepting = self.links.inbound(accepted)
    self.links.closePending()
    await assert.rejects(accepting, { code: 'ERR_CONNECTION_CLOSED' })
    await accepted.closed
  })
})

/**
 * A member running modified code, on the in-memory network: A - M - C,
 * where A and C can reach each other only through M, and M's outbound
 * transform tampers with what it relays to C. Whatever M does, C delivers
 * nothing A did not write, as A's; it refuses each forgery with
 * `message:refused` and its reason; and A's honest traffic still arrives.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, describe, it } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import { MeshNode, type MeshNodeOptions } from '../../lib/index.js'
import { decodeFrame, encodeFrame, isOverlayPayload, type GossipFrame, type OverlayFrame } from '../../lib/overlay/overlay-protocol.js'
import { generateIdentity, type Identity } from '../../lib/secure/identity.js'
import { signBundle } from '../../lib/trust/signed-bundle.js'
import { sealMessage } from '../../lib/trust/sealed-message.js'
import { memoryNetwork } from '../../lib/transport/index.js'
import type { TransportFactory } from '../../lib/transport/transport.js'
import type { IncomingMessage } from '../../lib/types.js'
import { mapMessages, type ConnectionContext, type MessageTransform } from '../../transforms/core/link.js'
import type { Message } from '../../transforms/core/line-protocol.js'
import { waitFor, within } from '../../harness/async.js'

const running = new Set<MeshNode>()
after(async () => { await Promise.all([...running].map(async node => { await node.stop() })) })

const FAST = { capabilityTimeout: 1000, routeTimeout: 1000, repairInterval: 50, graftTimeout: 100 }

/** M's rewrite of one message to C: return it, a replacement, several, or undefined to drop it. */
type Rewrite = (msg: Message, frame: OverlayFrame | undefined) => Message | Message[] | undefined

/** A transport that will not dial the addresses `blocked()` names: A and C meet only through M. */
function avoiding (network: TransportFactory, blocked: () => string[]): TransportFactory {
  return {
    dial: async (host, port, opts) => {
      if (blocked().includes(`${host}:${port}`)) throw new Error(`${host}:${port} is out of reach`)
      return await network.dial(host, port, opts)
    },
    listen: async (host, port, onConnection) => await network.listen(host, port, onConnection)
  }
}

interface Trio {
  a: MeshNode
  m: MeshNode
  c: MeshNode
  keys: { a: Identity, m: Identity }
  /** Set to make M tamper with what it sends C. */
  tamper: { rewrite: Rewrite | undefined }
  /** What C delivered. */
  atC: IncomingMessage[]
}

/** A, M and C, connected; once `formed`, C has delivered a broadcast from M (so C knows M's key, and not A's). */
async function trio (opts: { c?: MeshNodeOptions, all?: MeshNodeOptions, formed?: boolean } = {}): Promise<Trio> {
  const network = memoryNetwork()
  const keys = { a: generateIdentity(), m: generateIdentity() }
  const tamper: Trio['tamper'] = { rewrite: undefined }
  const addresses: Record<'a' | 'c', string> = { a: '', c: '' }
  let c: MeshNode | undefined
  const towardsC: MessageTransform = (source, context?: ConnectionContext) => mapMessages(msg => {
    if (tamper.rewrite === undefined || context?.peerId !== c?.id || msg.type !== 'bytes' || !isOverlayPayload(msg.data)) return msg
    return tamper.rewrite(msg, decodeFrame(new Uint8ArrayList(msg.data.subarray())))
  })(source)
  const node = (options: MeshNodeOptions, blocked: () => string[]): MeshNode => {
    const created = new MeshNode({ host: 'sim', topology: 'overlay', connectionTimeout: 1000, ...opts.all, ...options, transport: avoiding(network, blocked), overlay: { ...FAST, ...opts.all?.overlay, ...options.overlay } })
    running.add(created)
    return created
  }
  const a = node({ name: 'A', identity: keys.a.signingKey }, () => [addresses.c])
  const m = node({ name: 'M', identity: keys.m.signingKey, outbound: [towardsC] }, () => [])
  c = node({ name: 'C', ...opts.c }, () => [addresses.a])
  addresses.a = await a.start()
  await m.start()
  addresses.c = await c.start()
  await a.connect(m.address)
  await c.connect(m.address)
  const atC: IncomingMessage[] = []
  c.on('chat', msg => { atC.push({ type: 'chat', ...msg }) })
  c.on('bytes', msg => { atC.push({ type: 'bytes', ...msg }) })
  const centre = m
  await waitFor(() => ['a', 'c'].every(end => centre.overlayStatus()?.active.includes(end === 'a' ? a.id : (c as MeshNode).id)), 'M\'s neighbours A and C')
  if (opts.formed !== false) {
    const formed = once(c, 'chat')
    await m.broadcast('hello from M')
    await within(formed, 'the first broadcast to reach C')
    atC.length = 0
  }
  return { a, m, c, keys, tamper, atC }
}

const chatOf = (msgs: IncomingMessage[]): Array<[string, string, string]> => msgs.map(msg => [msg.type === 'chat' ? msg.text : 'bytes', msg.origin.id, msg.authenticity])

function isSignedFrom (frame: OverlayFrame | undefined, origin: string): frame is GossipFrame {
  return frame?.type === 'gossip' && frame.kind === 'signed' && frame.origin.id === origin
}

/** A copy of a frame's payload with the first occurrence of `from` replaced by `to` (same length). */
function edited (frame: GossipFrame, from: string, to: string): GossipFrame {
  const payload = Buffer.from(frame.payload.subarray())
  const at = payload.indexOf(from)
  assert.ok(at >= 0, `${from} is in the bundle`)
  Buffer.from(to).copy(payload, at)
  return { ...frame, payload }
}

const asBytes = (frame: OverlayFrame): Message => ({ type: 'bytes', data: encodeFrame(frame) })

/** Broadcasts from A once M's tampering is over, and waits for C to deliver it. */
async function honestTrafficArrives (t: Trio, text: string): Promise<void> {
  t.tamper.rewrite = undefined
  const arrived = once(t.c, 'chat')
  await t.a.broadcast(text)
  await within(arrived, `${text} at C`)
  assert.deepEqual(chatOf(t.atC).at(-1), [text, t.a.id, 'signed'])
}

describe('end-to-end trust against a malicious member', () => {
  for (const secure of ['off', 'required'] as const) it(`refuses a broadcast M altered, delivers nothing of it, and still gets A's next one (links: secure ${secure})`, async () => {
    const t = await trio({ all: { secure } })
    t.tamper.rewrite = (msg, frame) => isSignedFrom(frame, t.a.id) ? asBytes(edited(frame, 'alice', 'mallo')) : msg
    const refused = once(t.c, 'message:refused')
    await t.a.broadcast('hello-from-A: pay 10 to alice')
    const [{ error, peer, closed }] = await within(refused, 'the refusal')
    assert.equal(error.code, 'ERR_UNTRUSTED_MESSAGE')
    assert.equal(error.reason, 'bad-signature')
    assert.equal(error.origin, t.a.id)
    assert.equal(peer.id, t.m.id, 'the event names the link it came from')
    assert.equal(closed, false)
    assert.deepEqual(t.atC, [])
    await honestTrafficArrives(t, 'hello-from-A: pay 10 to alice, again')
    assert.equal(t.c.overlayStatus()?.stats.refused['bad-signature'], 1)
  })

  it('refuses a broadcast in A\'s name signed with M\'s key, or with A\'s key claimed but M\'s signature', async () => {
    const t = await trio()
    const forge = (signingKey: Uint8Array): Message => {
      const { id, bytes } = signBundle({ signingKey, name: 'A', stamp: { epoch: Date.now(), counter: 0, time: Date.now() }, entries: [{ kind: 'chat', data: Buffer.from('pay 10 to mallory') }] }, t.keys.m.signingKey)
      return asBytes({ type: 'gossip', id, kind: 'signed', hops: 1, hopLimit: 8, origin: { id: t.a.id, name: '' }, payload: bytes })
    }
    t.tamper.rewrite = (msg, frame) => isSignedFrom(frame, t.m.id) ? [forge(t.keys.m.signingPublicKey), forge(t.keys.a.signingPublicKey)] : msg
    const reasons: string[] = []
    t.c.on('message:refused', ({ error }) => { reasons.push(error.reason) })
    await t.m.broadcast('from M, honestly')
    await waitFor(() => reasons.length === 2, 'two refusals')
    assert.deepEqual(reasons, ['key-mismatch', 'bad-signature'])
    assert.deepEqual(chatOf(t.atC).filter(([text]) => text.includes('mallory')), [])
    await honestTrafficArrives(t, 'still A')
  })

  it('refuses A\'s broadcast with its signature stripped, as unsigned', async () => {
    const t = await trio()
    t.tamper.rewrite = (msg, frame) => isSignedFrom(frame, t.a.id)
      ? asBytes({ type: 'gossip', id: 'stripped1', kind: 'chat', hops: frame.hops, hopLimit: frame.hopLimit, origin: { id: t.a.id, name: 'A' }, payload: Buffer.from('unsigned, but A wrote it?') })
      : msg
    const refused = once(t.c, 'message:refused')
    await t.a.broadcast('signed by A')
    assert.equal((await within(refused, 'the refusal'))[0].error.reason, 'unsigned')
    assert.deepEqual(t.atC, [])
    await honestTrafficArrives(t, 'signed by A, delivered')
  })

  it('refuses a replay of A\'s broadcast after C\'s seen set has forgotten it', async () => {
    const t = await trio({ c: { overlay: { maxSeenMessages: 2 } } })
    let recorded: Message | undefined
    t.tamper.rewrite = (msg, frame) => {
      if (isSignedFrom(frame, t.a.id)) recorded ??= asBytes(frame)
      return msg
    }
    for (const text of ['the original', 'one', 'two', 'three']) {
      const arrived = once(t.c, 'chat')
      await t.a.broadcast(text)
      await within(arrived, text)
    }
    assert.ok(recorded !== undefined)
    const replay = recorded
    // M sends the recorded bundle again with its next message to C.
    t.tamper.rewrite = (msg, frame) => isSignedFrom(frame, t.m.id) ? [msg, replay] : msg
    const refused = once(t.c, 'message:refused')
    await t.m.broadcast('carrier')
    assert.equal((await within(refused, 'the refusal'))[0].error.reason, 'replay')
    assert.deepEqual(chatOf(t.atC).filter(([text]) => text === 'the original'), [['the original', t.a.id, 'signed']], 'delivered once')
    await honestTrafficArrives(t, 'after the replay')
  })

  it('seals routed messages: a key claimed for another id is refused, and M relays only ciphertext it cannot alter', async () => {
    const t = await trio()
    // C asks for a route to A (it knows neither the way nor the key); M answers with its own key for A's id.
    t.tamper.rewrite = (msg, frame) => frame?.type === 'route-reply' && frame.target === t.a.id ? asBytes({ ...frame, key: t.keys.m.publicKey }) : msg
    const claimed = once(t.c, 'message:refused')
    await assert.rejects(t.c.send(t.a.id, 'to A, sealed to whom?'), { code: 'ERR_NO_ROUTE' })
    assert.equal((await claimed)[0].error.reason, 'key-mismatch')
    t.tamper.rewrite = undefined
    const atA = once(t.a, 'chat')
    await t.c.send(t.a.id, 'to A, sealed to A')
    assert.deepEqual((await within(atA, 'the routed message to A'))[0].text, 'to A, sealed to A')

    const seenByM: Buffer[] = []
    t.tamper.rewrite = (msg, frame) => {
      if (frame?.type === 'route') seenByM.push(Buffer.from(msg.type === 'bytes' ? msg.data.subarray() : []))
      return msg
    }
    const arrived = once(t.c, 'chat')
    await t.a.send(t.c.id, 'secret for C only')
    const [msg] = await within(arrived, 'the routed message')
    assert.deepEqual([msg.text, msg.origin, msg.authenticity], ['secret for C only', { id: t.a.id, name: 'A' }, 'signed'])
    assert.ok(seenByM.length > 0)
    assert.ok(seenByM.every(bytes => !bytes.includes('secret') && bytes.includes(' SEALED ')), 'M relayed a SEALED frame, no plaintext')

    // Altered on the way: refused, and the link is not blamed (a relay cannot check a seal).
    t.tamper.rewrite = (msg, frame) => {
      if (frame?.type !== 'route') return msg
      const payload = Buffer.from(frame.payload.subarray())
      payload[payload.length - 1] = (payload[payload.length - 1] as number) ^ 1
      return asBytes({ ...frame, payload })
    }
    const refused = once(t.c, 'message:refused')
    await t.a.send(t.c.id, 'altered on the way')
    const [{ error, closed }] = await within(refused, 'the refusal')
    assert.deepEqual([error.reason, closed], ['undecryptable', false])
    assert.deepEqual(chatOf(t.atC).map(([text]) => text), ['secret for C only'])

    // Sealed by M, in A's name: the seal proves M's key, and the relay that carried it is not blamed either.
    t.tamper.rewrite = (msg, frame) => {
      if (frame?.type !== 'route') return msg
      const forged = sealMessage(t.keys.m, t.a.id, t.c.id, t.c.publicKey === undefined ? new Uint8Array(32) : Buffer.from(t.c.publicKey, 'hex'), { stamp: { epoch: 1, counter: 0, time: Date.now() }, kind: 'chat', name: 'A', data: Buffer.from('pay 10 to mallory') })
      return asBytes({ ...frame, payload: forged })
    }
    const inAsName = once(t.c, 'message:refused')
    await t.a.send(t.c.id, 'replaced on the way')
    const [forgedRefusal] = await within(inAsName, 'the refusal')
    assert.deepEqual([forgedRefusal.error.reason, forgedRefusal.closed, t.c.overlayStatus()?.stats.refused['key-mismatch']], ['key-mismatch', false, 2], 'the route reply\'s and this one')
    assert.deepEqual(chatOf(t.atC).map(([text]) => text), ['secret for C only'])
  })

  it('cuts a link after maxInvalidMessages forgeries, with the last refusal\'s closed flag and peer:disconnect', async () => {
    const t = await trio({ c: { overlay: { maxInvalidMessages: 3 } } })
    t.tamper.rewrite = (msg, frame) => isSignedFrom(frame, t.a.id) ? asBytes(edited(frame, 'forged', 'FORGED')) : msg
    const closedFlags: boolean[] = []
    t.c.on('message:refused', ({ closed }) => { closedFlags.push(closed) })
    const gone = once(t.c, 'peer:disconnect')
    for (const text of ['forged-1', 'forged-2', 'forged-3']) await t.a.broadcast(text)
    const [{ peer, reason }] = await within(gone, 'the cut')
    assert.equal(peer.id, t.m.id)
    assert.equal((reason as { code?: string }).code, 'ERR_UNTRUSTED_MESSAGE')
    assert.deepEqual(closedFlags, [false, false, true])
    assert.deepEqual(t.atC, [])
  })
})

describe('end-to-end modes', () => {
  it('\'preferred\' delivers unsigned broadcasts marked unverified; \'off\' sends them; \'required\' refuses them', async () => {
    const t = await trio({ all: { overlay: { endToEnd: 'off' } }, c: { overlay: { endToEnd: 'preferred' } } })
    const arrived = once(t.c, 'chat')
    await t.a.broadcast('plain GOSSIP from an \'off\' node')
    const [msg] = await within(arrived, 'the unsigned broadcast')
    assert.deepEqual([msg.text, msg.origin.id, msg.authenticity], ['plain GOSSIP from an \'off\' node', t.a.id, 'unverified'])

    const strict = await trio({ all: { overlay: { endToEnd: 'off' } }, c: { overlay: { endToEnd: 'required' } }, formed: false })
    const refused = once(strict.c, 'message:refused')
    await strict.a.broadcast('unsigned, to a node that requires signatures')
    const [{ error, peer }] = await within(refused, 'the refusal')
    assert.deepEqual([error.reason, peer.id], ['unsigned', strict.m.id])
    assert.deepEqual(strict.atC, [])
  })

  it('marks a message sent straight over a link as link', async () => {
    const t = await trio()
    const direct = once(t.m, 'chat')
    await t.a.send(t.m.id, 'over the link')
    const [msg] = await within(direct, 'the direct message')
    assert.deepEqual([msg.origin.id, msg.hops, msg.authenticity], [t.a.id, 1, 'link'])
  })
})

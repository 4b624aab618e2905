import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MessageClassifier } from '../../transforms/classifier.js'
import { handshake, type Admission, type HandshakeOptions, type RemoteHello } from '../../transforms/handshake.js'
import type { Message } from '../../transforms/core/line-protocol.js'
import { activeTimers, PENDING, settled, waitFor } from '../../harness/async.js'
import { Batches, FakeLink, finish } from '../support/pipeline.js'

interface Setup {
  link: FakeLink
  source: Batches
  admitted: RemoteHello[]
  out: AsyncGenerator<Message[]>
  /** Classifies raw lines in the role's order, so inputs read like the wire. */
  lines: (...lines: string[]) => Message[]
}

function setup (role: 'dialer' | 'listener', opts: { verdict?: Admission, peers?: string[] } & Partial<HandshakeOptions> = {}): Setup {
  const link = new FakeLink()
  const source = new Batches()
  const admitted: RemoteHello[] = []
  const classifier = new MessageClassifier(role)
  const { verdict = 'accept', peers = [], ...rest } = opts
  const out = handshake({
    role,
    link,
    local: { id: 'local-id', name: 'Local' },
    listenAddress: '127.0.0.1:4000',
    dialedAddress: '127.0.0.1:5000',
    remoteHost: '192.168.1.9',
    admit: remote => { admitted.push(remote); return verdict },
    peersToShare: () => peers,
    timeout: 2000,
    ...rest
  })(source) as AsyncGenerator<Message[]>
  const lines = (...raw: string[]): Message[] => raw.map(l => classifier.classify(l)).filter((m): m is Message => m !== undefined)
  return { link, source, admitted, out, lines }
}

const HELLO = 'local-id:Local'

describe('handshake: dialer', () => {
  it('sends its hello and LISTEN at once, before the listener says anything', async () => {
    const { link, source, out } = setup('dialer')
    const first = out.next()
    await waitFor(() => link.sent.length >= 2, 'hello and LISTEN')
    assert.deepEqual(link.lines, [HELLO, 'LISTEN:127.0.0.1:4000'])
    assert.equal(await settled(first), PENDING, 'the link is not up before the answer')
    source.end()
    await assert.rejects(first, { code: 'ERR_INVALID_HANDSHAKE' })
  })

  it('accepts a hello, then sends PEERS and REQUEST_PEERS, and yields one empty batch', async () => {
    const { link, source, admitted, out, lines } = setup('dialer', { peers: ['10.0.0.1:1', '10.0.0.2:2'] })
    source.push(lines('remote-id:Remote'))
    assert.deepEqual(await out.next(), { value: [], done: false })
    assert.deepEqual(link.lines, [HELLO, 'LISTEN:127.0.0.1:4000', 'PEERS:10.0.0.1:1,10.0.0.2:2', 'REQUEST_PEERS'])
    assert.deepEqual(admitted, [{ id: 'remote-id', name: 'Remote', listenAddress: '127.0.0.1:5000' }])
    assert.deepEqual(link.closes, [])
  })

  it('sends no PEERS when it has none to share', async () => {
    const { link, source, out, lines } = setup('dialer')
    source.push(lines('remote-id:Remote'))
    await out.next()
    assert.deepEqual(link.lines, [HELLO, 'LISTEN:127.0.0.1:4000', 'REQUEST_PEERS'])
  })

  it('names the remote by its id when it sent no name', async () => {
    for (const hello of ['remote-id:', 'remote-id']) {
      const { source, admitted, out, lines } = setup('dialer')
      source.push(lines(hello))
      await out.next()
      assert.equal(admitted[0]?.name, 'remote-id', hello)
    }
  })

  it('passes on the messages that arrive in the same batch as the answer, then everything after', async () => {
    const { source, out, lines } = setup('dialer')
    source.push(lines('remote-id:Remote', 'PEERS:10.0.0.3:3', 'PING', 'hello there'))
    assert.deepEqual(await out.next(), {
      value: [{ type: 'peers', addresses: ['10.0.0.3:3'] }, { type: 'ping' }, { type: 'chat', text: 'hello there' }],
      done: false
    })
    source.push(lines('later'))
    source.push([])
    assert.deepEqual(await out.next(), { value: [{ type: 'chat', text: 'later' }], done: false })
    assert.deepEqual(await out.next(), { value: [], done: false }, 'an empty batch is a sign of life, passed on')
    source.end()
    assert.equal((await out.next()).done, true)
  })

  for (const [answer, code] of [['DUPLICATE', 'ERR_DUPLICATE_PEER'], ['MAX_PEERS', 'ERR_MAX_PEERS']]) {
    it(`fails with ${code} when the listener answers ${answer}, sending nothing more`, async () => {
      const { link, source, admitted, out, lines } = setup('dialer', { peers: ['10.0.0.1:1'] })
      source.push(lines(answer as string))
      await assert.rejects(out.next(), { code })
      assert.deepEqual(admitted, [])
      assert.deepEqual(link.lines, [HELLO, 'LISTEN:127.0.0.1:4000'])
    })
  }

  for (const [verdict, code] of [['self', 'ERR_SELF_CONNECTION'], ['duplicate', 'ERR_DUPLICATE_PEER'], ['max-peers', 'ERR_MAX_PEERS']] as const) {
    it(`fails with ${code} when it refuses the listener as ${verdict}, sending no refusal line`, async () => {
      const { link, source, out, lines } = setup('dialer', { verdict, peers: ['10.0.0.1:1'] })
      source.push(lines('remote-id:Remote'))
      await assert.rejects(out.next(), { code })
      assert.deepEqual(link.lines, [HELLO, 'LISTEN:127.0.0.1:4000'])
    })
  }

  it('fails with ERR_INVALID_HANDSHAKE when the connection ends before the answer', async () => {
    const { source, out } = setup('dialer')
    source.end()
    await assert.rejects(out.next(), { code: 'ERR_INVALID_HANDSHAKE' })
  })
})

describe('handshake: listener', () => {
  it('reads hello and LISTEN, admits the remote, then answers its hello and PEERS', async () => {
    const { link, source, admitted, out, lines } = setup('listener', { peers: ['10.0.0.1:1'] })
    source.push(lines('remote-id:Remote', 'LISTEN:10.1.2.3:7000'))
    assert.deepEqual(await out.next(), { value: [], done: false })
    assert.deepEqual(admitted, [{ id: 'remote-id', name: 'Remote', listenAddress: '10.1.2.3:7000' }])
    assert.deepEqual(link.lines, [HELLO, 'PEERS:10.0.0.1:1'], 'a listener does not send REQUEST_PEERS')
  })

  it('sends only its hello when it has no peers to share', async () => {
    const { link, source, out, lines } = setup('listener')
    source.push(lines('remote-id:Remote', 'LISTEN:10.1.2.3:7000'))
    await out.next()
    assert.deepEqual(link.lines, [HELLO])
  })

  it('sends nothing before the hello, and waits for LISTEN in a later batch', async () => {
    const { link, source, admitted, out, lines } = setup('listener')
    const first = out.next()
    source.push(lines('remote-id:Remote'))
    assert.equal(await settled(first), PENDING)
    assert.equal(link.sent.length, 0)
    assert.equal(admitted.length, 0, 'admit waits for LISTEN')
    source.push(lines('LISTEN:10.1.2.3:7000'))
    assert.deepEqual(await first, { value: [], done: false })
    assert.equal(admitted[0]?.listenAddress, '10.1.2.3:7000')
  })

  for (const [listen, expected] of [
    ['0.0.0.0:7000', '192.168.1.9:7000'],
    ['[::]:7000', '192.168.1.9:7000'],
    // What a peer bound to '' (all interfaces, as in Python) announces.
    [':7000', '192.168.1.9:7000'],
    ['Host.Example:7000', 'host.example:7000'],
    ['::1:7000', '[::1]:7000']
  ]) {
    it(`reads LISTEN:${listen as string} as ${expected as string} (a wildcard host becomes the socket's remote host)`, async () => {
      const { source, admitted, out, lines } = setup('listener')
      source.push(lines('remote-id:Remote', `LISTEN:${listen as string}`))
      await out.next()
      assert.equal(admitted[0]?.listenAddress, expected)
    })
  }

  it('fails with ERR_INVALID_HANDSHAKE on a malformed LISTEN address, admitting nobody', async () => {
    const { link, source, admitted, out, lines } = setup('listener')
    source.push(lines('remote-id:Remote', 'LISTEN:no port here'))
    await assert.rejects(out.next(), { code: 'ERR_INVALID_HANDSHAKE' })
    assert.deepEqual(admitted, [])
    assert.deepEqual(link.sent, [])
  })

  it('admits a dialer that sends no LISTEN, passing its next message on', async () => {
    const { source, admitted, out, lines } = setup('listener')
    source.push(lines('remote-id:Remote', 'hi', 'PING'))
    assert.deepEqual(await out.next(), { value: [{ type: 'chat', text: 'hi' }, { type: 'ping' }], done: false })
    assert.deepEqual(admitted, [{ id: 'remote-id', name: 'Remote' }])
  })

  it('passes on the messages that arrive in the same batch right after LISTEN', async () => {
    const { source, out, lines } = setup('listener')
    source.push(lines('remote-id:Remote', 'LISTEN:10.1.2.3:7000', 'REQUEST_PEERS', 'first words'))
    assert.deepEqual(await out.next(), { value: [{ type: 'request-peers' }, { type: 'chat', text: 'first words' }], done: false })
    source.push(lines('PONG'))
    assert.deepEqual(await out.next(), { value: [{ type: 'pong' }], done: false })
  })

  for (const [verdict, line, code] of [['duplicate', 'DUPLICATE', 'ERR_DUPLICATE_PEER'], ['max-peers', 'MAX_PEERS', 'ERR_MAX_PEERS']] as const) {
    it(`answers ${line} and fails with ${code} when admit says ${verdict}`, async () => {
      const { link, source, out, lines } = setup('listener', { verdict, peers: ['10.0.0.1:1'] })
      source.push(lines('remote-id:Remote', 'LISTEN:10.1.2.3:7000', 'hi'))
      await assert.rejects(out.next(), { code })
      assert.deepEqual(link.lines, [line], 'no hello, no PEERS')
    })
  }

  it('answers its own hello, so a dialer that is itself sees its id, and fails with ERR_SELF_CONNECTION', async () => {
    const { link, source, out, lines } = setup('listener', { verdict: 'self', peers: ['10.0.0.1:1'] })
    source.push(lines('local-id:Local', 'LISTEN:127.0.0.1:4000'))
    await assert.rejects(out.next(), { code: 'ERR_SELF_CONNECTION' })
    assert.deepEqual(link.lines, [HELLO], 'no PEERS')
  })

  it('fails with ERR_INVALID_HANDSHAKE when the first message is not a hello', async () => {
    // A listener's classifier always reads the first line as a hello; a payload is not one.
    const { source, out } = setup('listener')
    source.push([{ type: 'bytes', data: new Uint8Array([1]) }])
    await assert.rejects(out.next(), { code: 'ERR_INVALID_HANDSHAKE' })
  })
})

describe('handshake: invalid hello', () => {
  const cases: Array<[string, string]> = [
    ['empty id', ':Remote'],
    ['a line that is only ":"', ':'],
    ['a space in the id', 'remote id:Remote'],
    ['a tab in the id', 'remote\tid:Remote'],
    ['a control character in the id', 'remote\x01id:Remote'],
    ['DEL in the id', 'remote\x7fid:Remote'],
    ['a non-ASCII id', 'rémote:Remote'],
    ['a 200-character id', `${'a'.repeat(200)}:Remote`],
    ['a control character in the name', 'remote-id:Re\x07mote'],
    ['a 300-character name', `remote-id:${'n'.repeat(300)}`]
  ]
  for (const role of ['listener', 'dialer'] as const) {
    for (const [what, hello] of cases) {
      it(`${role}: refuses ${what} with ERR_INVALID_HANDSHAKE, admitting nobody`, async () => {
        const { link, source, admitted, out, lines } = setup(role)
        source.push(lines(hello, 'LISTEN:10.1.2.3:7000'))
        await assert.rejects(out.next(), { code: 'ERR_INVALID_HANDSHAKE' })
        assert.deepEqual(admitted, [])
        assert.equal(link.sent.length, role === 'dialer' ? 2 : 0, 'nothing sent in answer')
      })
    }
  }

  it('accepts the longest allowed id and name, and any printable ASCII id without ":"', async () => {
    const id = '!"#$%&\'()*+,-./0123456789;<=>?@AZ[\\]^_`az{|}~'
    for (const hello of [`${'a'.repeat(128)}:${'n'.repeat(256)}`, `${id}:name: with colons`]) {
      const { source, admitted, out, lines } = setup('listener')
      source.push(lines(hello, 'LISTEN:10.1.2.3:7000'))
      await out.next()
      assert.equal(admitted.length, 1, hello)
    }
  })
})

describe('handshake: timeout', () => {
  const TIMEOUT = 80

  for (const role of ['dialer', 'listener'] as const) {
    it(`${role}: fails with ERR_HANDSHAKE_TIMEOUT when the peer never answers`, async () => {
      const { out } = setup(role, { timeout: TIMEOUT })
      const start = Date.now()
      await assert.rejects(out.next(), { code: 'ERR_HANDSHAKE_TIMEOUT' })
      const elapsed = Date.now() - start
      assert.ok(elapsed >= TIMEOUT - 5 && elapsed < TIMEOUT + 500, `failed after ${elapsed} ms, timeout ${TIMEOUT} ms`)
    })
  }

  it('listener: fails with ERR_HANDSHAKE_TIMEOUT when the dialer sends its hello and then nothing', async () => {
    const { source, out, admitted, lines } = setup('listener', { timeout: TIMEOUT })
    source.push(lines('remote-id:Remote'))
    await assert.rejects(out.next(), { code: 'ERR_HANDSHAKE_TIMEOUT' })
    assert.deepEqual(admitted, [])
  })

  it('leaves no timer running once the handshake is done', async () => {
    const before = activeTimers()
    const { source, out, lines } = setup('dialer', { timeout: 60_000 })
    source.push(lines('remote-id:Remote'))
    await out.next()
    assert.equal(activeTimers(), before, 'the handshake timer must be cleared on success')
    source.end()
    assert.equal((await out.next()).done, true)
  })
})

describe('handshake: established', () => {
  for (const role of ['listener', 'dialer'] as const) {
    it(`as ${role}, reports the link up only after its own lines are queued`, async () => {
      const linesAtEstablished: string[][] = []
      const { link, source, out, lines } = setup(role, {
        peers: ['10.0.0.7:7000'],
        onEstablished: () => { linesAtEstablished.push([...link.lines]) }
      })
      source.push(lines('remote-id:Remote', ...(role === 'listener' ? ['LISTEN:10.1.2.3:7000'] : [])))
      await out.next()
      const expected = role === 'listener'
        ? [HELLO, 'PEERS:10.0.0.7:7000']
        : [HELLO, 'LISTEN:127.0.0.1:4000', 'PEERS:10.0.0.7:7000', 'REQUEST_PEERS']
      assert.deepEqual(linesAtEstablished, [expected])
      await finish(source, out)
    })
  }

  it('does not report a refused remote as established', async () => {
    let established = 0
    const { source, out, lines } = setup('listener', { verdict: 'duplicate', onEstablished: () => { established++ } })
    source.push(lines('remote-id:Remote', 'LISTEN:10.1.2.3:7000'))
    await assert.rejects(out.next(), { code: 'ERR_DUPLICATE_PEER' })
    assert.equal(established, 0)
  })
})

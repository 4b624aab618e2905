import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import { classifier, classifyLine, MessageClassifier, parsePeersLine, type HandshakeRole } from '../../transforms/classifier.js'
import { PING_MESSAGE, PONG_MESSAGE, REQUEST_PEERS_MESSAGE, type Frame, type Message } from '../../transforms/core/line-protocol.js'
import { from } from '../support/pipeline.js'

function classifyAll (role: HandshakeRole, frames: Frame[]): Message[] {
  const core = new MessageClassifier(role)
  const out: Message[] = []
  for (const frame of frames) {
    const msg = core.classify(frame)
    if (msg !== undefined) out.push(msg)
  }
  return out
}

describe('classifyLine', () => {
  it('reads control words as shared singletons', () => {
    assert.equal(classifyLine('PING'), PING_MESSAGE)
    assert.equal(classifyLine('PONG'), PONG_MESSAGE)
    assert.equal(classifyLine('REQUEST_PEERS'), REQUEST_PEERS_MESSAGE)
  })

  it('reads anything else as chat, including near misses of control words', () => {
    for (const text of ['hello', 'ping', 'PINGS', 'PING PONG', 'REQUEST_PEERS:', 'PEERS', 'id:name', 'DUPLICATE', 'MAX_PEERS', 'LISTEN:1.2.3.4:5']) {
      assert.deepEqual(classifyLine(text), { type: 'chat', text })
    }
  })
})

describe('parsePeersLine', () => {
  it('normalises well-formed entries and keeps malformed ones in rejected', () => {
    assert.deepEqual(parsePeersLine('PEERS:1.2.3.4:5,[::1]:7, Host.Example:80 ,,bad,host:0,a b:1,[::1]80,h:99999'), {
      type: 'peers',
      addresses: ['1.2.3.4:5', '[::1]:7', 'host.example:80'],
      rejected: ['bad', 'host:0', 'a b:1', '[::1]80', 'h:99999']
    })
  })

  it('has no rejected field when every entry is well formed', () => {
    assert.deepEqual(parsePeersLine('PEERS:a:1,b:2'), { type: 'peers', addresses: ['a:1', 'b:2'] })
  })

  it('reads an empty list', () => {
    assert.deepEqual(parsePeersLine('PEERS:'), { type: 'peers', addresses: [] })
    assert.deepEqual(parsePeersLine('PEERS:,, ,'), { type: 'peers', addresses: [] })
  })
})

describe('MessageClassifier: role none', () => {
  it('reads every line as a control line or chat, with no handshake', () => {
    assert.deepEqual(classifyAll('none', ['a:b', 'DUPLICATE', 'LISTEN:h:1', 'PING', 'PEERS:h:1']), [
      { type: 'chat', text: 'a:b' },
      { type: 'chat', text: 'DUPLICATE' },
      { type: 'chat', text: 'LISTEN:h:1' },
      PING_MESSAGE,
      { type: 'peers', addresses: ['h:1'] }
    ])
  })

  it('is the default role', () => {
    assert.deepEqual(new MessageClassifier().classify('id:name'), { type: 'chat', text: 'id:name' })
  })

  it('wraps payloads as bytes messages without copying', () => {
    const payload = new Uint8ArrayList(new Uint8Array([1, 2]))
    const msg = new MessageClassifier().classify(payload)
    assert.ok(msg?.type === 'bytes' && msg.data === payload)
  })

  it('returns undefined for a blank line', () => {
    assert.equal(new MessageClassifier().classify(''), undefined)
  })
})

describe('MessageClassifier: hello lines', () => {
  for (const [line, id, name] of [
    ['abc:Alice', 'abc', 'Alice'],
    ['abc:', 'abc', ''],
    ['abc:Al:ice:', 'abc', 'Al:ice:'],
    ['abc', 'abc', ''],
    [':name', '', 'name']
  ] as const) {
    it(`reads ${JSON.stringify(line)} as id ${JSON.stringify(id)}, name ${JSON.stringify(name)}`, () => {
      assert.deepEqual(classifyAll('listener', [line]), [{ type: 'hello', id, name }])
      assert.deepEqual(classifyAll('dialer', [line]), [{ type: 'hello', id, name }])
    })
  }

  it('reads only the first line as hello', () => {
    assert.deepEqual(classifyAll('dialer', ['a:b', 'c:d']), [{ type: 'hello', id: 'a', name: 'b' }, { type: 'chat', text: 'c:d' }])
    assert.deepEqual(classifyAll('listener', ['a:b', 'c:d']), [{ type: 'hello', id: 'a', name: 'b' }, { type: 'chat', text: 'c:d' }])
  })

  it('does not count blank lines after the hello as handshake lines', () => {
    assert.deepEqual(classifyAll('listener', ['a:b', '', 'LISTEN:h:1', '']), [
      { type: 'hello', id: 'a', name: 'b' },
      { type: 'listen', address: 'h:1' }
    ])
  })

  it('reads a blank line where the hello belongs as an empty hello, for the handshake to refuse', () => {
    for (const role of ['listener', 'dialer'] as const) {
      assert.deepEqual(classifyAll(role, ['', 'a:b']), [{ type: 'hello', id: '', name: '' }, { type: 'chat', text: 'a:b' }])
    }
  })
})

describe('MessageClassifier: LISTEN', () => {
  it('reads LISTEN as the listener\'s second line', () => {
    assert.deepEqual(classifyAll('listener', ['a:b', 'LISTEN:10.0.0.1:4000', 'PING']), [
      { type: 'hello', id: 'a', name: 'b' },
      { type: 'listen', address: '10.0.0.1:4000' },
      PING_MESSAGE
    ])
  })

  it('reads a second line other than LISTEN as usual', () => {
    assert.deepEqual(classifyAll('listener', ['a:b', 'PING', 'LISTEN:h:1']), [
      { type: 'hello', id: 'a', name: 'b' },
      PING_MESSAGE,
      { type: 'chat', text: 'LISTEN:h:1' }
    ])
  })

  it('reads LISTEN as hello in first place and as chat for a dialer', () => {
    assert.deepEqual(classifyAll('listener', ['LISTEN:h:1']), [{ type: 'hello', id: 'LISTEN', name: 'h:1' }])
    assert.deepEqual(classifyAll('dialer', ['a:b', 'LISTEN:h:1']), [{ type: 'hello', id: 'a', name: 'b' }, { type: 'chat', text: 'LISTEN:h:1' }])
  })
})

describe('MessageClassifier: DUPLICATE and MAX_PEERS', () => {
  it('reads them as the dialer\'s first line', () => {
    assert.deepEqual(classifyAll('dialer', ['DUPLICATE']), [{ type: 'duplicate' }])
    assert.deepEqual(classifyAll('dialer', ['MAX_PEERS']), [{ type: 'max-peers' }])
  })

  it('reads them as chat anywhere else', () => {
    assert.deepEqual(classifyAll('dialer', ['a:b', 'DUPLICATE', 'MAX_PEERS']), [
      { type: 'hello', id: 'a', name: 'b' },
      { type: 'chat', text: 'DUPLICATE' },
      { type: 'chat', text: 'MAX_PEERS' }
    ])
    assert.deepEqual(classifyAll('listener', ['DUPLICATE', 'MAX_PEERS']), [
      { type: 'hello', id: 'DUPLICATE', name: '' },
      { type: 'chat', text: 'MAX_PEERS' }
    ])
  })
})

describe('classifier', () => {
  it('yields one batch per input batch, empty when every frame was blank', async () => {
    const batches: Message[][] = []
    for await (const batch of classifier()(from<Frame[]>([[''], ['PING', ''], []]))) batches.push(batch)
    assert.deepEqual(batches, [[], [PING_MESSAGE], []])
  })

  it('keeps the handshake position across batches', async () => {
    const batches: Message[][] = []
    for await (const batch of classifier({ role: 'listener' })(from<Frame[]>([['id:n'], [''], ['LISTEN:h:2', 'hi']]))) batches.push(batch)
    assert.deepEqual(batches, [
      [{ type: 'hello', id: 'id', name: 'n' }],
      [],
      [{ type: 'listen', address: 'h:2' }, { type: 'chat', text: 'hi' }]
    ])
  })
})

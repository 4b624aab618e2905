import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertChatText, chatMessage, formatAddress, isCheckedChat, normalizeAddress, parseAddress, trimAscii } from '../../transforms/core/line-protocol.js'
import { FrameEncoder } from '../../transforms/encoder.js'

describe('wire: addresses', () => {
  it('parses host:port and bracketed IPv6', () => {
    assert.deepEqual(parseAddress('127.0.0.1:5000'), { host: '127.0.0.1', port: 5000 })
    assert.deepEqual(parseAddress('[::1]:7'), { host: '::1', port: 7 })
    assert.equal(formatAddress('::1', 7), '[::1]:7')
    assert.equal(normalizeAddress('LocalHost:80'), 'localhost:80')
  })

  for (const bad of ['a', ':', 'host:99999', 'host:-1', 'host:0', ':80', 'a b:80', '::1:80', '[::1]80', 'h:1e3']) {
    it(`rejects ${JSON.stringify(bad)} with ERR_INVALID_ADDRESS`, () => {
      assert.throws(() => parseAddress(bad), { code: 'ERR_INVALID_ADDRESS' })
    })
  }
})

describe('wire: chat text', () => {
  it('trims ASCII whitespace only', () => {
    assert.equal(trimAscii(' \t\r hi \r\n'), 'hi')
    assert.equal(trimAscii('\u00a0hi\u00a0'), '\u00a0hi\u00a0')
  })

  for (const bad of ['a\nb', '', '   ', 'PING', ' PONG ', 'REQUEST_PEERS', 'PEERS:x', 'BYTES:5', 'nul\0']) {
    it(`refuses chat text ${JSON.stringify(bad)} with ERR_INVALID_MESSAGE`, () => {
      assert.throws(() => { assertChatText(bad) }, { code: 'ERR_INVALID_MESSAGE' })
    })
  }

  it('accepts ordinary text, including colons and control-word look-alikes', () => {
    for (const ok of ['hello', 'id:name', 'PINGS', 'DUPLICATE', 'LISTEN:1.2.3.4:5']) assertChatText(ok)
  })
})

describe('wire: chat text is well-formed', () => {
  it('refuses a lone surrogate, accepts a surrogate pair', () => {
    assert.throws(() => { assertChatText('a\uD800b') }, { code: 'ERR_INVALID_MESSAGE' })
    assert.throws(() => { assertChatText('a\uDC00') }, { code: 'ERR_INVALID_MESSAGE' })
    assertChatText('emoji \u{1F600} ok')
  })
})

describe('wire: chat checked once', () => {
  it('chatMessage() refuses what assertChatText() refuses, and marks what it accepts', () => {
    assert.throws(() => chatMessage('BYTES:5'), (err: unknown) => (err as { code?: string }).code === 'ERR_INVALID_MESSAGE')
    const msg = chatMessage('hello')
    assert.deepEqual({ type: msg.type, text: msg.text }, { type: 'chat', text: 'hello' })
    assert.equal(isCheckedChat(msg), true)
    assert.equal(isCheckedChat({ type: 'chat', text: 'hello' }), false)
  })

  it('does not pass its mark on to a copy, nor keep it once its text changes', () => {
    const msg = chatMessage('bytes:5')
    const shouted = { ...msg, text: msg.text.toUpperCase() }
    assert.equal(isCheckedChat(shouted), false, 'a transform\'s copy is checked by the encoder')
    assert.equal(isCheckedChat({ ...msg }), false, 'even an unchanged copy')
    ;(msg as { text: string }).text = 'BYTES:5'
    assert.equal(isCheckedChat(msg), false, 'a changed text is checked by the encoder')
    assert.throws(() => new FrameEncoder().encode([msg]), { code: 'ERR_INVALID_MESSAGE' })
  })
})

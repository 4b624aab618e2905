/**
 * Checks at the API boundary, for JavaScript callers: unknown options with
 * a suggestion, required options, arguments of the wrong type, and every
 * transform factory refusing a wrong option when it is called, not when a
 * message arrives.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { applyTable, checkArgument, closest, required } from '../../transforms/core/option-table.js'
import { classifier, composeTransforms, discovery, encoder, frameDecoder, handshake, heartbeat, lineFramer, mapMessages } from '../../transforms/index.js'

function refused (fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => (err as { code?: string }).code === code && message.test((err as Error).message))
}

const link = { send: async () => {}, close: () => {} }

describe('API boundary checks', () => {
  it('refuses an unknown option, suggesting the closest known name', () => {
    const table = { maxLineLength: { default: 1 }, peerTimeout: { default: 2 } }
    refused(() => applyTable(table, { maxlinelength: 3 } as object), 'ERR_INVALID_OPTION', /Unknown option `maxlinelength`; did you mean `maxLineLength`\?/)
    refused(() => applyTable(table, { peerTimeuot: 3 } as object), 'ERR_INVALID_OPTION', /did you mean `peerTimeout`/)
    refused(() => applyTable(table, { wholly: 3 } as object), 'ERR_INVALID_OPTION', /^Unknown option `wholly`$/)
    refused(() => applyTable(table, { constructor: 3 } as object), 'ERR_INVALID_OPTION', /Unknown option `constructor`/)
    refused(() => applyTable(table, 'options' as unknown as object), 'ERR_INVALID_OPTION', /Expected `options` to be an object, got "options"/)
    assert.equal(closest('maxpeers', ['maxPeers', 'peerTimeout']), 'maxPeers')
    assert.equal(closest('zzz', ['maxPeers']), undefined)
  })

  it('refuses a missing required option and an argument of the wrong type, naming it', () => {
    refused(() => applyTable({ onPeers: required<() => void>('a function', v => typeof v === 'function') }, {}), 'ERR_INVALID_OPTION', /Expected `onPeers` to be a function, got undefined/)
    refused(() => { checkArgument('text', 'a string', 42, v => typeof v === 'string') }, 'ERR_INVALID_ARGUMENT', /Expected `text` to be a string, got 42/)
  })

  it('has every transform factory check its options when called', () => {
    refused(() => lineFramer({ maxLineLength: 0 }), 'ERR_INVALID_OPTION', /`maxLineLength`/)
    refused(() => frameDecoder({ maxBytesPerMessage: -1 }), 'ERR_INVALID_OPTION', /`maxBytesPerMessage`/)
    refused(() => frameDecoder({ maxLineLenght: 10 } as object), 'ERR_INVALID_OPTION', /did you mean `maxLineLength`/)
    refused(() => classifier({ role: 'server' as 'none' }), 'ERR_INVALID_OPTION', /`role` to be one of 'dialer', 'listener', 'none'/)
    refused(() => encoder({ copyLimit: 'big' as unknown as number }), 'ERR_INVALID_OPTION', /`copyLimit`/)
    refused(() => heartbeat({ link, peerTimeout: 0 }), 'ERR_INVALID_OPTION', /`peerTimeout`/)
    refused(() => heartbeat({} as never), 'ERR_INVALID_OPTION', /`link` to be a Link/)
    refused(() => discovery({ link, peersToShare: () => [] } as never), 'ERR_INVALID_OPTION', /`onPeers` to be a function/)
    refused(() => handshake({ role: 'client', link, local: { id: 'a', name: 'a' }, listenAddress: 'h:1', admit: () => 'accept', peersToShare: () => [] } as never), 'ERR_INVALID_OPTION', /`role` to be 'dialer' or 'listener'/)
    refused(() => mapMessages('upper' as never), 'ERR_INVALID_ARGUMENT', /`fn`/)
    refused(() => composeTransforms([mapMessages(m => m), 'x'] as never), 'ERR_INVALID_ARGUMENT', /`transforms`/)
  })

  it('refuses a single message given to the encoder where a batch belongs', async () => {
    const encode = encoder()
    const source = (async function * () { yield { type: 'chat', text: 'hi' } as never })()
    await assert.rejects(async () => { for await (const _ of encode(source)) assert.fail('nothing is encoded') }, (err: unknown) => (err as { code?: string }).code === 'ERR_INVALID_ARGUMENT')
  })
})

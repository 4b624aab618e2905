import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_OPTIONS, NODE_OPTIONS, resolveOptions } from '../../lib/options/node-options.js'
import { applyTable, checked, defaultText, defaultsOf, integer, oneOf, type OptionTable } from '../../transforms/core/option-table.js'
import { DEFAULT_OVERLAY_OPTIONS, OVERLAY_OPTIONS, resolveOverlayOptions } from '../../lib/options/overlay-options.js'
import { InvalidOptionError } from '../../lib/errors.js'

interface Sample { count?: number, mode?: 'a' | 'b', label?: string }
const SAMPLE: OptionTable<Sample> = {
  count: integer(3, 1, { max: 9, unit: 'ms' }),
  mode: oneOf<'a' | 'b'>('a', ['a', 'b']),
  label: checked<string | undefined>(undefined, 'a non-empty string', value => typeof value === 'string' && value.length > 0, 'no label')
}

function refused (fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof InvalidOptionError && err.code === 'ERR_INVALID_OPTION' && message.test(err.message))
}

describe('option tables', () => {
  it('fills in every default and keeps what was given', () => {
    assert.deepEqual(applyTable(SAMPLE, {}), { count: 3, mode: 'a', label: undefined })
    assert.deepEqual(applyTable(SAMPLE, { count: 9, mode: 'b', label: 'x' }), { count: 9, mode: 'b', label: 'x' })
    assert.deepEqual(defaultsOf(SAMPLE), { count: 3, mode: 'a', label: undefined })
  })

  it('refuses each wrong value with a message naming the option and what it must be', () => {
    refused(() => applyTable(SAMPLE, { count: 0 }), /`count` to be an integer from 1 to 9, got 0/)
    refused(() => applyTable(SAMPLE, { count: 10 }), /`count`/)
    refused(() => applyTable(SAMPLE, { count: 1.5 }), /`count`/)
    refused(() => applyTable(SAMPLE, { mode: 'c' as 'a' }), /`mode` to be one of 'a', 'b', got "c"/)
    refused(() => applyTable(SAMPLE, { label: '' }, 'sample.'), /`sample\.label` to be a non-empty string/)
  })

  it('writes defaults for people: byte sizes in KiB and MiB, strings quoted, the text given where there is one', () => {
    assert.equal(defaultText(NODE_OPTIONS.maxLineLength), '65536 (64 KiB)')
    assert.equal(defaultText(NODE_OPTIONS.maxBytesPerMessage), '16777216 (16 MiB)')
    assert.equal(defaultText(NODE_OPTIONS.host), "'0.0.0.0'")
    assert.equal(defaultText(NODE_OPTIONS.inbound), '[]')
    assert.equal(defaultText(SAMPLE.label), 'no label')
    assert.equal(defaultText(SAMPLE.count), '3')
  })

  it('gives the node and the overlay the defaults their tables hold', () => {
    const resolved = resolveOptions({})
    for (const [name, value] of Object.entries(DEFAULT_OPTIONS)) assert.deepEqual(resolved[name as keyof typeof resolved], value, name)
    for (const [name, spec] of Object.entries(OVERLAY_OPTIONS)) assert.equal(DEFAULT_OVERLAY_OPTIONS[name as keyof typeof DEFAULT_OVERLAY_OPTIONS], spec.default, name)
    assert.deepEqual(resolveOverlayOptions({}), DEFAULT_OVERLAY_OPTIONS)
  })

  it('gives an overlay node room for twice its neighbours unless maxPeers is set, and never less than 10', () => {
    assert.equal(resolveOptions({}).maxPeers, 10)
    assert.equal(resolveOptions({ topology: 'overlay' }).maxPeers, 2 * DEFAULT_OVERLAY_OPTIONS.activeViewSize)
    assert.equal(resolveOptions({ topology: 'overlay', overlay: { activeViewSize: 3 } }).maxPeers, 10)
    assert.equal(resolveOptions({ topology: 'overlay', overlay: { activeViewSize: 12 } }).maxPeers, 24)
    assert.equal(resolveOptions({ topology: 'overlay', maxPeers: 12 }).maxPeers, 12)
  })

  it('checks each node option against its entry, and the rules that join several', () => {
    refused(() => resolveOptions({ maxPeers: 0 }), /`maxPeers` to be an integer >= 1/)
    refused(() => resolveOptions({ port: 65536 }), /`port` to be an integer from 0 to 65535/)
    refused(() => resolveOptions({ id: 'a:b' }), /`id`/)
    refused(() => resolveOptions({ secure: 'off', allow: [] }), /`secure`/)
    refused(() => resolveOptions({ topology: 'overlay', maxPeers: 5 }), /`overlay\.activeViewSize` to be below maxPeers \(5\)/)
    refused(() => resolveOptions({ overlay: { maxHops: 256 } }), /`overlay\.maxHops` to be an integer from 1 to 255/)
    refused(() => resolveOptions({ overlay: { seenTtl: 10, cacheTtl: 20 } }), /`overlay\.seenTtl`/)
  })
})

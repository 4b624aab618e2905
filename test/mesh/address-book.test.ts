import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { AddressBook } from '../../lib/mesh/address-book.js'

describe('AddressBook', () => {
  it('holds at most its capacity, forgetting the least recently heard unconnected address', () => {
    const book = new AddressBook(3)
    for (const [at, address] of ['a:1', 'b:1', 'c:1'].entries()) assert.equal(book.add(address, at), true)
    book.add('a:1', 3)
    assert.equal(book.add('d:1', 4), true)
    assert.equal(book.size, 3)
    assert.deepEqual(book.list().map(k => k.address).sort(), ['a:1', 'c:1', 'd:1'])
  })

  it('forgets addresses it never dialled before ones known to work, and never a connected one', () => {
    const book = new AddressBook(3)
    book.add('dialed:1')
    book.markDialed('dialed:1')
    book.add('connected:1')
    book.setConnected('connected:1', true)
    book.add('heard:1')
    // A flood of new addresses only ever replaces the hearsay.
    for (let i = 2; i < 100; i++) assert.equal(book.add(`heard:${i}`), true)
    assert.deepEqual(book.list().map(k => k.address).sort(), ['connected:1', 'dialed:1', 'heard:99'])
    // With nothing but proven and connected entries left, the proven one goes.
    const full = new AddressBook(2)
    full.add('dialed:1')
    full.markDialed('dialed:1')
    full.add('connected:1')
    full.setConnected('connected:1', true)
    assert.equal(full.add('new:1'), true)
    assert.deepEqual(full.list().map(k => k.address).sort(), ['connected:1', 'new:1'])
    full.setConnected('new:1', true)
    assert.equal(full.add('more:1'), false, 'connected entries are never forgotten')
  })

  it('lists dialled addresses most recent first, counts failures, and resets them on connect', () => {
    const book = new AddressBook(10)
    for (const address of ['a:1', 'b:1', 'c:1']) book.add(address)
    book.markDialed('a:1', 100)
    book.markDialed('c:1', 300)
    assert.deepEqual(book.dialed(), ['c:1', 'a:1'])
    assert.equal(book.recordFailure('b:1'), 1)
    assert.equal(book.recordFailure('b:1'), 2)
    assert.equal(book.recordFailure('unknown:1'), 0)
    book.setConnected('b:1', true)
    assert.equal(book.get('b:1')?.failures, 0)
  })

  it('offers a failed address for dialling again only after its retry delay, which grows with its failures', () => {
    const book = new AddressBook(10, failures => 100 * 2 ** (failures - 1))
    // In no particular order: dialling picks among them at random.
    const dialable = (now: number): string[] => book.dialable(now).map(k => k.address).sort()
    book.add('a:1')
    book.add('b:1')
    assert.deepEqual(dialable(0), ['a:1', 'b:1'])
    book.recordFailure('a:1', 1000)
    assert.deepEqual(dialable(1099), ['b:1'])
    assert.deepEqual(dialable(1100), ['a:1', 'b:1'])
    book.recordFailure('a:1', 2000)
    assert.deepEqual(dialable(2199), ['b:1'])
    assert.deepEqual(dialable(2200), ['a:1', 'b:1'])
    // A success clears it.
    book.recordFailure('a:1', 3000)
    book.setConnected('a:1', true)
    assert.deepEqual(dialable(3000), ['b:1'], 'a connected address is not offered')
    book.setConnected('a:1', false)
    assert.deepEqual(dialable(3000), ['a:1', 'b:1'])
    book.remove('b:1')
    assert.deepEqual(dialable(3000), ['a:1'])
  })

  it('keeps the proven addresses apart, as they come and go', () => {
    const book = new AddressBook(2)
    book.add('a:1')
    book.add('b:1')
    book.markDialed('a:1', 1)
    book.markDialed('b:1', 2)
    book.setConnected('b:1', true)
    assert.deepEqual(book.provenUnconnected().map(k => k.address), ['a:1'])
    assert.deepEqual(book.dialed(), ['b:1', 'a:1'])
    // Full of proven addresses: the unconnected one makes room, and is no longer proven.
    assert.equal(book.add('c:1'), true)
    assert.deepEqual(book.dialed(), ['b:1'])
    book.remove('b:1')
    assert.deepEqual(book.dialed(), [])
    assert.deepEqual(book.provenUnconnected(), [])
  })
})

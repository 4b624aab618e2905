import assert from 'node:assert/strict'
import { networkInterfaces } from 'node:os'
import { describe, it } from 'node:test'
import { SelfAddresses, plainHost } from '../../lib/mesh/self-addresses.js'
import { formatAddress } from '../../transforms/core/line-protocol.js'

const PORT = 7000

function listeningOn (host: string, opts: { advertiseHost?: string, capacity?: number } = {}): SelfAddresses {
  const self = new SelfAddresses(host, opts.advertiseHost, opts.capacity ?? 100)
  self.listening(PORT)
  return self
}

describe('plainHost', () => {
  it('unwraps an IPv4-mapped IPv6 address and leaves any other host alone', () => {
    assert.equal(plainHost('::ffff:10.0.0.1'), '10.0.0.1')
    assert.equal(plainHost('::FFFF:192.168.1.2'), '192.168.1.2')
    assert.equal(plainHost('10.0.0.1'), '10.0.0.1')
    assert.equal(plainHost('::1'), '::1')
    assert.equal(plainHost('::ffff:abcd'), '::ffff:abcd')
  })
})

describe('SelfAddresses', () => {
  for (const wildcard of ['0.0.0.0', '::']) {
    it(`behind the wildcard ${wildcard}: answers to localhost and every interface address, on its own port only`, () => {
      const self = listeningOn(wildcard)
      assert.ok(self.has(`localhost:${PORT}`))
      assert.ok(self.has(`127.0.0.1:${PORT}`))
      for (const addresses of Object.values(networkInterfaces())) {
        for (const { address } of addresses ?? []) assert.ok(self.has(formatAddress(address, PORT)), address)
      }
      assert.ok(!self.has(`127.0.0.1:${PORT + 1}`))
      assert.ok(!self.has(`${wildcard === '::' ? '[::]' : wildcard}:${PORT}`), 'the wildcard itself is no address to dial')
    })

    it(`behind the wildcard ${wildcard}: advertises the host a connection reached it at, IPv4-mapped or not, else loopback`, () => {
      const self = listeningOn(wildcard)
      assert.equal(self.advertised(PORT), `127.0.0.1:${PORT}`)
      assert.equal(self.advertised(PORT, '::ffff:203.0.113.7'), `203.0.113.7:${PORT}`)
      assert.equal(self.advertised(PORT, '2001:db8::7'), `[2001:db8::7]:${PORT}`)
      assert.ok(!self.has(`203.0.113.7:${PORT}`), 'advertised() alone remembers nothing')
      assert.equal(self.announced(PORT, '::ffff:203.0.113.7'), `203.0.113.7:${PORT}`)
      assert.ok(self.has(`203.0.113.7:${PORT}`), 'an announced address is one of its own from then on')
    })
  }

  it('on a loopback host: answers to it and to localhost, not to other loopback addresses', () => {
    const v4 = listeningOn('127.0.0.5')
    assert.ok(v4.has(`127.0.0.5:${PORT}`))
    assert.ok(v4.has(`localhost:${PORT}`))
    assert.ok(!v4.has(`127.0.0.1:${PORT}`))
    const v6 = listeningOn('::1')
    assert.ok(v6.has(`[::1]:${PORT}`))
    assert.ok(v6.has(`localhost:${PORT}`))
    assert.equal(v6.advertised(PORT, '::ffff:10.0.0.1'), `[::1]:${PORT}`, 'a given host is advertised whatever the connection')
  })

  it('on a routable host: answers to it, in lower case, and not to localhost', () => {
    const self = listeningOn('FD00::AB')
    assert.ok(self.has(`[fd00::ab]:${PORT}`))
    assert.ok(!self.has(`localhost:${PORT}`))
    assert.ok(!self.has(`127.0.0.1:${PORT}`))
  })

  it('advertises advertiseHost, and answers to it and to the listening host', () => {
    const self = listeningOn('10.0.0.1', { advertiseHost: 'mesh.example' })
    assert.equal(self.advertised(PORT, '10.0.0.1'), `mesh.example:${PORT}`)
    assert.ok(self.has(`mesh.example:${PORT}`))
    assert.ok(self.has(`10.0.0.1:${PORT}`))
  })

  it('learns further names only while it holds fewer than its capacity', () => {
    const self = listeningOn('10.0.0.1', { capacity: 2 })
    self.learn('relay.example:1')
    self.learn('relay.example:2')
    assert.ok(self.has('relay.example:1'))
    assert.ok(!self.has('relay.example:2'), 'the listening address counts toward the capacity')
  })
})

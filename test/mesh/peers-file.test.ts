import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { PeersFile, maxPeersFileBytes, parsePeersFile, readPeersFile, writePeersFile, type RememberedPeer } from '../../lib/mesh/peers-file.js'
import type { PeersFileError } from '../../lib/errors.js'
import { MeshNode } from '../../lib/index.js'
import { waitFor } from '../../harness/async.js'
import { FAST, LiveHarness } from '../support/live.js'
import { nextEvent, withHarness } from '../support/mesh.js'

let dir = ''
const addressesOf = (peers: RememberedPeer[]): string[] => peers.map(peer => peer.address)
before(async () => { dir = await mkdtemp(join(tmpdir(), 'meshline-peers-')) })
after(async () => { await rm(dir, { recursive: true, force: true }) })

describe('parsePeersFile', () => {
  it('reads one address per line, normalised and deduplicated, skipping blanks and comments', () => {
    const { peers, rejected } = parsePeersFile('# peers\nLocalHost:1\r\n\n  10.0.0.1:2  \nlocalhost:1\n[::1]:3\n', 10)
    assert.deepEqual(addressesOf(peers), ['localhost:1', '10.0.0.1:2', '[::1]:3'])
    assert.deepEqual(rejected, [])
  })

  it('keeps the valid lines of a damaged file and returns the others', () => {
    const { peers, rejected } = parsePeersFile('a:1\nnot an address\nh:99999\n\u0000\u0001:2\nb:2\nc:3 noise\nd:4 noise bad:id\ne:5 plain x\n', 10)
    assert.deepEqual(addressesOf(peers), ['a:1', 'b:2'])
    assert.equal(rejected.length, 6)
  })

  it('reads the id pinned to an address that proved a key over Noise', () => {
    const { peers, rejected } = parsePeersFile('a:1 noise 0123abcd\nb:2\n', 10)
    assert.deepEqual(peers, [{ address: 'a:1', pinnedId: '0123abcd' }, { address: 'b:2' }])
    assert.deepEqual(rejected, [])
  })

  it('keeps at most maxEntries addresses', () => {
    const text = Array.from({ length: 50 }, (_, i) => `h:${i + 1}`).join('\n')
    assert.deepEqual(addressesOf(parsePeersFile(text, 3).peers), ['h:1', 'h:2', 'h:3'])
  })
})

describe('readPeersFile / writePeersFile', () => {
  it('round-trips a list, and reads a missing file as empty without an error', async () => {
    const path = join(dir, 'roundtrip')
    assert.deepEqual(await readPeersFile(path, 10), { peers: [], error: undefined })
    await writePeersFile(path, [{ address: '127.0.0.1:4000', pinnedId: 'abc' }, { address: '[::1]:5' }])
    assert.equal(await readFile(path, 'utf8'), '127.0.0.1:4000 noise abc\n[::1]:5\n')
    assert.deepEqual(await readPeersFile(path, 10), { peers: [{ address: '127.0.0.1:4000', pinnedId: 'abc' }, { address: '[::1]:5' }], error: undefined })
  })

  it('replaces the file by rename and leaves no temporary file behind', async () => {
    const path = join(dir, 'atomic')
    await writeFile(path, 'old:1\n')
    await Promise.all(Array.from({ length: 20 }, async (_, i) => { await writePeersFile(path, [{ address: `h:${i + 1}` }]) }))
    const { peers } = await readPeersFile(path, 10)
    assert.equal(peers.length, 1, 'every write replaced the whole file')
    assert.deepEqual((await readdir(dir)).filter(name => name.startsWith('atomic')), ['atomic'])
  })

  it('reports a corrupt file with ERR_PEERS_FILE and keeps its valid entries', async () => {
    const path = join(dir, 'corrupt')
    await writeFile(path, Buffer.concat([Buffer.from('h:1\n'), Buffer.from([0xff, 0xfe, 0x00, 0x0a]), Buffer.from('h:2\n')]))
    const { peers, error } = await readPeersFile(path, 10)
    assert.deepEqual(addressesOf(peers), ['h:1', 'h:2'])
    assert.equal(error?.code, 'ERR_PEERS_FILE')
    assert.equal(error?.reason, 'corrupt')
  })

  it('refuses a file larger than maxEntries addresses can take, without reading it whole', async () => {
    const path = join(dir, 'huge')
    await writeFile(path, Buffer.alloc(maxPeersFileBytes(4) + 1, 0x61))
    const { peers, error } = await readPeersFile(path, 4)
    assert.deepEqual(peers, [])
    assert.equal(error?.reason, 'too large')
  })

  it('reports a path that cannot be read as unreadable', async () => {
    const { error } = await readPeersFile(dir, 4)
    assert.equal(error?.code, 'ERR_PEERS_FILE')
    assert.equal(error?.reason, 'unreadable')
  })

  it('fails a write into a missing directory, leaving nothing behind', async () => {
    await assert.rejects(writePeersFile(join(dir, 'missing', 'peers'), [{ address: 'h:1' }]), { code: 'ENOENT' })
  })
})

describe('PeersFile', () => {
  it('saves once for a burst of changes, saves at flush, and reports write failures', async () => {
    const path = join(dir, 'debounced')
    let list = [{ address: 'h:1' }]
    let reads = 0
    const errors: PeersFileError[] = []
    const file = new PeersFile(path, { maxEntries: 2, peers: () => { reads++; return list }, onError: e => { errors.push(e) } })
    for (let i = 0; i < 10; i++) file.changed()
    list = [{ address: 'h:2' }, { address: 'h:3' }, { address: 'h:4' }]
    await file.flush()
    assert.equal(reads, 1, 'the pending save was folded into flush()')
    assert.deepEqual(addressesOf(await file.load()), ['h:2', 'h:3'])

    const broken = new PeersFile(join(dir, 'missing', 'peers'), { maxEntries: 2, peers: () => list, onError: e => { errors.push(e) } })
    await broken.flush()
    assert.equal(errors.length, 1)
    assert.equal(errors[0]?.reason, 'unwritable')
  })
})

describe('MeshNode: peersFile', () => {
  it('remembers the peers it dialled, and a restart rejoins through them without its bootstrap', async () => {
    await withHarness(LiveHarness, async nodes => {
      const path = join(dir, 'node-peers')
      const b = await nodes.node({ autoDial: false })
      const c = await nodes.node({ autoDial: false })
      const a = await nodes.node({ peersFile: path, autoDial: false })
      await a.connect(b.address)
      await a.connect(c.address)
      await a.stop()
      assert.deepEqual((await readFile(path, 'utf8')).trim().split('\n').sort(), [b.address, c.address].sort())

      const restarted = new MeshNode({ ...FAST, peersFile: path, autoDial: false })
      const joined = new Set<string>()
      restarted.on('peer:connect', ({ peer }) => { joined.add(peer.id) })
      await nodes.adopt(restarted)
      await waitFor(() => joined.size === 2, 'the restarted node to rejoin both peers', 3000)
      assert.deepEqual([...joined].sort(), [b.id, c.id].sort())
    })
  })

  it('reports a damaged file with ERR_PEERS_FILE and starts anyway, with the entries that were valid', async () => {
    await withHarness(LiveHarness, async nodes => {
      const b = await nodes.node({ autoDial: false })
      const path = join(dir, 'damaged')
      await writeFile(path, Buffer.concat([Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x0a]), Buffer.from(`garbage line\n${b.address}\n`)]))
      const a = new MeshNode({ ...FAST, peersFile: path, autoDial: false })
      const errors: PeersFileError[] = []
      a.on('peers-file:error', ({ error }) => { errors.push(error) })
      const joined = nextEvent(a, 'peer:connect', () => true, 3000)
      await nodes.adopt(a)
      assert.equal(a.running, true)
      assert.equal(errors[0]?.code, 'ERR_PEERS_FILE')
      assert.equal(errors[0]?.reason, 'corrupt')
      assert.equal((await joined)[0].peer.id, b.id)
    })
  })
})

/**
 * A node never signs a bundle its peers could not take in one frame: bundles
 * stay under half of `maxBytesPerMessage`, whatever `maxBundleBytes` says.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { MeshNode } from '../../lib/index.js'
import { memoryNetwork } from '../../lib/transport/index.js'
import { waitFor } from '../../harness/async.js'

const running = new Set<MeshNode>()
after(async () => { await Promise.all([...running].map(async node => { await node.stop() })) })

describe('signed bundle size', () => {
  it('splits a burst into bundles of at most half of maxBytesPerMessage, so the peer takes every one', async () => {
    const transport = memoryNetwork()
    const options = { host: 'sim', transport, topology: 'overlay', maxBytesPerMessage: 16 * 1024, overlay: { maxBundleBytes: 1024 * 1024, capabilityTimeout: 1000 } } as const
    const [author, reader] = [new MeshNode(options), new MeshNode(options)]
    for (const node of [author, reader]) {
      running.add(node)
      await node.start()
    }
    await reader.connect(author.address)
    await waitFor(() => author.overlayStatus()?.eager.includes(reader.id) === true, 'the reader as a tree link')
    let delivered = 0
    reader.on('bytes', () => { delivered++ })
    const disconnects: string[] = []
    reader.on('peer:disconnect', ({ reason }) => { disconnects.push((reason as { code?: string }).code ?? reason.message) })
    await author.broadcaster()([Array.from({ length: 100 }, () => new Uint8Array(1024))])
    await waitFor(() => delivered === 100, 'every payload at the reader')
    assert.deepEqual(disconnects, [], 'no frame over the reader\'s maxBytesPerMessage')
    assert.ok((author.overlayStatus()?.stats.sent.gossip ?? 0) >= 13, '100 KiB in bundles of at most 8 KiB')
  })
})

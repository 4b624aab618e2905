import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import { MeshNode } from '../../lib/index.js'
import { MAX_IGNORED_TRANSFERS, receiveFiles, type FileReceiver, type FileReceiverEvents, type FileReceiverOptions } from '../../lib/file-transfer/receiver.js'
import { sendFile } from '../../lib/file-transfer/sender.js'
import { safeFileName } from '../../lib/file-transfer/safe-name.js'
import { FILE_CHUNK_SIZE, encodeFileChunk, encodeFileEnd, encodeFileStart, fileChunkHeader } from '../../lib/file-transfer/file-protocol.js'
import { STREAM_PREFIX } from '../../lib/connection/stream-protocol.js'
import { mapMessages } from '../../transforms/core/link.js'
import { waitFor } from '../../harness/async.js'
import { sha256 } from '../support/bytes.js'
import { RawSocket } from '../support/raw-socket.js'
import { ROOT, tsx } from '../support/processes.js'
import type { PeerInfo } from '../../lib/types.js'

const DEADLINE = 10_000

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'meshline-ft-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

let dirCount = 0
/** A fresh folder under the test root, holding a `downloads` folder; only that may ever be written to. */
async function sandbox (): Promise<{ base: string, downloads: string }> {
  const base = join(root, `case-${++dirCount}`)
  await mkdir(base)
  return { base, downloads: join(base, 'downloads') }
}

async function startNode (name: string, opts: ConstructorParameters<typeof MeshNode>[0] = {}): Promise<MeshNode> {
  const node = new MeshNode({ host: '127.0.0.1', name, dialJitter: 0, ...opts })
  await node.start()
  cleanups.push(async () => { await node.stop() })
  return node
}

function receiver (node: MeshNode, opts: FileReceiverOptions): FileReceiver {
  const files = receiveFiles(node, opts)
  cleanups.push(async () => { await files.close() })
  return files
}

/** The next `event` from `files`, or a failure after DEADLINE. */
async function next<E extends keyof FileReceiverEvents> (files: FileReceiver, event: E): Promise<FileReceiverEvents[E][0]> {
  const [value] = await once(files, event, { signal: AbortSignal.timeout(DEADLINE) }) as FileReceiverEvents[E]
  return value
}

/** A sender and a receiver node, connected; `peer` is the receiver as the sender sees it. */
async function pair (receiverOpts: Partial<FileReceiverOptions> = {}): Promise<{ sender: MeshNode, node: MeshNode, peer: PeerInfo, files: FileReceiver, base: string, downloads: string }> {
  const { base, downloads } = await sandbox()
  const node = await startNode('receiver')
  const files = receiver(node, { dir: downloads, ...receiverOpts })
  const sender = await startNode('sender')
  const peer = await sender.connect(node.address)
  return { sender, node, peer, files, base, downloads }
}

/** Sends `data` as `name` with hand-made frames, as any peer on the wire could. */
async function sendRaw (sender: MeshNode, peerId: string, name: string, data: Uint8Array, hashes: { start?: string, end?: string } = {}): Promise<void> {
  const hash = sha256(data)
  await sender.sendBytes(peerId, encodeFileStart({ name, size: data.byteLength, sha256: hashes.start ?? hash }))
  const header = fileChunkHeader(name)
  for (let at = 0; at < data.byteLength; at += FILE_CHUNK_SIZE) {
    await sender.sendBytes(peerId, encodeFileChunk(header, data.subarray(at, at + FILE_CHUNK_SIZE)))
  }
  await sender.sendBytes(peerId, encodeFileEnd({ name, sha256: hashes.end ?? hash }))
}

async function listTree (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true })
  return entries.map(String).sort()
}

describe('file transfer: sendFile and receiveFiles', () => {
  it('moves a file of several chunks to one peer, with progress on both sides and a verified hash', async () => {
    const { sender, peer, files, base, downloads } = await pair()
    const data = randomBytes(3 * FILE_CHUNK_SIZE + 123)
    const source = join(base, 'data.bin')
    await writeFile(source, data)

    const received: number[] = []
    files.on('progress', ({ received: bytes }) => { received.push(bytes) })
    const send = sendFile(sender, source, { to: peer.id })
    const phases = new Set<string>()
    let lastSent = 0
    send.on('progress', ({ phase, done }) => { phases.add(phase); if (phase === 'sending') lastSent = done })
    const [result, complete] = await Promise.all([send.done, next(files, 'complete')])

    assert.deepEqual(result.delivered, [peer.id])
    assert.equal(result.sha256, sha256(data))
    assert.deepEqual([...phases], ['hashing', 'sending'])
    assert.equal(lastSent, data.byteLength)
    assert.equal(complete.name, 'data.bin')
    assert.equal(complete.path, join(downloads, 'data.bin'))
    assert.equal(complete.sha256, sha256(data))
    assert.deepEqual(received, [FILE_CHUNK_SIZE, 2 * FILE_CHUNK_SIZE, 3 * FILE_CHUNK_SIZE, data.byteLength])
    assert.deepEqual(await readFile(complete.path), data)
    assert.deepEqual(await listTree(base), ['data.bin', 'downloads', 'downloads/data.bin'])
  })

  it('sends a Blob (a browser\'s File) under its own name, or the fallback name for a Blob without one', async () => {
    const { sender, peer, files, downloads } = await pair()
    const data = randomBytes(2 * FILE_CHUNK_SIZE + 5)
    const named = new File([data], 'from-a-page.bin')
    const [result, complete] = await Promise.all([sendFile(sender, named, { to: peer.id }).done, next(files, 'complete')])
    assert.equal(result.name, 'from-a-page.bin')
    assert.equal(complete.path, join(downloads, 'from-a-page.bin'))
    assert.deepEqual(await readFile(complete.path), data)
    const [unnamed, second] = await Promise.all([sendFile(sender, new Blob([data]), { to: peer.id }).done, next(files, 'complete')])
    assert.equal(unnamed.name, safeFileName(''))
    assert.deepEqual(await readFile(second.path), data)
  })

  it('sends to every connected peer when no peer is named, and an empty file too', async () => {
    const { base } = await sandbox()
    const sender = await startNode('sender')
    const receivers = await Promise.all(['r1', 'r2'].map(async (name) => {
      const node = await startNode(name)
      const files = receiver(node, { dir: join(base, name) })
      await sender.connect(node.address)
      return files
    }))
    for (const content of [randomBytes(FILE_CHUNK_SIZE + 1), Buffer.alloc(0)]) {
      const source = join(base, `f${content.byteLength}`)
      await writeFile(source, content)
      const [result, ...completes] = await Promise.all([sendFile(sender, source).done, ...receivers.map(async files => await next(files, 'complete'))])
      assert.equal(result.delivered.length, 2)
      for (const complete of completes) assert.deepEqual(await readFile(complete.path), content)
    }
  })

  it('never overwrites: a second file of the same name is stored as name-(1).ext', async () => {
    const { sender, peer, files, base, downloads } = await pair()
    await mkdir(downloads)
    await writeFile(join(downloads, 'notes.txt'), 'mine')
    const source = join(base, 'notes.txt')
    await writeFile(source, 'theirs')
    await sendFile(sender, source, { to: peer.id }).done
    assert.equal((await next(files, 'complete')).path, join(downloads, 'notes-(1).txt'))
    assert.equal(await readFile(join(downloads, 'notes.txt'), 'utf8'), 'mine')
    assert.equal(await readFile(join(downloads, 'notes-(1).txt'), 'utf8'), 'theirs')
  })

  it('keeps concurrent transfers of the same name from two peers apart', async () => {
    const { base, downloads } = await sandbox()
    const node = await startNode('receiver')
    const files = receiver(node, { dir: downloads })
    const senders = [await startNode('s1'), await startNode('s2')]
    const contents = [randomBytes(5 * FILE_CHUNK_SIZE), randomBytes(4 * FILE_CHUNK_SIZE + 7)]
    const completes: Array<FileReceiverEvents['complete'][0]> = []
    files.on('complete', file => { completes.push(file) })
    await Promise.all(senders.map(async (sender, i) => {
      await mkdir(join(base, `s${i}`))
      const source = join(base, `s${i}`, 'same.bin')
      await writeFile(source, contents[i] as Buffer)
      const peer = await sender.connect(node.address)
      await sendFile(sender, source, { to: peer.id }).done
    }))
    while (completes.length < 2) await next(files, 'complete')
    const stored = await Promise.all(completes.map(async file => await readFile(file.path)))
    assert.deepEqual(new Set(stored.map(sha256)), new Set(contents.map(sha256)))
    assert.deepEqual(await readdir(downloads).then(names => names.sort()), ['same-(1).bin', 'same.bin'])
  })

  it('rejects a hash mismatch and deletes the partial file', async () => {
    const { sender, peer, files, base } = await pair()
    const failed = next(files, 'failed')
    await sendRaw(sender, peer.id, 'bad.bin', randomBytes(1000), { start: 'f'.repeat(64), end: 'f'.repeat(64) })
    assert.equal((await failed).error.code, 'ERR_FILE_HASH_MISMATCH')
    assert.deepEqual(await listTree(base), ['downloads'])
  })

  it('rejects a FILEEND whose hash differs from the FILESTART one (the sender\'s file changed)', async () => {
    const { sender, peer, files, base } = await pair()
    const failed = next(files, 'failed')
    await sendRaw(sender, peer.id, 'changed.bin', randomBytes(1000), { end: 'e'.repeat(64) })
    assert.equal((await failed).error.code, 'ERR_FILE_HASH_MISMATCH')
    assert.deepEqual(await listTree(base), ['downloads'])
  })

  it('aborts a transfer whose sender disconnects mid-way, deleting the partial file', async () => {
    const { sender, peer, files, base, downloads } = await pair()
    const data = randomBytes(2 * FILE_CHUNK_SIZE)
    await sender.sendBytes(peer.id, encodeFileStart({ name: 'cut.bin', size: data.byteLength, sha256: sha256(data) }))
    await sender.sendBytes(peer.id, encodeFileChunk(fileChunkHeader('cut.bin'), data.subarray(0, FILE_CHUNK_SIZE)))
    await next(files, 'progress')
    assert.deepEqual(await readdir(downloads), ['cut.bin.part'])
    const failed = next(files, 'failed')
    await sender.stop()
    const { error, name } = await failed
    assert.equal(error.code, 'ERR_TRANSFER_ABORTED')
    assert.equal(name, 'cut.bin')
    assert.deepEqual(await listTree(base), ['downloads'])
  })

  it('aborts a transfer whose sender process is killed mid-way, deleting the partial file', async () => {
    const { base, downloads } = await sandbox()
    const node = await startNode('receiver')
    const files = receiver(node, { dir: downloads })
    const progress = next(files, 'progress')
    const child = spawn(process.execPath, tsx('test/fixtures/partial-sender.ts', node.address), { cwd: ROOT, stdio: 'ignore' })
    const exited = once(child, 'exit')
    try {
      assert.equal((await progress).received, FILE_CHUNK_SIZE)
      assert.deepEqual(await readdir(downloads), ['killed.bin.part'])
      const failed = next(files, 'failed')
      child.kill('SIGKILL')
      const { error, name } = await failed
      assert.equal(error.code, 'ERR_TRANSFER_ABORTED')
      assert.equal(name, 'killed.bin')
      assert.deepEqual(await listTree(base), ['downloads'])
    } finally {
      child.kill('SIGKILL')
      await exited
    }
  })

  it('reduces hostile names to safe base names inside the download folder', async () => {
    const { sender, peer, files, base, downloads } = await pair()
    const cases: Array<[string, string]> = [
      ['../../x', 'x'], ['/etc/passwd', 'passwd'], ['nul\0byte', 'nul_byte'], ['new\nline.txt', 'new_line.txt'],
      ['..', 'file'], ['..\\..\\win.ini', 'win.ini'], ['\x1b]0;title\x07', '_]0;title_'], ['a\n/../../escape', 'escape']
    ]
    for (const [hostile, safe] of cases) {
      const data = randomBytes(FILE_CHUNK_SIZE + 10)
      const complete = next(files, 'complete')
      await sendRaw(sender, peer.id, hostile, data)
      const { path, name } = await complete
      assert.equal(name, safe, JSON.stringify(hostile))
      assert.equal(dirname(path), downloads)
      assert.deepEqual(await readFile(path), data)
    }
    const stored = await listTree(base)
    assert.deepEqual(stored, ['downloads', ...cases.map(([, safe]) => `downloads/${safe}`)].sort())
  })

  it('refuses a file announced larger than maxFileSize, once, and drops its chunks quietly', async () => {
    const { sender, peer, files, base } = await pair({ maxFileSize: 1000 })
    const errors: string[] = []
    files.on('failed', ({ error }) => { errors.push(error.code) })
    await sendRaw(sender, peer.id, 'big.bin', randomBytes(1001))
    // A following transfer shows every frame of the refused one was handled.
    const complete = next(files, 'complete')
    await sendRaw(sender, peer.id, 'small.bin', randomBytes(1000))
    await complete
    assert.deepEqual(errors, ['ERR_FILE_TOO_LARGE'])
    assert.deepEqual(await listTree(base), ['downloads', 'downloads/small.bin'])
  })

  it('stops a sender that sends more than it announced', async () => {
    const { sender, peer, files, base } = await pair({ maxFileSize: 1000 })
    const failed = next(files, 'failed')
    await sender.sendBytes(peer.id, encodeFileStart({ name: 'liar.bin', size: 10, sha256: 'a'.repeat(64) }))
    await sender.sendBytes(peer.id, encodeFileChunk(fileChunkHeader('liar.bin'), randomBytes(5000)))
    const { error } = await failed
    assert.equal(error.code, 'ERR_FILE_SIZE_MISMATCH')
    assert.deepEqual(await listTree(base), ['downloads'])
  })

  it('refuses transfers beyond maxTransfers', async () => {
    const { sender, peer, files } = await pair({ maxTransfers: 1 })
    await sender.sendBytes(peer.id, encodeFileStart({ name: 'one', size: 10, sha256: 'a'.repeat(64) }))
    await next(files, 'start')
    await sender.sendBytes(peer.id, encodeFileStart({ name: 'two', size: 10, sha256: 'a'.repeat(64) }))
    const { error, name } = await next(files, 'failed')
    assert.equal(error.code, 'ERR_LIMIT_EXCEEDED')
    assert.equal(name, 'two')
    assert.equal(files.inProgress, 1)
  })

  it('reports frames without a transfer and malformed frames, keeping the connection', async () => {
    const { sender, peer, files } = await pair()
    const errors: string[] = []
    files.on('failed', ({ error }) => { errors.push(error.code) })
    await sender.sendBytes(peer.id, encodeFileChunk(fileChunkHeader('orphan'), randomBytes(10)))
    await sender.sendBytes(peer.id, encodeFileChunk(fileChunkHeader('orphan'), randomBytes(10)))
    await sender.sendBytes(peer.id, encodeFileEnd({ name: 'orphan', sha256: 'a'.repeat(64) }))
    await sender.sendBytes(peer.id, Buffer.from('FILESTART:no-fields\n'))
    await sender.sendBytes(peer.id, encodeFileEnd({ name: 'never-started', sha256: 'a'.repeat(64) }))
    const complete = next(files, 'complete')
    await sendRaw(sender, peer.id, 'fine.bin', randomBytes(10))
    await complete
    assert.deepEqual(errors, ['ERR_INVALID_FILE_FRAME', 'ERR_INVALID_FILE_FRAME', 'ERR_INVALID_FILE_FRAME'])
    assert.equal(sender.peers().length, 1)
  })

  it('forgets refused transfers beyond MAX_IGNORED_TRANSFERS, so their frames are reported again', async () => {
    const { sender, peer, files } = await pair()
    const reported: string[] = []
    files.on('failed', ({ name }) => { reported.push(name) })
    const orphan = async (name: string): Promise<void> => { await sender.sendBytes(peer.id, encodeFileChunk(fileChunkHeader(name), randomBytes(4))) }
    for (let i = 0; i <= MAX_IGNORED_TRANSFERS; i++) await orphan(`n${i}`)
    // n0 was forgotten to make room for the last one; the last one is still ignored quietly.
    await orphan(`n${MAX_IGNORED_TRANSFERS}`)
    await orphan('n0')
    const complete = next(files, 'complete')
    await sendRaw(sender, peer.id, 'fine.bin', randomBytes(10))
    await complete
    assert.equal(reported.length, MAX_IGNORED_TRANSFERS + 2)
    assert.equal(reported.at(-1), 'n0')
  })

  it('validates its options', async () => {
    const node = await startNode('options')
    for (const opts of [{ dir: '' }, { dir: 'd', maxFileSize: -1 }, { dir: 'd', maxTransfers: 0 }, { dir: 'd', maxTransfers: 1.5 }]) {
      assert.throws(() => receiveFiles(node, opts), { code: 'ERR_INVALID_OPTION' }, JSON.stringify(opts))
    }
  })

  it('deletes partial files when the receiver is closed', async () => {
    const { sender, peer, files, base } = await pair()
    await sender.sendBytes(peer.id, encodeFileStart({ name: 'open.bin', size: 10, sha256: 'a'.repeat(64) }))
    await next(files, 'start')
    const failed = next(files, 'failed')
    await files.close()
    assert.equal((await failed).error.code, 'ERR_TRANSFER_ABORTED')
    assert.deepEqual(await listTree(base), ['downloads'])
  })

  it('fails clearly without peers, with an unknown peer, and with a missing file', async () => {
    const { base } = await sandbox()
    const lonely = await startNode('lonely')
    const source = join(base, 'x')
    await writeFile(source, 'x')
    await assert.rejects(sendFile(lonely, source).done, { code: 'ERR_NO_PEERS' })
    await assert.rejects(sendFile(lonely, source, { to: 'nobody' }).done, { code: 'ERR_PEER_NOT_FOUND' })
    const { sender } = await pair()
    await assert.rejects(sendFile(sender, join(base, 'missing')).done, { code: 'ERR_FILE_ACCESS' })
    await assert.rejects(sendFile(sender, base).done, { code: 'ERR_FILE_ACCESS' })
  })

  it('waits on the receivers\' queues instead of buffering the file (small maxQueuedBytes)', async () => {
    const { base, downloads } = await sandbox()
    const node = await startNode('receiver')
    const files = receiver(node, { dir: downloads })
    const sender = await startNode('sender', { maxQueuedBytes: FILE_CHUNK_SIZE })
    const peer = await sender.connect(node.address)
    const data = randomBytes(16 * FILE_CHUNK_SIZE)
    const source = join(base, 'stream.bin')
    await writeFile(source, data)
    const [result, complete] = await Promise.all([sendFile(sender, source, { to: peer.id }).done, next(files, 'complete')])
    assert.equal(result.sha256, complete.sha256)
    assert.deepEqual(await readFile(complete.path), data)
  })
})

describe('file transfer on protocol streams', () => {
  it('between meshline nodes travels on a stream of its own: no FILE* frame crosses the link', async () => {
    const { base, downloads } = await sandbox()
    const linkPayloads: string[] = []
    const node = await startNode('receiver', {
      inbound: [mapMessages(msg => {
        if (msg.type === 'bytes') linkPayloads.push(Buffer.from(msg.data.subarray(0, 10)).toString('latin1'))
        return msg
      })]
    })
    const files = receiver(node, { dir: downloads })
    const sender = await startNode('sender')
    const peer = await sender.connect(node.address)
    const data = randomBytes(5 * FILE_CHUNK_SIZE + 7)
    const source = join(base, 'streamed.bin')
    await writeFile(source, data)
    const [result, complete] = await Promise.all([sendFile(sender, source, { to: peer.id }).done, next(files, 'complete')])
    assert.equal(result.sha256, sha256(data))
    assert.deepEqual(await readFile(complete.path), data)
    assert.deepEqual(linkPayloads.filter(p => p.startsWith('FILE')), [], 'the file did not travel as BYTES frames on the link')
  })

  it('a sender that stops mid-way resets its stream: the receiver aborts the transfer and deletes the partial file', async () => {
    const { sender, peer, files, base } = await pair()
    const source = join(base, 'big.bin')
    await writeFile(source, randomBytes(64 * FILE_CHUNK_SIZE))
    const send = sendFile(sender, source, { to: peer.id })
    send.done.catch(() => {})
    await next(files, 'progress')
    const failed = next(files, 'failed')
    await sender.stop()
    const { error, name } = await failed
    assert.equal(error.code, 'ERR_TRANSFER_ABORTED')
    assert.equal(name, 'big.bin')
    assert.deepEqual(await listTree(base), ['big.bin', 'downloads'])
  })

  it('to a line-protocol peer goes as FILESTART, FILECHUNK and FILEEND frames, as before', async () => {
    const { base } = await sandbox()
    const sender = await startNode('sender', { overlay: { capabilityTimeout: 100 } })
    const raw = await RawSocket.connect(Number(sender.address.split(':')[1]))
    cleanups.push(async () => { raw.destroy() })
    const received: Buffer[] = []
    raw.socket.on('data', (chunk: Buffer) => { received.push(chunk) })
    await raw.write('legacy-receiver:Legacy\nLISTEN:127.0.0.1:1\n')
    await sender.waitForPeers(1, { timeout: DEADLINE })
    const data = randomBytes(FILE_CHUNK_SIZE + 1)
    const source = join(base, 'legacy.bin')
    await writeFile(source, data)
    const result = await sendFile(sender, source, { to: 'legacy-receiver' }).done
    assert.deepEqual(result.delivered, ['legacy-receiver'])
    const wire = (): string => Buffer.concat(received).toString('latin1')
    await waitFor(() => wire().includes(`FILEEND:legacy.bin|${sha256(data)}\n`), 'the FILEEND frame', DEADLINE)
    assert.ok(wire().includes(`FILESTART:legacy.bin|${data.byteLength}|${sha256(data)}\n`))
    assert.ok(!wire().includes(STREAM_PREFIX))
  })
})

describe('file transfer at its boundary', () => {
  it('refuses a missing folder, unknown options and arguments of the wrong type', () => {
    const node = new MeshNode({ host: '127.0.0.1' })
    const code = (expected: string, pattern: RegExp) => (err: Error & { code?: string }): boolean => err.code === expected && pattern.test(err.message)
    assert.throws(() => receiveFiles(node, {} as FileReceiverOptions), code('ERR_INVALID_OPTION', /`dir` to be a folder path/))
    assert.throws(() => receiveFiles(node, { dir: 'd', maxFileSise: 1 } as FileReceiverOptions), code('ERR_INVALID_OPTION', /did you mean `maxFileSize`/))
    assert.throws(() => receiveFiles({} as MeshNode, { dir: 'd' }), code('ERR_INVALID_ARGUMENT', /`node` to be a MeshNode/))
    assert.throws(() => sendFile(node, 42 as unknown as string), code('ERR_INVALID_ARGUMENT', /`file` to be a file path or a Blob/))
    assert.throws(() => sendFile(node, 'f', { to: 7 } as never), code('ERR_INVALID_OPTION', /`to`/))
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import {
  FILE_CHUNK_SIZE, MAX_FILE_HEADER_LENGTH, encodeFileChunk, encodeFileEnd, encodeFileStart, fileChunkHeader,
  parseFileChunkName, parseFileEnd, parseFileStart
} from '../../lib/file-transfer/file-protocol.js'
import { startsWithBytes } from '../../transforms/core/bytes.js'

const HASH = 'ab'.repeat(32)
const text = (bytes: Uint8Array | Uint8ArrayList): string => Buffer.from(bytes.subarray()).toString('utf8')
const list = (value: string | Uint8Array): Uint8ArrayList => new Uint8ArrayList(typeof value === 'string' ? Buffer.from(value) : value)

/** The same bytes, one byte per chunk, as a payload that arrived in pieces. */
function fragmented (bytes: Uint8Array): Uint8ArrayList {
  const out = new Uint8ArrayList()
  for (const byte of bytes) out.append(Uint8Array.of(byte))
  return out
}

describe('file frames: encoding', () => {
  it('writes the protocol text byte for byte', () => {
    assert.equal(text(encodeFileStart({ name: 'a.txt', size: 12, sha256: HASH })), `FILESTART:a.txt|12|${HASH}\n`)
    assert.equal(text(encodeFileEnd({ name: 'a.txt', sha256: HASH })), `FILEEND:a.txt|${HASH}\n`)
    assert.equal(text(encodeFileChunk(fileChunkHeader('a.txt'), Buffer.from('raw\nbytes'))), 'FILECHUNK:a.txt\nraw\nbytes')
  })

  it('keeps a chunk uncopied beside its header', () => {
    const chunk = new Uint8Array(FILE_CHUNK_SIZE)
    const payload = encodeFileChunk(fileChunkHeader('x'), chunk)
    assert.equal(payload.byteLength, 'FILECHUNK:x\n'.length + FILE_CHUNK_SIZE)
    assert.equal([...payload][1], chunk)
  })
})

describe('file frames: parsing', () => {
  it('round-trips names with separators, spaces and non-ASCII text, also when fragmented to single bytes', () => {
    for (const name of ['a.txt', 'a|b|c.bin', 'with space', 'héllo wörld.txt', '']) {
      const start = { name, size: 1234567, sha256: HASH }
      assert.deepEqual(parseFileStart(list(encodeFileStart(start))), start)
      assert.deepEqual(parseFileStart(fragmented(encodeFileStart(start))), start)
      assert.deepEqual(parseFileEnd(fragmented(encodeFileEnd({ name, sha256: HASH }))), { name, sha256: HASH })
    }
  })

  it('keeps a newline inside a name (fields are taken from the right)', () => {
    assert.equal(parseFileStart(list(`FILESTART:evil\nname|5|${HASH}\n`)).name, 'evil\nname')
  })

  it('lower-cases the hash and tolerates a missing or \\r\\n ending', () => {
    assert.equal(parseFileStart(list(`FILESTART:a|1|${HASH.toUpperCase()}`)).sha256, HASH)
    assert.equal(parseFileEnd(list(`FILEEND:a|${HASH}\r\n`)).sha256, HASH)
  })

  it('rejects malformed sizes, hashes and field counts with ERR_INVALID_FILE_FRAME', () => {
    for (const frame of [
      `FILESTART:a|-1|${HASH}\n`, `FILESTART:a|1e3|${HASH}\n`, `FILESTART:a||${HASH}\n`, `FILESTART:a|99999999999999999|${HASH}\n`,
      'FILESTART:a|1|abc\n', `FILESTART:a|1|${HASH}0\n`, `FILESTART:${HASH}\n`
    ]) {
      assert.throws(() => parseFileStart(list(frame)), { code: 'ERR_INVALID_FILE_FRAME' }, frame)
    }
    for (const frame of ['FILEEND:a\n', `FILEEND:a|${'g'.repeat(64)}\n`]) {
      assert.throws(() => parseFileEnd(list(frame)), { code: 'ERR_INVALID_FILE_FRAME' }, frame)
    }
  })

  it('rejects names that are not UTF-8', () => {
    const frame = Buffer.concat([Buffer.from('FILESTART:'), Buffer.from([0xff, 0xfe]), Buffer.from(`|1|${HASH}\n`)])
    assert.throws(() => parseFileStart(list(frame)), { code: 'ERR_INVALID_FILE_FRAME' })
  })

  it('bounds the header: one byte over MAX_FILE_HEADER_LENGTH is refused, a chunk header without a newline too', () => {
    const name = 'n'.repeat(MAX_FILE_HEADER_LENGTH - `FILESTART:|1|${HASH}\n`.length)
    assert.equal(parseFileStart(list(`FILESTART:${name}|1|${HASH}\n`)).name, name)
    assert.throws(() => parseFileStart(list(`FILESTART:${name}n|1|${HASH}\n`)), { code: 'ERR_INVALID_FILE_FRAME' })
    assert.throws(() => parseFileChunkName(list(`FILECHUNK:${'n'.repeat(MAX_FILE_HEADER_LENGTH)}\nxx`)), { code: 'ERR_INVALID_FILE_FRAME' })
  })

  it('reads a chunk name up to the first newline, in pieces too', () => {
    assert.equal(parseFileChunkName(fragmented(Buffer.from('FILECHUNK:a.bin\n\n\x00data'))), 'a.bin')
  })

  it('matches a chunk header across fragments', () => {
    const payload = fragmented(Buffer.from('FILECHUNK:a\nb\ndata'))
    assert.equal(startsWithBytes(payload, fileChunkHeader('a\nb')), true)
    assert.equal(startsWithBytes(payload, fileChunkHeader('a\nc')), false)
    assert.equal(startsWithBytes(list('FILECHUNK:a'), fileChunkHeader('a')), false)
  })
})

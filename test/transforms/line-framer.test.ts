import assert from 'node:assert/strict'
import fc from 'fast-check'
import { describe, it } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import { LineSplitter, LineTexts, TEXT_WINDOW, decodeLine, lineFramer, type LineFramerOptions } from '../../transforms/line-framer.js'
import { bytes, chunked } from '../support/bytes.js'
import { collect, from } from '../support/pipeline.js'
import type { ByteChunk } from '../../transforms/core/bytes.js'

/** Feeds chunks through a fresh splitter and returns every line, checking the end. */
function splitAll (chunks: Uint8Array[], opts?: LineFramerOptions): string[] {
  const splitter = new LineSplitter(opts)
  const lines: string[] = []
  for (const chunk of chunks) {
    splitter.push(chunk)
    for (let line = splitter.nextLine(); line !== undefined; line = splitter.nextLine()) lines.push(line)
  }
  splitter.end()
  return lines
}

/** Every chunk size from one byte to the whole input. */
function forEveryChunkSize (data: Uint8Array, fn: (chunks: Uint8Array[], size: number) => void): void {
  for (let size = 1; size <= data.length; size++) fn(chunked(data, size), size)
}

describe('LineSplitter: framing', () => {
  it('splits lines across chunks of every size, down to one byte', () => {
    const data = bytes('hello\nworld\nPING\nBYTES look-alike:1\n')
    forEveryChunkSize(data, (chunks, size) => {
      assert.deepEqual(splitAll(chunks), ['hello', 'world', 'PING', 'BYTES look-alike:1'], `chunk size ${size}`)
    })
  })

  it('tolerates \\r\\n endings and stray ASCII whitespace', () => {
    const data = bytes('one\r\n  two  \n\tthree\t\r\n \x0b\x0cfour\r\r\n')
    forEveryChunkSize(data, chunks => {
      assert.deepEqual(splitAll(chunks), ['one', 'two', 'three', 'four'])
    })
  })

  it('keeps inner whitespace and non-ASCII spaces', () => {
    assert.deepEqual(splitAll([bytes(' a  b \n\u00a0c\u00a0\n')]), ['a  b', '\u00a0c\u00a0'])
  })

  it('frames empty and blank lines as empty strings', () => {
    const data = bytes('\n\r\n   \na\n\n')
    forEveryChunkSize(data, chunks => {
      assert.deepEqual(splitAll(chunks), ['', '', '', 'a', ''])
    })
  })

  it('decodes UTF-8 text split inside a multi-byte character', () => {
    const text = 'héllo wörld ✓ 🌍 日本語'
    const data = bytes(`${text}\n${text}\n`)
    forEveryChunkSize(data, chunks => {
      assert.deepEqual(splitAll(chunks), [text, text])
    })
  })

  it('keeps a leading byte order mark as text', () => {
    assert.deepEqual(splitAll([bytes('\ufeffhi\n')]), ['\ufeffhi'])
  })

  for (const [label, line] of [
    ['a stray 0xff', [0x61, 0xff, 0x62]],
    ['a lone continuation byte', [0x80]],
    ['an overlong encoding of /', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a multi-byte character cut by the newline', [0xe2, 0x9c]]
  ] as const) {
    it(`rejects ${label} with ERR_INVALID_UTF8`, () => {
      const data = new Uint8Array([...line, 0x0a])
      forEveryChunkSize(data, chunks => {
        assert.throws(() => splitAll(chunks), { code: 'ERR_INVALID_UTF8' })
      })
    })
  }

  it('rejects a NUL byte with ERR_NUL_BYTE', () => {
    for (const text of ['a\0b\n', '\0\n', ' \0 \n']) {
      forEveryChunkSize(bytes(text), chunks => {
        assert.throws(() => splitAll(chunks), { code: 'ERR_NUL_BYTE' })
      })
    }
  })

  it('reads Uint8ArrayList chunks through the transform', async () => {
    const chunk = new Uint8ArrayList(bytes('a\nb'), bytes('c\n'))
    assert.deepEqual(await collect(lineFramer()(from<ByteChunk>([chunk]))), [['a', 'bc']])
  })
})

describe('LineSplitter: maxLineLength', () => {
  const maxLineLength = 8
  const atLimit = 'x'.repeat(maxLineLength)
  const overLimit = 'x'.repeat(maxLineLength + 1)

  it('accepts a terminated line exactly at the limit', () => {
    forEveryChunkSize(bytes(`${atLimit}\n`), chunks => {
      assert.deepEqual(splitAll(chunks, { maxLineLength }), [atLimit])
    })
  })

  it('rejects a terminated line one byte over the limit with ERR_LINE_TOO_LONG', () => {
    forEveryChunkSize(bytes(`${overLimit}\n`), chunks => {
      assert.throws(() => splitAll(chunks, { maxLineLength }), { code: 'ERR_LINE_TOO_LONG', limit: maxLineLength })
    })
  })

  it('waits on an unterminated line that reaches the limit', () => {
    for (const chunks of [[bytes(atLimit)], chunked(bytes(atLimit), 1)]) {
      const splitter = new LineSplitter({ maxLineLength })
      for (const chunk of chunks) {
        splitter.push(chunk)
        assert.equal(splitter.nextLine(), undefined)
      }
      splitter.push(bytes('\n'))
      assert.equal(splitter.nextLine(), atLimit)
    }
  })

  it('rejects an unterminated line as soon as it grows one byte over the limit', () => {
    for (const size of [1, 3, maxLineLength + 1]) {
      const splitter = new LineSplitter({ maxLineLength })
      let received = 0
      assert.throws(() => {
        for (const chunk of chunked(bytes(overLimit + 'never read'), size)) {
          splitter.push(chunk)
          received += chunk.length
          splitter.nextLine()
        }
      }, { code: 'ERR_LINE_TOO_LONG' })
      // It fails on the chunk that carries the byte past the limit, not later.
      assert.ok(received >= maxLineLength + 1 && received < maxLineLength + 1 + size, `chunk size ${size}: failed after ${received} bytes`)
    }
  })

  it('does not add up many short lines of one chunk', () => {
    const data = bytes('1234567\n'.repeat(100))
    assert.equal(splitAll([data], { maxLineLength }).length, 100)
    assert.equal(splitAll([bytes('\n'.repeat(100))], { maxLineLength }).length, 100)
  })

  it('counts only the unfinished line left in a chunk, not the lines before it', () => {
    const lines = splitAll([bytes('1234567\n'.repeat(10) + atLimit.slice(0, 5)), bytes(atLimit.slice(5) + '\n')], { maxLineLength })
    assert.equal(lines.length, 11)
    assert.equal(lines[10], atLimit)
  })

  it('defaults to 64 KiB', () => {
    assert.equal(new LineSplitter().maxLineLength, 64 * 1024)
  })
})

describe('LineSplitter: end of input', () => {
  it('accepts input that ends after a newline', () => {
    assert.deepEqual(splitAll([bytes('a\n')]), ['a'])
    assert.deepEqual(splitAll([]), [])
  })

  it('tolerates trailing whitespace without a newline', () => {
    assert.deepEqual(splitAll(chunked(bytes('a\n \r\t'), 1)), ['a'])
  })

  it('rejects input that ends inside a line with ERR_TRUNCATED_FRAME', () => {
    for (const size of [1, 2, 100]) {
      assert.throws(() => splitAll(chunked(bytes('a\nunfinished'), size)), { code: 'ERR_TRUNCATED_FRAME' })
    }
  })
})

describe('lineFramer', () => {
  it('yields one batch per chunk that completes lines, empty lines included', async () => {
    const batches = await collect(lineFramer()(from([bytes('a\n\nb'), bytes('cd'), bytes('\ne\n')])))
    assert.deepEqual(batches, [['a', ''], ['bcd', 'e']])
  })

  it('delivers the lines before an offending byte, then throws', async () => {
    const batches: string[][] = []
    await assert.rejects(async () => {
      for await (const batch of lineFramer()(from([bytes('ok\nfine\nbad\0\nnever\n')]))) batches.push(batch)
    }, { code: 'ERR_NUL_BYTE' })
    assert.deepEqual(batches, [['ok', 'fine']])
  })

  it('throws ERR_TRUNCATED_FRAME when the source ends inside a line', async () => {
    await assert.rejects(collect(lineFramer()(from([bytes('a\nb')]))), { code: 'ERR_TRUNCATED_FRAME' })
  })

  it('applies maxLineLength', async () => {
    await assert.rejects(collect(lineFramer({ maxLineLength: 3 })(from([bytes('abcd')]))), { code: 'ERR_LINE_TOO_LONG' })
  })
})

describe('decodeLine', () => {
  it('decodes any text, short or long, ASCII or not, exactly as strict UTF-8 with ASCII whitespace trimmed (property)', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 300 })), text => {
      const clean = text.replace(/\u0000/g, '')
      const expected = clean.replace(/^[\t\n\v\f\r ]+|[\t\n\v\f\r ]+$/g, '')
      assert.equal(decodeLine(Buffer.from(clean)), expected)
    }), { numRuns: 500 })
  })

  it('finds a NUL byte and invalid UTF-8 in short and long lines alike', () => {
    for (const size of [10, 1000]) {
      const nul = Buffer.alloc(size, 0x61)
      nul[size >> 1] = 0
      assert.throws(() => decodeLine(nul), { code: 'ERR_NUL_BYTE' })
      const invalid = Buffer.alloc(size, 0x61)
      invalid[size >> 1] = 0xff
      assert.throws(() => decodeLine(invalid), { code: 'ERR_INVALID_UTF8' })
    }
  })
})

describe('LineTexts', () => {
  /** What `decode` gives for a span, or the code of what it throws. */
  const outcome = (decode: () => string): string => {
    try {
      return `text:${decode()}`
    } catch (err) {
      return `error:${(err as Error & { code?: string }).code ?? ''}`
    }
  }

  it('decodes every line of a chunk as decodeLine does, whatever its bytes and length', () => {
    const line = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.string({ maxLength: 300 }).map(text => Buffer.from(text)),
      fc.constantFrom(' padded \r', 'PING', '', '\t', 'é', 'a\0b').map(text => Buffer.from(text))
    )
    fc.assert(fc.property(fc.array(line, { maxLength: 60 }), lines => {
      const chunk = Buffer.concat(lines.flatMap(l => [l.filter(b => b !== 0x0a), Buffer.from('\n')]))
      const texts = new LineTexts()
      for (let start = 0; start < chunk.length;) {
        const end = chunk.indexOf(0x0a, start)
        assert.equal(outcome(() => texts.decode(chunk, start, end)), outcome(() => decodeLine(chunk, start, end)))
        start = end + 1
      }
      texts.release()
    }), { numRuns: 300 })
  })

  it('takes a new window past TEXT_WINDOW bytes, and never reads a released one again', () => {
    const chunk = Buffer.from('a'.repeat(TEXT_WINDOW - 2) + '\nbcdefghijklmnop\n')
    const texts = new LineTexts()
    assert.equal(texts.decode(chunk, 0, TEXT_WINDOW - 2), 'a'.repeat(TEXT_WINDOW - 2))
    // Starts inside the first window and ends past it.
    assert.equal(texts.decode(chunk, TEXT_WINDOW - 1, chunk.length - 1), 'bcdefghijklmnop')
    texts.release()
    // The same buffer with other bytes, as a transport that reuses its buffer would hand it over.
    chunk.write('z'.repeat(15), TEXT_WINDOW - 1, 'latin1')
    assert.equal(texts.decode(chunk, TEXT_WINDOW - 1, chunk.length - 1), 'z'.repeat(15))
  })
})

describe('LineTexts: windows that are not plain ASCII', () => {
  it('still check each line of theirs: a line with a NUL or bad UTF-8 fails alone, the lines around it decode', () => {
    const chunk = Buffer.concat([Buffer.from('plain\n'), Buffer.from([0x61, 0x00, 0x62, 0x0a]), Buffer.from('caf\u00e9\n'), Buffer.from([0xc3, 0x28, 0x0a]), Buffer.from('end\n')])
    const texts = new LineTexts()
    const results: string[] = []
    for (let start = 0; start < chunk.length;) {
      const end = chunk.indexOf(0x0a, start)
      try {
        results.push(texts.decode(chunk, start, end))
      } catch (err) {
        results.push((err as Error & { code: string }).code)
      }
      start = end + 1
    }
    assert.deepEqual(results, ['plain', 'ERR_NUL_BYTE', 'café', 'ERR_INVALID_UTF8', 'end'])
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { FALLBACK_NAME, MAX_SAFE_NAME_BYTES, numberedNames, safeFileName } from '../../lib/file-transfer/safe-name.js'

describe('safeFileName', () => {
  it('keeps ordinary names as they are', () => {
    for (const name of ['report.pdf', 'archive.tar.gz', '.bashrc', 'naïve café.txt', 'a|b.txt', 'file with spaces']) {
      assert.equal(safeFileName(name), name)
    }
  })

  it('reduces paths to their base name, whatever the separator', () => {
    assert.equal(safeFileName('../../x'), 'x')
    assert.equal(safeFileName('/etc/passwd'), 'passwd')
    assert.equal(safeFileName('C:\\Windows\\system.ini'), 'system.ini')
    assert.equal(safeFileName('a/b/../../../c.txt'), 'c.txt')
    assert.equal(safeFileName('..\\..\\boot.ini'), 'boot.ini')
  })

  it('replaces NUL, newlines, escape sequences and bidi overrides', () => {
    assert.equal(safeFileName('a\0b'), 'a_b')
    assert.equal(safeFileName('evil\nname.txt'), 'evil_name.txt')
    assert.equal(safeFileName('x\r\n/etc/passwd'), 'passwd')
    assert.equal(safeFileName('\x1b[31mred'), '_[31mred')
    assert.equal(safeFileName('photo\u202egnp.exe'), 'photo_gnp.exe')
    assert.equal(safeFileName('c1\x85name'), 'c1_name')
  })

  it('falls back when nothing usable is left', () => {
    for (const name of ['', '.', '..', '...', '/', '../', 'a/..', '   ', 'dir/']) assert.equal(safeFileName(name), FALLBACK_NAME, JSON.stringify(name))
  })

  it('shortens long names to MAX_SAFE_NAME_BYTES, keeping the extension and whole characters', () => {
    const long = safeFileName('é'.repeat(300) + '.txt')
    assert.ok(Buffer.byteLength(long) <= MAX_SAFE_NAME_BYTES)
    assert.ok(long.endsWith('é.txt'))
    assert.ok(!long.includes('\ufffd'))
    const exact = 'a'.repeat(MAX_SAFE_NAME_BYTES)
    assert.equal(safeFileName(exact), exact)
    assert.equal(safeFileName(exact + 'a'), exact)
  })

  it('always returns a single path segment without control characters', () => {
    for (let i = 0; i < 500; i++) {
      const name = String.fromCharCode(...Array.from({ length: 1 + Math.floor(Math.random() * 40) }, () => Math.floor(Math.random() * 0x3000)))
      const safe = safeFileName(name)
      assert.ok(safe.length > 0 && safe !== '.' && safe !== '..')
      assert.doesNotMatch(safe, /[/\\\x00-\x1f\x7f]/)
    }
  })
})

describe('numberedNames', () => {
  it('numbers before the extension, like the existing peers', () => {
    assert.deepEqual([...numberedNames('a.txt', 2)], ['a.txt', 'a-(1).txt', 'a-(2).txt'])
    assert.deepEqual([...numberedNames('archive.tar.gz', 1)], ['archive.tar.gz', 'archive.tar-(1).gz'])
    assert.deepEqual([...numberedNames('.bashrc', 1)], ['.bashrc', '.bashrc-(1)'])
    assert.deepEqual([...numberedNames('noext', 1)], ['noext', 'noext-(1)'])
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Output, clock, formatBytes, formatDuration, formatRate, printable } from '../../lib/cli/output.js'

function capture (terminal: boolean): { out: Output, text: () => string } {
  const chunks: string[] = []
  const out = new Output({ stream: { write: (text: string) => chunks.push(text), columns: 200 }, terminal, color: false })
  return { out, text: () => chunks.join('') }
}

const TIME = /\[\d\d:\d\d:\d\d\]/.source

describe('Output', () => {
  it('prints [HH:MM:SS] [CATEGORY] text and [HH:MM:SS] [peer] text, without colour off a terminal', () => {
    const { out, text } = capture(false)
    out.line('NETWORK', 'Connected')
    out.chat('bob', 'hi there')
    assert.match(text(), new RegExp(`^${TIME} \\[NETWORK\\] Connected\\n${TIME} \\[bob\\] hi there\\n$`))
  })

  it('colours only when asked to on a terminal', () => {
    const chunks: string[] = []
    new Output({ stream: { write: (text: string) => chunks.push(text) }, terminal: true, color: true }).line('ERROR', 'x')
    assert.match(chunks.join(''), /\x1b\[31m\[ERROR\]\x1b\[0m x\n/)
    const plain = capture(true)
    plain.out.line('ERROR', 'x')
    assert.doesNotMatch(plain.text(), /\x1b\[/)
  })

  it('escapes control characters from peers, so they cannot drive the terminal', () => {
    const { out, text } = capture(false)
    out.chat('ev\x1bil', 'red \x1b[31m\r\nline\ttab\x00')
    assert.match(text(), /\[ev\\x1bil\] red \\x1b\[31m\\x0d\\x0aline\ttab\\x00\n$/)
  })

  it('shows progress off a terminal as a line at each quarter, leaving 100% to the end line', () => {
    const { out, text } = capture(false)
    for (let done = 0; done <= 100; done += 10) out.progress('k', 'Sending f', done, 100)
    out.progressDone('k')
    const lines = text().trimEnd().split('\n')
    assert.deepEqual(lines.map(line => line.replace(/^\S+ /, '')), [
      '[FILE] Sending f: 25% (30 B of 100 B)', '[FILE] Sending f: 50% (50 B of 100 B)', '[FILE] Sending f: 75% (80 B of 100 B)'
    ])
  })

  it('draws a bar on a terminal, below the lines, and removes it when done', () => {
    const { out, text } = capture(true)
    out.progress('k', 'Sending f', 50, 100)
    out.line('SYSTEM', 'meanwhile')
    out.progressDone('k')
    const bar = 'Sending f [##########----------] 50%'
    assert.equal(text().replace(/\[\d\d:\d\d:\d\d\]/, '[T]'), `\r\x1b[2K${bar}\r\x1b[2K[T] [SYSTEM] meanwhile\n\r\x1b[2K${bar}\r\x1b[2K`)
  })
})

describe('formatting', () => {
  it('formats sizes, rates, durations and times', () => {
    assert.equal(formatBytes(0), '0 B')
    assert.equal(formatBytes(1023), '1023 B')
    assert.equal(formatBytes(1536), '1.5 KiB')
    assert.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB')
    assert.equal(formatRate(1024 * 1024, 500), '2.0 MiB/s')
    assert.equal(formatDuration(850.4), '850 ms')
    assert.equal(formatDuration(1234), '1.2 s')
    assert.equal(clock(new Date(2024, 0, 1, 9, 5, 7)), '09:05:07')
    assert.equal(printable('plain text'), 'plain text')
  })
})

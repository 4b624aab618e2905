/**
 * Whether a run of bytes is plain ASCII text: no byte above 0x7f, no NUL.
 * Node checks a run natively (`isAscii` is SIMD, `indexOf` is memchr): a
 * kilobyte costs about what a JavaScript loop spends on one short line.
 */
import { isAscii } from 'node:buffer'

const { indexOf: indexOfByte } = Buffer.prototype

export function isPlainAscii (bytes: Uint8Array, start: number, end: number): boolean {
  const run = bytes.subarray(start, end)
  return isAscii(run) && indexOfByte.call(run, 0) < 0
}

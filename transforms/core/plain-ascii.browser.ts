/** Whether a run of bytes is plain ASCII text: no byte above 0x7f, no NUL. Browsers have no native check. */
export function isPlainAscii (bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const byte = bytes[i] as number
    if (byte === 0 || byte >= 0x80) return false
  }
  return true
}

/**
 * Messages kept while no `messages()` reader is attached, so that a reader
 * that attaches late still gets them: at most `maxBytes` of them, the oldest
 * dropped first. A drop is never silent: `onOverflow` is told once per run
 * of drops (until a reader takes what is kept).
 */
import type { IncomingMessage } from '../types.js'

/**
 * What a message counts for against the bound: its text, or the buffers its
 * payload is a view of (a small payload can hold a whole socket read in
 * memory), and a little for the record.
 */
function retainedSize (msg: IncomingMessage): number {
  if (msg.type === 'chat') return msg.text.length + 64
  let bytes = 64
  for (const piece of msg.data) bytes += piece.buffer.byteLength
  return bytes
}

export class RetainedMessages {
  private items: IncomingMessage[] = []
  private head = 0
  private bytes = 0
  private overflowing = false

  constructor (private readonly maxBytes: number, private readonly onOverflow: () => void) {}

  get size (): number {
    return this.items.length - this.head
  }

  add (msg: IncomingMessage): void {
    if (this.maxBytes === 0) return
    this.items.push(msg)
    this.bytes += retainedSize(msg)
    while (this.bytes > this.maxBytes && this.size > 0) {
      this.bytes -= retainedSize(this.items[this.head] as IncomingMessage)
      // Dropped means unreachable: the array keeps its slot until it is compacted, not the message.
      this.items[this.head++] = undefined as unknown as IncomingMessage
      if (!this.overflowing) {
        this.overflowing = true
        this.onOverflow()
      }
    }
    // Compact now and then, so the array does not grow with dropped slots.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }

  /** Everything kept, oldest first; the store is empty afterwards. */
  take (): IncomingMessage[] {
    const taken = this.items.slice(this.head)
    this.items = []
    this.head = 0
    this.bytes = 0
    this.overflowing = false
    return taken
  }
}

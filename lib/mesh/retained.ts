/**
 * Messages kept from the moment no `messages()` reader is attached, so that
 * a reader that attaches late still gets them, up to `maxBytes`. Past that
 * bound the store gives up: it drops what it kept, says so once through
 * `onOverflow`, and keeps nothing more until a reader takes it. A node whose
 * application only listens to events so pays for the store once, not for
 * every message, and a late reader is never silently short of messages.
 */
import type { IncomingMessage } from '../types.js'

/** What a message counts for against the bound: its text or payload, and a little for the record. */
function retainedSize (msg: IncomingMessage): number {
  return (msg.type === 'chat' ? msg.text.length : msg.data.byteLength) + 64
}

export class RetainedMessages {
  private items: IncomingMessage[] = []
  private bytes = 0
  private gaveUp = false

  constructor (private readonly maxBytes: number, private readonly onOverflow: () => void) {}

  add (msg: IncomingMessage): void {
    if (this.gaveUp) return
    this.bytes += retainedSize(msg)
    if (this.bytes <= this.maxBytes) {
      this.items.push(msg)
      return
    }
    this.items = []
    this.bytes = 0
    this.gaveUp = true
    if (this.maxBytes > 0) this.onOverflow()
  }

  /** Everything kept, oldest first; the store starts keeping again afterwards. */
  take (): IncomingMessage[] {
    const taken = this.items
    this.items = []
    this.bytes = 0
    this.gaveUp = false
    return taken
  }
}

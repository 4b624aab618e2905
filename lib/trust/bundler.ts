/**
 * The author's side of signing: messages broadcast within one turn of the
 * event loop (a producer's batch, or calls made one after another without
 * awaiting) go out as one bundle, signed once. A bundle is closed when it
 * would pass `maxBundleBytes` (its entries as encoded) or `MAX_BUNDLE_ENTRIES`,
 * or at the end of the turn (a microtask, so an idle message waits for no
 * timer).
 *
 * Backpressure is the publisher's: while the last bundle waits for a full
 * queue, `add()` hands that wait to the producer, so at most one bundle more
 * than the queues hold is ever built.
 */
import type { BroadcastResult } from '../types.js'
import { ENTRY_OVERHEAD, MAX_BUNDLE_ENTRIES, type BundleEntry } from './signed-bundle.js'

/** Signs and sends one bundle: `undefined` when every queue took it at once, else a promise of when they did. */
export type Publish = (entries: BundleEntry[]) => { result: BroadcastResult, wait: Promise<BroadcastResult> | undefined }

interface OpenBundle {
  entries: BundleEntry[]
  bytes: number
  result: Promise<BroadcastResult>
  settle: (result: Promise<BroadcastResult> | BroadcastResult) => void
}

export class Bundler {
  private open: OpenBundle | undefined
  /** The last bundle's wait for full queues, until it ends. */
  private backpressure: Promise<unknown> | undefined

  /**
   * @param maxBundleBytes encoded entry bytes in one bundle at most (a larger message goes alone)
   * @param publish signs and sends a closed bundle
   */
  constructor (private readonly maxBundleBytes: number, private readonly publish: Publish) {}

  /**
   * Adds a message to the open bundle.
   * @returns `result`: the bundle's, once it is queued for every neighbour; `wait`: what a producer should wait for before the next message
   */
  add (entry: BundleEntry): { result: Promise<BroadcastResult>, wait: Promise<unknown> | undefined } {
    const size = entrySize(entry)
    if (this.open !== undefined && (this.open.bytes + size > this.maxBundleBytes || this.open.entries.length === MAX_BUNDLE_ENTRIES)) this.close()
    let open = this.open
    if (open === undefined) {
      let settle: OpenBundle['settle'] = () => {}
      const result = new Promise<BroadcastResult>(resolve => { settle = resolve })
      // A producer that only waits for queues never looks at the result: its failure must not go unhandled.
      result.catch(() => {})
      open = this.open = { entries: [], bytes: 0, result, settle }
      queueMicrotask(() => { if (this.open === open) this.close() })
    }
    open.entries.push(entry)
    open.bytes += size
    return { result: open.result, wait: this.backpressure }
  }

  /** Signs and sends the open bundle, if any. */
  close (): void {
    const open = this.open
    if (open === undefined) return
    this.open = undefined
    let published: ReturnType<Publish>
    try {
      published = this.publish(open.entries)
    } catch (err) {
      open.settle(Promise.reject(err))
      return
    }
    const { result, wait } = published
    if (wait === undefined) {
      open.settle(result)
      return
    }
    open.settle(wait)
    const pending = this.backpressure = wait.then(() => { if (this.backpressure === pending) this.backpressure = undefined })
  }
}

/** Bytes an entry takes in a bundle (names counted by UTF-16 units, at most 3 bytes each in UTF-8). */
function entrySize (entry: BundleEntry): number {
  const vouched = entry.vouchedFor === undefined ? 0 : 4 + 3 * (entry.vouchedFor.id.length + entry.vouchedFor.name.length)
  return ENTRY_OVERHEAD + vouched + entry.data.byteLength
}

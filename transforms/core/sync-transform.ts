/**
 * The one wrapper between a transform's synchronous core and the stream:
 * each input item (a chunk, a batch) goes through the core's `step()`,
 * which adds what it completes to a fresh output batch; the wrapper only
 * iterates. Output comes one batch per input item, so the cost of async
 * iteration is paid per chunk, never per message.
 */

/** A transform's synchronous core. */
export interface SyncCore<In, Batch> {
  /**
   * Takes one input item and adds what it completes to `out`. Returns true
   * to pass `out` on even when it is empty (the input held a sign of life,
   * a blank line, say). May throw: what it added first is still delivered.
   */
  step: (input: In, out: Batch) => boolean | undefined | void
  /** Called once the input has ended; throws when it ended in the middle of something. */
  end?: () => void
}

/** How the output batches are made: a new, empty one per input item. */
export interface BatchKind<Batch> {
  create: () => Batch
  isEmpty: (batch: Batch) => boolean
}

export interface SyncTransformOptions {
  /** Yield a batch for every input item, even an empty one, so that later stages see every sign of life. @default false */
  emitEmpty?: boolean
}

/** Output batches as arrays. */
export function arrays<T> (): BatchKind<T[]> {
  return { create: () => [], isEmpty: batch => batch.length === 0 }
}

/**
 * A transform running a fresh core (from `makeCore`) per stream. On a
 * throwing step, the output so far is yielded before the error ends the
 * stream: frames completed before an offending byte are never lost.
 */
export function syncTransform<In, Batch> (makeCore: () => SyncCore<In, Batch>, kind: BatchKind<Batch>, { emitEmpty = false }: SyncTransformOptions = {}) {
  return (source: AsyncIterable<In>): AsyncGenerator<Batch> => runCore(source, makeCore, kind, emitEmpty)
}

/**
 * The loop of every synchronous transform. One generator function for all
 * streams: a generator function made per stream gives each connection's
 * generators a prototype and hidden classes of their own, about 2 KiB per
 * connection end in a full mesh.
 */
async function * runCore<In, Batch> (source: AsyncIterable<In>, makeCore: () => SyncCore<In, Batch>, kind: BatchKind<Batch>, emitEmpty: boolean): AsyncGenerator<Batch> {
  const core = makeCore()
  for await (const input of source) {
    const out = kind.create()
    let alive
    try {
      alive = core.step(input, out)
    } catch (err) {
      if (!kind.isEmpty(out)) yield out
      throw err
    }
    if (emitEmpty || alive === true || !kind.isEmpty(out)) yield out
  }
  core.end?.()
}

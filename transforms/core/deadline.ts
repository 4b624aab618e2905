/**
 * Timers raced against awaits, the one way meshline bounds a wait. A
 * `Deadline` serves one wait or many (a handshake's successive reads under
 * one time limit); `within()` bounds a single one. Either way the timer is
 * cleared as soon as it is no longer needed, so none outlives its wait.
 * `raceSignal()` does the same for an `AbortSignal`.
 */

export class Deadline<T> {
  private readonly timer: NodeJS.Timeout
  private readonly expired: Promise<T>

  /** Starts the clock: after `ms`, every `race()` settles with what `onExpire()` returns, or rejects with what it throws. */
  constructor (ms: number, onExpire: () => T) {
    let expire: () => void = () => {}
    this.expired = new Promise<T>((resolve, reject) => {
      expire = () => {
        try {
          resolve(onExpire())
        } catch (err) {
          reject(err)
        }
      }
    })
    // Nobody may be racing when it expires; the rejection is seen by the next race.
    this.expired.catch(() => {})
    this.timer = setTimeout(expire, ms)
  }

  /** `promise`, unless the deadline passes first. */
  async race<U> (promise: Promise<U>): Promise<U | T> {
    return await Promise.race([promise, this.expired])
  }

  /** Stops the clock. */
  clear (): void {
    clearTimeout(this.timer)
  }
}

/** `promise`, or what `onExpire()` returns (or throws) after `ms`. */
export async function within<U, T> (promise: Promise<U>, ms: number, onExpire: () => T): Promise<U | T> {
  const deadline = new Deadline(ms, onExpire)
  try {
    return await deadline.race(promise)
  } finally {
    deadline.clear()
  }
}

/**
 * The waits on each signal, told by the signal's one listener. An
 * `AbortSignal` keeps its listeners in a list that every add and remove
 * walks; a node's lifetime signal has a wait per dial in flight, hundreds
 * in a full mesh forming, and walking them took a twentieth of its time.
 */
const waitsOn = new WeakMap<AbortSignal, Set<() => void>>()

/** Calls `onAbort` when `signal` aborts; the returned function stops that. */
function whenAborted (signal: AbortSignal, onAbort: () => void): () => void {
  let waits = waitsOn.get(signal)
  if (waits === undefined) {
    const all = new Set<() => void>()
    waitsOn.set(signal, all)
    signal.addEventListener('abort', () => { for (const wait of all) wait() }, { once: true })
    waits = all
  }
  waits.add(onAbort)
  const registered = waits
  return () => { registered.delete(onAbort) }
}

/** `promise`, unless `signal` aborts first: then a rejection with the signal's reason. The listener goes with the wait. */
export async function raceSignal<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw signal.reason
  let stop: () => void = () => {}
  const aborted = new Promise<never>((_resolve, reject) => {
    stop = whenAborted(signal, () => { reject(signal.reason) })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    stop()
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts; the timer goes with the wait. */
export async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    await raceSignal(new Promise<void>(resolve => { timer = setTimeout(resolve, ms) }), signal)
  } finally {
    clearTimeout(timer)
  }
}

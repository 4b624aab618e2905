/**
 * A simulated clock: callbacks scheduled at virtual times, run in time
 * order (ties in the order they were scheduled), with no real waiting. A
 * binary heap keeps `schedule` and each step at O(log events).
 */

interface Event {
  at: number
  seq: number
  run: () => void
}

/** A scheduled callback; `cancel()` keeps it from running. */
export interface Timer {
  cancel: () => void
}

export class VirtualClock {
  /** The current virtual time, in ms. */
  now = 0
  /** Callbacks run so far. */
  steps = 0
  private readonly heap: Event[] = []
  private seq = 0

  /** Runs `run` after `delay` ms of virtual time. */
  schedule (delay: number, run: () => void): Timer {
    let live = true
    this.push({ at: this.now + Math.max(0, delay), seq: this.seq++, run: () => { if (live) run() } })
    return { cancel: () => { live = false } }
  }

  /** Runs `run` every `period` ms, first after `phase` ms, until cancelled. */
  every (period: number, phase: number, run: () => void): Timer {
    let current: Timer
    const tick = (): void => {
      current = this.schedule(period, tick)
      run()
    }
    current = this.schedule(phase, tick)
    return { cancel: () => { current.cancel() } }
  }

  /** Runs events until virtual time `time` (those due at it included); the clock then reads `time`. */
  runUntil (time: number): void {
    this.runWhile(() => true, time)
    this.now = Math.max(this.now, time)
  }

  /**
   * Runs events while `condition()` holds, checked before each, up to
   * virtual time `limit`. @returns whether the condition stopped it
   */
  runWhile (condition: () => boolean, limit: number): boolean {
    for (;;) {
      if (!condition()) return true
      const next = this.heap[0]
      if (next === undefined || next.at > limit) return false
      this.pop()
      this.now = next.at
      this.steps++
      next.run()
    }
  }

  private push (event: Event): void {
    const heap = this.heap
    heap.push(event)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(event, heap[parent] as Event)) break
      heap[i] = heap[parent] as Event
      i = parent
    }
    heap[i] = event
  }

  private pop (): void {
    const heap = this.heap
    const last = heap.pop() as Event
    if (heap.length === 0) return
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= heap.length) break
      const right = left + 1
      const child = right < heap.length && before(heap[right] as Event, heap[left] as Event) ? right : left
      if (!before(heap[child] as Event, last)) break
      heap[i] = heap[child] as Event
      i = child
    }
    heap[i] = last
  }
}

function before (a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}

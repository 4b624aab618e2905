/**
 * A message stage: one step of a transform, called per batch, with no
 * async generator of its own. A connection runs its consecutive stages in
 * one loop (`runStages`), so a stage costs a call per batch, where a
 * transform written as a generator costs a suspended generator for the
 * connection's life and a promise hop per batch: a full mesh of N nodes
 * keeps N^2 of each per stage.
 */
import type { Message } from './line-protocol.js'

export interface MessageStage {
  /**
   * Takes the next batch and returns what passes on: the batch itself when
   * all of it does, or a promise of what passes on when the stage must wait
   * first (an answer waiting for room in a full queue). Throwing ends the
   * stream with that error.
   */
  step: (batch: Message[]) => Message[] | Promise<Message[]>
  /** Told once the batch passed on was taken downstream, when the next input is awaited. */
  resumed?: () => void
  /** The stream ended, however it ended: release what the stage holds (timers). */
  end?: () => void
}

/** Runs `stages` one after the other on every batch of `source`, as one transform. */
export async function * runStages (source: AsyncIterable<Message[]>, stages: readonly MessageStage[]): AsyncGenerator<Message[]> {
  try {
    for await (const input of source) {
      let batch = input
      for (const stage of stages) {
        const output = stage.step(batch)
        batch = output instanceof Promise ? await output : output
      }
      yield batch
      for (const stage of stages) stage.resumed?.()
    }
  } finally {
    for (const stage of stages) stage.end?.()
  }
}

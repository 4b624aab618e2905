/**
 * What a protocol transform may do to the connection it runs in. Inbound
 * transforms read messages in order; when the protocol requires an answer
 * (`PONG`, `PEERS:`) they queue it on the same connection's outbound side
 * through this interface, which is the only path from inbound to outbound.
 */
import type { Message } from './line-protocol.js'
import { checkArgument, isFunction } from './option-table.js'
import { MeshlineError, TransformError } from './errors.js'
import { runStages, type MessageStage } from './message-stage.js'

export interface Link {
  /** Queues a message for the peer; resolves once queued, waiting while the queue is full. */
  send: (msg: Message) => Promise<void>
  /** Closes the connection, reporting `reason`. */
  close: (reason: Error) => void
}

/**
 * Queues `count` answers made by `answer` on `link`, each once the one before
 * is queued, then resolves with `batch`: a stage that must answer passes its
 * batch on only once there was room for the answers, so a peer that never
 * reads cannot make it queue answers without bound.
 */
export async function answerInTurn (link: Link, count: number, answer: () => Message, batch: Message[]): Promise<Message[]> {
  for (let i = 0; i < count; i++) await link.send(answer())
  return batch
}

/** Whether `value` can serve as a `Link`. */
export function isLink (value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Link).send === 'function' && typeof (value as Link).close === 'function'
}

/** What a transform knows of the connection it runs in. */
export interface ConnectionContext {
  /** The peer's id, once its handshake is done; `undefined` before. */
  readonly peerId: string | undefined
  /** `outbound` when this node dialled the connection. */
  readonly direction: 'inbound' | 'outbound'
  /** The other end of the connection, `host:port`. */
  readonly remoteAddress: string
}

/**
 * A stage of a connection's inbound or outbound pipeline: batches of
 * messages in, batches out. A node passes the connection's `context`; a
 * pipeline of your own (it-pipe) passes none.
 */
export type MessageTransform = (source: AsyncIterable<Message[]>, context?: ConnectionContext) => AsyncIterable<Message[]>

/** A transform made of one `MessageStage` per stream: composed with other staged transforms, it runs in their loop. */
export interface StagedTransform extends MessageTransform {
  /** Makes the stage for one stream. */
  readonly stage: (context?: ConnectionContext) => MessageStage
}

/** A transform from a stage factory: alone it runs its own loop; in `composeTransforms`, consecutive staged transforms share one. */
export function staged (stage: (context?: ConnectionContext) => MessageStage): StagedTransform {
  // Named, as the errors of a guarded transform name it by its function's name.
  const transform = function staged (source: AsyncIterable<Message[]>, context?: ConnectionContext): AsyncIterable<Message[]> {
    return runStages(source, [stage(context)])
  }
  return Object.assign(transform, { stage })
}

/** Whether `transform` was made by `staged`. */
export function isStaged (transform: MessageTransform): transform is StagedTransform {
  return typeof (transform as Partial<StagedTransform>).stage === 'function'
}

/**
 * Builds a transform from a per-message function. Return the message (or a
 * replacement) to pass it on, an array to emit several, or `undefined` to
 * consume it.
 *
 * @example
 * ```ts
 * const shout = mapMessages(m => m.type === 'chat' ? { ...m, text: m.text.toUpperCase() } : m)
 * ```
 */
export function mapMessages (fn: (msg: Message) => Message | Message[] | undefined): StagedTransform {
  checkArgument('fn', 'a function from a message to messages', fn, isFunction)
  const step = (batch: Message[]): Message[] => {
    const out: Message[] = []
    for (const msg of batch) {
      const result = fn(msg)
      if (result === undefined) continue
      if (Array.isArray(result)) out.push(...result)
      else out.push(result)
    }
    return out
  }
  return staged(() => ({ step }))
}

/**
 * Runs transforms one after the other, as one transform, each given the
 * same context. Consecutive staged transforms run in one loop.
 */
export function composeTransforms (transforms: readonly MessageTransform[]): MessageTransform {
  checkArgument('transforms', 'an array of transforms', transforms, value => Array.isArray(value) && value.every(isFunction))
  return (source, context) => {
    let stream = source
    let stages: MessageStage[] = []
    for (const transform of transforms) {
      if (isStaged(transform)) {
        stages.push(transform.stage(context))
        continue
      }
      if (stages.length > 0) stream = runStages(stream, stages)
      stages = []
      stream = transform(stream, context)
    }
    return stages.length > 0 ? runStages(stream, stages) : stream
  }
}

/**
 * `transform`, with whatever it throws that is not a meshline error
 * reported as a `TransformError` naming it (`label`). Errors from earlier
 * stages (a protocol violation, say) pass through it unchanged.
 */
export function guarded (transform: MessageTransform, label: string): MessageTransform {
  const wrap = (err: unknown): never => { throw err instanceof MeshlineError ? err : new TransformError(label, { cause: err }) }
  if (isStaged(transform)) return staged(context => guardedStage(transform, context, wrap))
  return (source, context) => {
    let output: AsyncIterable<Message[]>
    try {
      output = transform(source, context)
    } catch (err) {
      return wrap(err)
    }
    return {
      [Symbol.asyncIterator]: () => {
        const iterator = output[Symbol.asyncIterator]()
        return {
          next: async () => await iterator.next().catch(wrap),
          return: async (value?: unknown) => await (iterator.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined }))
        }
      }
    }
  }
}

/** `transform`'s stage for `context`, with whatever it throws, at once or in a step, passed through `wrap`. */
function guardedStage (transform: StagedTransform, context: ConnectionContext | undefined, wrap: (err: unknown) => never): MessageStage {
  let stage: MessageStage
  try {
    stage = transform.stage(context)
  } catch (err) {
    return wrap(err)
  }
  return {
    step: batch => {
      try {
        const output = stage.step(batch)
        return output instanceof Promise ? output.catch(wrap) : output
      } catch (err) {
        return wrap(err)
      }
    },
    resumed: stage.resumed?.bind(stage),
    end: stage.end?.bind(stage)
  }
}

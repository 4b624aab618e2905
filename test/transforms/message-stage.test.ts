import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { composeTransforms, guarded, isStaged, mapMessages, staged, type MessageTransform } from '../../transforms/core/link.js'
import { runStages, type MessageStage } from '../../transforms/core/message-stage.js'
import { LineTooLongError } from '../../transforms/core/errors.js'
import type { Message } from '../../transforms/core/line-protocol.js'
import { PENDING, settled } from '../../harness/async.js'
import { Batches } from '../support/pipeline.js'

const chat = (text: string): Message => ({ type: 'chat', text })

/** A stage that records what happens to it under `name`. */
function recording (name: string, log: string[], step: (batch: Message[]) => Message[] | Promise<Message[]> = batch => batch): MessageStage {
  return {
    step: batch => { log.push(`${name}.step(${batch.length})`); return step(batch) },
    resumed: () => { log.push(`${name}.resumed`) },
    end: () => { log.push(`${name}.end`) }
  }
}

describe('message stages', () => {
  it('run in order on each batch, are told when downstream took it, and end once', async () => {
    const log: string[] = []
    const source = new Batches()
    const out = runStages(source, [recording('a', log), recording('b', log, batch => batch.slice(1))])
    source.push([chat('1'), chat('2')])
    assert.deepEqual((await out.next()).value, [chat('2')])
    assert.deepEqual(log, ['a.step(2)', 'b.step(2)'])
    const next = out.next()
    assert.equal(await settled(next), PENDING)
    assert.deepEqual(log.slice(2), ['a.resumed', 'b.resumed'])
    source.end()
    assert.equal((await next).done, true)
    assert.deepEqual(log.slice(4), ['a.end', 'b.end'])
  })

  it('wait for a step that returns a promise before the next stage sees the batch', async () => {
    const log: string[] = []
    let release: (() => void) | undefined
    const waiting = recording('a', log, async batch => { await new Promise<void>(resolve => { release = resolve }); return batch })
    const source = new Batches()
    const out = runStages(source, [waiting, recording('b', log)])
    source.push([chat('x')])
    const first = out.next()
    assert.equal(await settled(first), PENDING)
    assert.deepEqual(log, ['a.step(1)'])
    release?.()
    assert.deepEqual((await first).value, [chat('x')])
    assert.deepEqual(log, ['a.step(1)', 'b.step(1)'])
    source.end()
    await out.next()
  })

  it('end every stage when a step throws, when the source fails and when the reader stops early', async () => {
    const throwing = async (stages: MessageStage[], source: AsyncIterable<Message[]>): Promise<unknown> => {
      try {
        for await (const batch of runStages(source, stages)) assert.ok(batch)
      } catch (err) {
        return err
      }
    }
    const log: string[] = []
    const bad = recording('bad', log, () => { throw new RangeError('no') })
    assert.ok(await throwing([recording('a', log), bad], (async function * () { yield [chat('1')] })()) instanceof RangeError)
    assert.deepEqual(log, ['a.step(1)', 'bad.step(1)', 'a.end', 'bad.end'])

    log.length = 0
    const failing = (async function * (): AsyncGenerator<Message[]> { throw new LineTooLongError(8) })()
    assert.ok(await throwing([recording('a', log)], failing) instanceof LineTooLongError)
    assert.deepEqual(log, ['a.end'])

    log.length = 0
    const source = new Batches()
    const out = runStages(source, [recording('a', log)])
    source.push([chat('1')])
    await out.next()
    await out.return(undefined)
    assert.deepEqual(log, ['a.step(1)', 'a.end'])
  })
})

describe('staged transforms', () => {
  it('compose into one loop, around transforms that are not staged, in order', async () => {
    const made: string[] = []
    const suffix = (s: string): MessageTransform => staged(() => {
      made.push(s)
      return { step: batch => batch.map(m => m.type === 'chat' ? chat(m.text + s) : m) }
    })
    const generator: MessageTransform = async function * (source) {
      for await (const batch of source) yield batch.map(m => m.type === 'chat' ? chat(`${m.text}|`) : m)
    }
    const composed = composeTransforms([suffix('a'), suffix('b'), generator, suffix('c'), mapMessages(m => [m, m])])
    const out: Message[][] = []
    for await (const batch of composed((async function * () { yield [chat('x')]; yield [] })())) out.push(batch)
    assert.deepEqual(out, [[chat('xab|c'), chat('xab|c')], []])
    assert.deepEqual(made, ['a', 'b', 'c'])
    assert.ok(isStaged(mapMessages(m => m)))
    assert.ok(!isStaged(generator))
  })

  it('run alone as a transform of their own', async () => {
    const out: Message[][] = []
    for await (const batch of mapMessages(m => m.type === 'ping' ? undefined : m)((async function * () { yield [{ type: 'ping' }, chat('y')] as Message[] })())) out.push(batch)
    assert.deepEqual(out, [[chat('y')]])
  })

  it('guarded, report what a step throws or rejects with as a TransformError, and stay staged', async () => {
    const throwing = guarded(staged(() => ({ step: () => { throw new RangeError('bad shape') } })), 'inbound transform 1 (x)')
    const rejecting = guarded(staged(() => ({ step: async () => { throw new TypeError('late') } })), 'inbound transform 2 (y)')
    assert.ok(isStaged(throwing) && isStaged(rejecting))
    for (const [transform, cause] of [[throwing, RangeError], [rejecting, TypeError]] as const) {
      const run = async (): Promise<void> => { for await (const batch of composeTransforms([transform])((async function * () { yield [chat('z')] })())) assert.ok(batch) }
      await assert.rejects(run(), (err: Error & { code?: string, cause?: unknown }) => err.code === 'ERR_TRANSFORM' && err.cause instanceof cause)
    }
  })
})

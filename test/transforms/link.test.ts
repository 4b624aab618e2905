import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { composeTransforms, guarded, mapMessages, type ConnectionContext, type MessageTransform } from '../../transforms/core/link.js'
import { LineTooLongError } from '../../transforms/core/errors.js'
import type { Message } from '../../transforms/core/line-protocol.js'

const CONTEXT: ConnectionContext = { peerId: 'p', direction: 'inbound', remoteAddress: 'h:1' }

async function run (transform: MessageTransform, batches: Message[][], context?: ConnectionContext): Promise<Message[][]> {
  const out: Message[][] = []
  for await (const batch of transform((async function * () { yield * batches })(), context)) out.push(batch)
  return out
}

describe('composeTransforms and guarded', () => {
  it('runs transforms in order and gives each the connection context', async () => {
    const seen: Array<ConnectionContext | undefined> = []
    const tag = (suffix: string): MessageTransform => async function * (source, context) {
      seen.push(context)
      for await (const batch of source) yield batch.map(m => m.type === 'chat' ? { type: 'chat', text: m.text + suffix } : m)
    }
    const out = await run(composeTransforms([tag('-a'), tag('-b')]), [[{ type: 'chat', text: 'x' }]], CONTEXT)
    assert.deepEqual(out, [[{ type: 'chat', text: 'x-a-b' }]])
    assert.deepEqual(seen, [CONTEXT, CONTEXT])
  })

  it('reports what a transform throws as a TransformError naming it, at once or mid-stream', async () => {
    const failing = guarded(mapMessages(() => { throw new RangeError('bad shape') }), 'inbound transform 0 (map)')
    await assert.rejects(run(failing, [[{ type: 'ping' }]]), (err: Error & { code?: string, cause?: unknown }) =>
      err.code === 'ERR_TRANSFORM' && /inbound transform 0 \(map\) threw: bad shape/.test(err.message) && err.cause instanceof RangeError)
    const factory = guarded(() => { throw new TypeError('not even a stream') }, 'outbound transform 2 (x)')
    await assert.rejects(run(factory, []), (err: Error & { code?: string }) => err.code === 'ERR_TRANSFORM')
  })

  it('lets an earlier stage\'s error through unchanged', async () => {
    const upstream: MessageTransform = async function * () { throw new LineTooLongError(8) } // eslint-disable-line require-yield
    const passing = guarded(mapMessages(m => m), 'inbound transform 0 (map)')
    await assert.rejects(run(composeTransforms([upstream, passing]), [[]]), (err: Error & { code?: string }) => err.code === 'ERR_LINE_TOO_LONG')
  })
})

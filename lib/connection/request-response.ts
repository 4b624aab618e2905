/**
 * Request/response over one protocol stream, the common case: the
 * requester writes its request and half-closes, the responder reads it to
 * the end, answers and half-closes. Each side bounds what it reads, and a
 * failing handler resets the stream, so the requester learns it failed.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { LimitExceededError } from '../errors.js'
import type { ProtocolStream, StreamChunk } from './protocol-stream.js'

/**
 * Everything the stream's remote writes, up to its half-close.
 * @throws LimitExceededError past `limit` bytes (named `limitName`), after resetting the stream; StreamResetError
 */
export async function readToEnd (stream: ProtocolStream, limit: number, limitName: string): Promise<Uint8Array> {
  const list = new Uint8ArrayList()
  for await (const chunk of stream.source) {
    list.append(chunk)
    if (list.byteLength > limit) {
      const error = new LimitExceededError(limitName, limit)
      stream.abort(error)
      throw error
    }
  }
  return list.subarray()
}

/** Sends `request`, half-closes, and reads the response. */
export async function exchange (stream: ProtocolStream, request: StreamChunk, maxResponseBytes: number): Promise<Uint8Array> {
  const [, response] = await Promise.all([stream.sink([request]), readToEnd(stream, maxResponseBytes, 'maxResponseBytes')])
  return response
}

/**
 * Answers one request: reads it, lets `handler` answer, writes the answer.
 * When the handler fails the stream is reset with `failure`'s message (the
 * handler's own error stays on this side) and the error is rethrown.
 */
export async function respond (stream: ProtocolStream, handler: (request: Uint8Array) => StreamChunk | Promise<StreamChunk>, maxRequestBytes: number, failure: string): Promise<void> {
  const request = await readToEnd(stream, maxRequestBytes, 'maxRequestBytes')
  let response: StreamChunk
  try {
    response = await handler(request)
  } catch (err) {
    stream.abort(new Error(failure))
    throw err
  }
  await stream.sink([response])
}

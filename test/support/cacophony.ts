/**
 * The cacophony Noise test vectors kept in test/fixtures: their shape, and
 * how a test reads them.
 */
import { readFileSync } from 'node:fs'

/** One vector, fields in hex; the one-way patterns give the initiator the responder's static key and have no responder ephemeral. */
export interface CacophonyVector {
  name: string
  init_prologue: string
  init_static: string
  init_ephemeral: string
  init_remote_static?: string
  resp_prologue: string
  resp_static: string
  resp_ephemeral?: string
  messages: Array<{ payload: string, ciphertext: string }>
}

export const hex = (text: string): Buffer => Buffer.from(text, 'hex')

/** The vectors of a fixture file in test/fixtures. */
export function cacophonyVectors (file: string): CacophonyVector[] {
  return (JSON.parse(readFileSync(new URL(`../fixtures/${file}`, import.meta.url), 'utf8')) as { vectors: CacophonyVector[] }).vectors
}

/**
 * The message decoder: the frame decoder and the classifier in one loop,
 * bytes in, typed messages out. A connection reads through it rather than
 * through the two in turn, one suspended generator and one promise per
 * chunk fewer; each of the two stays usable on its own.
 */
import type { ByteChunk } from './core/bytes.js'
import type { Frame, Message } from './core/line-protocol.js'
import { arrays, syncTransform } from './core/sync-transform.js'
import { applyTable, checked, isFunction, type OptionTable } from './core/option-table.js'
import { FRAME_DECODER_OPTIONS, FrameDecoder, type FrameDecoderOptions } from './frame-decoder.js'
import { CLASSIFIER_OPTIONS, MessageClassifier, type ClassifierOptions } from './classifier.js'

export interface MessageDecoderOptions extends FrameDecoderOptions, ClassifierOptions {
  /** Told of every chunk before it is decoded; what it throws ends the stream, refusing the chunk. */
  onChunk?: (chunk: ByteChunk) => void
}

/** The message decoder's options: the frame decoder's, the classifier's and `onChunk`. */
export const MESSAGE_DECODER_OPTIONS = {
  ...FRAME_DECODER_OPTIONS,
  ...CLASSIFIER_OPTIONS,
  onChunk: checked<((chunk: ByteChunk) => void) | undefined>(undefined, 'a function', isFunction, 'none')
} satisfies OptionTable<MessageDecoderOptions>

/**
 * A transform from bytes to typed messages. Yields one batch per chunk
 * that completes at least one frame, even when every frame was a blank
 * line, so that later stages see every sign of life.
 */
export function messageDecoder (opts: MessageDecoderOptions = {}): (source: AsyncIterable<ByteChunk>) => AsyncGenerator<Message[]> {
  const { onChunk, role, ...framing } = applyTable(MESSAGE_DECODER_OPTIONS, opts)
  return syncTransform(() => {
    const decoder = new FrameDecoder(framing)
    const classifier = new MessageClassifier(role)
    const frames: Frame[] = []
    return {
      step: (chunk: ByteChunk, messages: Message[]) => {
        onChunk?.(chunk)
        try {
          decoder.decodeChunk(chunk, frames)
          return frames.length > 0
        } finally {
          // Frames completed before an offending byte are still delivered.
          for (const frame of frames) {
            const msg = classifier.classify(frame)
            if (msg !== undefined) messages.push(msg)
          }
          frames.length = 0
        }
      },
      end: () => { decoder.end() }
    }
  }, arrays<Message>())
}

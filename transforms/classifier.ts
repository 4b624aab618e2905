/**
 * The frame classifier: turns decoded frames into typed messages. Which
 * handshake lines to expect depends on the side of the connection, because
 * `<ID>:<NAME>` is only a handshake line where the protocol puts one.
 */
import {
  DUPLICATE, DUPLICATE_MESSAGE, ID_SEPARATOR, LISTEN_PREFIX, MAX_PEERS, MAX_PEERS_MESSAGE,
  PEERS_PREFIX, PEERS_SEPARATOR, PING, PING_MESSAGE, PONG, PONG_MESSAGE, REQUEST_PEERS, REQUEST_PEERS_MESSAGE,
  normalizeAddress, type Frame, type Message, type PeersMessage
} from './core/line-protocol.js'
import { arrays, syncTransform } from './core/sync-transform.js'
import { applyTable, oneOf, type OptionTable } from './core/option-table.js'

/**
 * - `dialer`: we dialled; the first line is the listener's answer
 *   (`<ID>:<NAME>`, `DUPLICATE` or `MAX_PEERS`).
 * - `listener`: we accepted; the first line is `<ID>:<NAME>`, the second may be `LISTEN:`.
 * - `none`: no handshake lines (after a handshake, or for bare use).
 */
export type HandshakeRole = 'dialer' | 'listener' | 'none'

export interface ClassifierOptions {
  /** @default 'none' */
  role?: HandshakeRole
}

/** The classifier's options. */
export const CLASSIFIER_OPTIONS = {
  role: oneOf<HandshakeRole>('none', ['dialer', 'listener', 'none'])
} satisfies OptionTable<ClassifierOptions>

/** Parses the entries of a `PEERS:` line, keeping malformed ones apart. */
export function parsePeersLine (line: string): PeersMessage {
  const addresses: string[] = []
  const rejected: string[] = []
  for (const entry of line.slice(PEERS_PREFIX.length).split(PEERS_SEPARATOR)) {
    const trimmed = entry.trim()
    if (trimmed.length === 0) continue
    try {
      addresses.push(normalizeAddress(trimmed))
    } catch {
      rejected.push(trimmed)
    }
  }
  return rejected.length > 0 ? { type: 'peers', addresses, rejected } : { type: 'peers', addresses }
}

function parseHello (line: string): Message {
  const colon = line.indexOf(ID_SEPARATOR)
  if (colon < 0) return { type: 'hello', id: line, name: '' }
  return { type: 'hello', id: line.slice(0, colon), name: line.slice(colon + 1) }
}

/** Classifies lines that carry no handshake: control words, `PEERS:` lists and chat. */
export function classifyLine (line: string): Message {
  switch (line) {
    case PING: return PING_MESSAGE
    case PONG: return PONG_MESSAGE
    case REQUEST_PEERS: return REQUEST_PEERS_MESSAGE
  }
  if (line.startsWith(PEERS_PREFIX)) return parsePeersLine(line)
  return { type: 'chat', text: line }
}

/** Synchronous core: classifies frames one by one, in order. */
export class MessageClassifier {
  /** Handshake lines still expected, by role. */
  private position = 0
  constructor (private readonly role: HandshakeRole = 'none') {}

  /**
   * The message a frame carries, or `undefined` for a blank line. A blank
   * line where the hello belongs is an empty hello (which the handshake
   * refuses), so that a peer sending nothing but blank lines is turned away
   * at once instead of holding a handshake slot until the timeout.
   */
  classify (frame: Frame): Message | undefined {
    if (typeof frame !== 'string') return { type: 'bytes', data: frame }
    if (frame.length === 0 && (this.role === 'none' || this.position > 0)) return undefined
    const position = this.position++
    if (this.role === 'dialer' && position === 0) {
      if (frame === DUPLICATE) return DUPLICATE_MESSAGE
      if (frame === MAX_PEERS) return MAX_PEERS_MESSAGE
      return parseHello(frame)
    }
    if (this.role === 'listener') {
      if (position === 0) return parseHello(frame)
      if (position === 1 && frame.startsWith(LISTEN_PREFIX)) return { type: 'listen', address: frame.slice(LISTEN_PREFIX.length) }
    }
    return classifyLine(frame)
  }
}

/**
 * A transform from frames to typed messages. Yields one batch per input
 * batch, even when every frame in it was blank, so that downstream stages
 * see every sign of life.
 */
export function classifier (opts: ClassifierOptions = {}): (source: AsyncIterable<Frame[]>) => AsyncGenerator<Message[]> {
  const { role } = applyTable(CLASSIFIER_OPTIONS, opts)
  return syncTransform(() => {
    const core = new MessageClassifier(role)
    return {
      step: (frames: Frame[], messages: Message[]) => {
        for (const frame of frames) {
          const msg = core.classify(frame)
          if (msg !== undefined) messages.push(msg)
        }
      }
    }
  }, arrays<Message>(), { emitEmpty: true })
}

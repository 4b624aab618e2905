/**
 * Secure links. `secureTransport` runs the Noise XX handshake over a
 * transport and returns another transport whose source decrypts and whose
 * sink encrypts, so a `Connection` and every stage above it run over it
 * unchanged. `classifyInbound` tells an accepted connection's first byte
 * apart: a Noise handshake or a plaintext protocol line.
 *
 * @example
 * ```ts
 * const link = await secureTransport(await tcpTransport().dial(host, port, { timeout }), { role: 'initiator', identity })
 * console.log(fingerprint(link.remotePublicKey))
 * ```
 */
import { CIPHER_PREFERENCE, isPrivateKey } from '../crypto/crypto.js'
import type { Uint8ArrayList } from 'uint8arraylist'
import { DEFAULT_CONNECTION_TIMEOUT } from '../../transforms/core/limits.js'
import { within } from '../../transforms/core/deadline.js'
import { applyTable, checkArgument, checked, integer, isFunction, optionalInteger, required, type OptionTable } from '../../transforms/core/option-table.js'
import { DEFAULT_MAX_NOISE_MESSAGES } from './noise/cipher-state.js'
import { ConnectionClosedError, HandshakeTimeoutError, NoiseHandshakeError, PlaintextPeerError } from '../errors.js'
import { DHLEN, XXHandshake, type CipherState, type KeyPair, type NoiseCipher } from './noise/index.js'
import { BASELINE_CIPHER, NOISE_CIPHERS, answerTo, encodeAnswer, encodeOffer, parseAnswer, parseOffer, type NoiseTerms } from './noise-negotiation.js'
import type { ByteChunk, Transport } from '../transport/transport.js'
import type { LinkSecurity } from '../types.js'
import { NOISE_FIRST_BYTE, NOISE_PROLOGUE, decryptStream, encryptStream, frameNoiseMessage, noiseFramer } from './noise-framing.js'
import { WakeUp } from '../../transforms/core/wake-up.js'

/** How a link is carried: inside Noise, or as the plain line protocol. */

/** A transport inside an established Noise session. */
export interface SecureTransport extends Transport {
  /** The peer's static X25519 public key, proven in the handshake. */
  readonly remotePublicKey: Uint8Array
  /** The Noise handshake hash: the same on both ends, unique to this session. */
  readonly handshakeHash: Uint8Array
  /** The cipher both ends agreed on. */
  readonly cipher: NoiseCipher
  /** Transport messages per direction between rekeys, as both ends agreed; 0 for never. */
  readonly rekeyInterval: number
}

export interface SecureTransportOptions {
  role: 'initiator' | 'responder'
  /** This node's static key pair. */
  identity: KeyPair
  /**
   * Time the whole handshake may take, in ms.
   * @default 10000
   */
  timeout?: number
  /**
   * Initiator only: how long to wait for the first byte of an answer before
   * deciding the peer speaks plaintext, in ms. Without it, only a plaintext
   * line or a close counts as a plaintext answer.
   */
  probeTimeout?: number
  /** Transport messages per direction before the link refuses to go on (`NonceExhaustedError`). */
  maxMessages?: number
  /** The ciphers this side speaks, the one it offers as initiator first; ChaChaPoly must be one of them. @default ['AESGCM', 'ChaChaPoly'] (ChaChaPoly first in a browser) */
  ciphers?: readonly NoiseCipher[]
  /** Rekey every this many transport messages per direction; 0 for never. Two ends use the shorter of their intervals. @default 0 */
  rekeyInterval?: number
  /** Told the peer's static key as soon as it is proven; throw to refuse the peer before the handshake ends. */
  verifyRemoteKey?: (publicKey: Uint8Array) => void
}

const isKeyBytes = (value: unknown): boolean => value instanceof Uint8Array && value.length === 32

/** Each `secureTransport()` option's default and range. */
export const SECURE_TRANSPORT_OPTIONS = {
  role: required<'initiator' | 'responder'>("'initiator' or 'responder'", value => value === 'initiator' || value === 'responder'),
  identity: required<KeyPair>('a key pair ({ publicKey: 32 bytes, privateKey: a private key })',
    value => typeof value === 'object' && value !== null && isKeyBytes((value as KeyPair).publicKey) && isPrivateKey((value as KeyPair).privateKey)),
  timeout: integer(DEFAULT_CONNECTION_TIMEOUT, 1, { unit: 'ms' }),
  probeTimeout: optionalInteger(1, 'none', { unit: 'ms' }),
  maxMessages: integer(DEFAULT_MAX_NOISE_MESSAGES, 1),
  ciphers: checked<readonly NoiseCipher[]>(CIPHER_PREFERENCE, `an array of ${NOISE_CIPHERS.map(c => `'${c}'`).join(' and ')}, holding '${BASELINE_CIPHER}'`,
    value => Array.isArray(value) && value.length > 0 && value.every(c => NOISE_CIPHERS.includes(c as NoiseCipher)) && value.includes(BASELINE_CIPHER), "['AESGCM', 'ChaChaPoly'] (ChaChaPoly first in a browser, where it is the faster)"),
  rekeyInterval: integer(0, 0),
  verifyRemoteKey: checked<((publicKey: Uint8Array) => void) | undefined>(undefined, 'a function', isFunction, 'none')
} satisfies OptionTable<SecureTransportOptions>

/** Whether `value` has the shape of a `Transport`. */
function isTransport (value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Transport).sink === 'function' &&
    typeof (value as Transport).close === 'function' && typeof (value as Transport).source?.[Symbol.asyncIterator] === 'function'
}

/** An accepted connection, told apart by its first byte. */
export interface ClassifiedTransport {
  kind: LinkSecurity
  /** The same connection, its first bytes still unread. */
  transport: Transport
}

type RawIterator = AsyncIterator<ByteChunk>

function firstByte (chunk: ByteChunk): number | undefined {
  return chunk instanceof Uint8Array ? chunk[0] : chunk.get(0)
}

/** The transport with another source (the same connection otherwise). */
function withSource (transport: Transport, source: AsyncIterable<ByteChunk>): Transport {
  return {
    source,
    sink: async chunks => { await transport.sink(chunks) },
    remoteAddress: transport.remoteAddress,
    remoteHost: transport.remoteHost,
    localHost: transport.localHost,
    close: () => { transport.close() },
    closed: transport.closed
  }
}

/** `first` and then the rest of `raw`: puts back a chunk that was read to look at it. */
async function * prepend (first: ByteChunk, raw: RawIterator): AsyncGenerator<ByteChunk> {
  yield first
  for (let result = await raw.next(); result.done !== true; result = await raw.next()) yield result.value
}

/** The first non-empty chunk, or `undefined` when the stream ends first. */
async function firstChunk (raw: RawIterator): Promise<ByteChunk | undefined> {
  for (;;) {
    const result = await raw.next()
    if (result.done === true) return undefined
    if (result.value.byteLength > 0) return result.value
  }
}

/**
 * Waits for an accepted connection's first byte: `noise` when it is the
 * start of a Noise handshake, `plaintext` for anything else.
 * @throws HandshakeTimeoutError after `timeout` ms of silence, ConnectionClosedError when it closes first
 */
export async function classifyInbound (transport: Transport, timeout: number = DEFAULT_CONNECTION_TIMEOUT): Promise<ClassifiedTransport> {
  const raw = transport.source[Symbol.asyncIterator]()
  const silent = new HandshakeTimeoutError(timeout)
  const chunk = await within(firstChunk(raw), timeout, () => { throw silent })
  if (chunk === undefined) throw new ConnectionClosedError('closed before sending anything')
  return {
    kind: firstByte(chunk) === NOISE_FIRST_BYTE ? 'noise' : 'plaintext',
    transport: withSource(transport, prepend(chunk, raw))
  }
}

/**
 * The initiator's look at the answer to message 1: a Noise answer starts
 * with a length byte of 0; a plaintext peer answers with a line, a close
 * or nothing at all.
 */
async function probeAnswer (raw: RawIterator, probeTimeout: number | undefined): Promise<ByteChunk> {
  const SILENT = Symbol('silent')
  // A reset before any byte is a refusal like a close: plaintext peers may drop the garbled connection hard.
  const answer = firstChunk(raw).catch(() => undefined)
  const chunk = probeTimeout === undefined ? await answer : await within(answer, probeTimeout, (): typeof SILENT => SILENT)
  if (chunk === SILENT) throw new PlaintextPeerError('silent')
  if (chunk === undefined) throw new PlaintextPeerError('closed')
  if (firstByte(chunk) !== NOISE_FIRST_BYTE) throw new PlaintextPeerError('line')
  return chunk
}

/**
 * The one write side of a secure transport: handshake messages first, then,
 * once the handshake is done and the connection hands over its own source,
 * that source encrypted. A transport's sink is called once, so both must
 * go through the same call.
 */
class SecureWriter {
  readonly done: Promise<void>
  private readonly handshakeMessages: Uint8ArrayList[] = []
  private cipher: CipherState | undefined
  private plaintext: AsyncIterable<ByteChunk> | undefined
  private failed = false
  private readonly writer = new WakeUp()

  constructor (transport: Transport) {
    this.done = transport.sink(this.outgoing())
    // Surfaced to whoever calls `sink`; a failed handshake reports its own error.
    this.done.catch(() => {})
  }

  writeHandshake (message: Uint8Array): void {
    this.handshakeMessages.push(frameNoiseMessage(message))
    this.writer.notify()
  }

  /** The handshake is done: encrypt with `cipher` from now on. */
  start (cipher: CipherState): void {
    this.cipher = cipher
    this.writer.notify()
  }

  fail (): void {
    this.failed = true
    this.writer.notify()
  }

  readonly sink = async (source: AsyncIterable<ByteChunk>): Promise<void> => {
    this.plaintext = source
    this.writer.notify()
    await this.done
  }

  private async * outgoing (): AsyncGenerator<ByteChunk> {
    for (;;) {
      const message = this.handshakeMessages.shift()
      if (message !== undefined) {
        yield message
        continue
      }
      if (this.failed) return
      if (this.cipher !== undefined && this.plaintext !== undefined) break
      await this.writer.wait()
    }
    yield * encryptStream(this.cipher)(this.plaintext)
  }
}

/**
 * Runs the Noise XX handshake over `transport` and returns the secure
 * transport. On any failure the transport is closed and the error thrown.
 * @throws PlaintextPeerError (initiator: the peer does not speak Noise), HandshakeTimeoutError,
 *   NoiseHandshakeError, IntegrityError, or whatever `verifyRemoteKey` throws
 */
export async function secureTransport (transport: Transport, options: SecureTransportOptions): Promise<SecureTransport> {
  checkArgument('transport', 'a Transport', transport, isTransport)
  const opts = applyTable(SECURE_TRANSPORT_OPTIONS, options)
  const { timeout } = opts
  const initiator = opts.role === 'initiator'
  const handshakeOf = (cipher: NoiseCipher): XXHandshake =>
    new XXHandshake({ initiator, cipher, staticKeyPair: opts.identity, prologue: NOISE_PROLOGUE, maxMessages: opts.maxMessages })
  const writer = new SecureWriter(transport)
  const raw = transport.source[Symbol.asyncIterator]()
  const timedOut = new HandshakeTimeoutError(timeout)
  const deadline = Date.now() + timeout
  const withinHandshake = async <T>(promise: Promise<T>): Promise<T> => await within(promise, deadline - Date.now(), () => { throw timedOut })

  try {
    let source: AsyncIterable<ByteChunk> = { [Symbol.asyncIterator]: () => raw }
    const offer: NoiseTerms = { cipher: opts.ciphers[0] as NoiseCipher, rekeyInterval: opts.rekeyInterval }
    let handshake = initiator ? handshakeOf(offer.cipher) : undefined
    if (handshake !== undefined) {
      writer.writeHandshake(handshake.writeMessage(encodeOffer(offer)))
      source = prepend(await withinHandshake(probeAnswer(raw, opts.probeTimeout)), raw)
    }
    const frames = noiseFramer()(source)
    const nextMessage = async (): Promise<Uint8Array> => {
      const result = await withinHandshake(frames.next())
      if (result.done === true) throw new NoiseHandshakeError('connection closed during the Noise handshake')
      return result.value.subarray()
    }
    let terms: NoiseTerms
    if (handshake !== undefined) {
      // A responder that does not speak the offered cipher ran another protocol: this read fails (IntegrityError).
      const answer = parseAnswer(handshake.readMessage(await nextMessage()))
      if (answer !== undefined && answer.cipher !== offer.cipher) throw new NoiseHandshakeError(`the responder answered ${answer.cipher} to an offer of ${offer.cipher}`)
      // No answer: an earlier meshline node, which speaks ChaChaPoly and never rekeys.
      terms = answer ?? { cipher: offer.cipher, rekeyInterval: 0 }
    } else {
      // The offer, in message 1's plaintext payload, decides the protocol before the message is read.
      const first = await nextMessage()
      const offered = parseOffer(first.subarray(DHLEN))
      terms = answerTo(offered, opts.ciphers, opts.rekeyInterval)
      handshake = handshakeOf(terms.cipher)
      handshake.readMessage(first)
      writer.writeHandshake(handshake.writeMessage(offered === undefined ? undefined : encodeAnswer(terms)))
      handshake.readMessage(await nextMessage())
    }
    const remotePublicKey = handshake.remoteStaticKey as Uint8Array
    opts.verifyRemoteKey?.(remotePublicKey)
    if (initiator) writer.writeHandshake(handshake.writeMessage())

    const { send, receive } = handshake.split(terms.rekeyInterval > 0 ? terms.rekeyInterval : undefined)
    writer.start(send)
    return {
      ...withSource(transport, decryptStream(receive)(frames)),
      sink: writer.sink,
      remotePublicKey,
      handshakeHash: handshake.handshakeHash,
      cipher: terms.cipher,
      rekeyInterval: terms.rekeyInterval
    }
  } catch (err) {
    writer.fail()
    transport.close()
    throw err
  }
}

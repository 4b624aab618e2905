/**
 * Browser-to-browser links over WebRTC data channels, signalled through
 * the mesh. A page cannot listen, so two pages reach each other through a
 * node both are connected to: the offer and the answer (whole SDP, ICE
 * candidates gathered first) travel as `BYTES` payloads prefixed
 * `meshline-webrtc/1 `, routed by the overlay, end to end signed and
 * sealed; an offer is taken only from its proven author. The data channel
 * then carries the link as the WebSocket transport does
 * (`websocket-connection.ts`): binary messages of at most 64 KiB, a
 * zero-length one ending a direction, writes waiting on `bufferedAmount`.
 * The link itself is secured like any other (Noise, end to end).
 *
 * A page's address is `<node id>.invalid:1` (`dialOnlyAddress`): `over()`
 * makes a transport that dials such an address over WebRTC and any other
 * over its base transport, so `node.connect(address)` reaches a page.
 *
 * @example
 * ```ts
 * const rtc = webrtcLinks()
 * const node = new MeshNode({ topology: 'overlay', transport: rtc.over(websocketTransport()) })
 * rtc.attach(node)
 * await node.start()
 * await node.connect('127.0.0.1:7001')              // a node both pages know
 * await node.connect(dialOnlyAddress(otherPageId))  // then the other page, directly
 * ```
 */
import { randomBytes } from '../crypto/crypto.js'
import { DialError } from '../errors.js'
import type { DialOptions, Transport, TransportFactory, TransportListener } from './transport.js'
import { websocketConnection } from './websocket-connection.js'
import { formatAddress, isDialOnlyAddress } from '../../transforms/core/line-protocol.js'
import type { BytesHandler } from '../types.js'
import { applyTable, checked, integer, type OptionTable } from '../../transforms/core/option-table.js'
import { raceSignal } from '../../transforms/core/deadline.js'

/** The prefix of signalling payloads. */
export const WEBRTC_SIGNAL_PREFIX = 'meshline-webrtc/1 '

export interface WebRtcOptions {
  /** STUN and TURN servers, as `RTCPeerConnection` takes them; none by default (hosts that reach each other directly). */
  iceServers?: ReadonlyArray<{ urls: string | string[], username?: string, credential?: string }>
  /** Bytes buffered for sending on a channel before a writer waits. */
  writeHighWaterMark?: number
  /** Links being set up at once at most, dialled and answered; more offers are refused. */
  maxPendingLinks?: number
  /** An offer this page answers whose link is not open this long after, in ms, is given up (the dial's own timeout bounds a dial). */
  answerTimeout?: number
}

export const WEBRTC_OPTIONS = {
  iceServers: checked<NonNullable<WebRtcOptions['iceServers']>>([], 'an array of ICE servers', value => Array.isArray(value), 'none'),
  writeHighWaterMark: integer(1024 * 1024, 1, { unit: 'bytes' }),
  maxPendingLinks: integer(16, 1),
  answerTimeout: integer(10_000, 1, { unit: 'ms' })
} satisfies OptionTable<WebRtcOptions>

/** What signalling needs of a node (a `MeshNode` has it). */
export interface SignallingNode {
  readonly id: string
  handle: (prefix: string, handler: BytesHandler) => () => void
  sendBytes: (peerId: string, data: Uint8Array) => Promise<unknown>
  acceptConnection: (transport: Transport) => void
}

/** The part of WebRTC this module uses (the project is typed without the DOM's). */
interface DataChannel {
  readonly readyState: string
  readonly bufferedAmount: number
  bufferedAmountLowThreshold: number
  binaryType: string
  send: (data: Uint8Array) => void
  close: () => void
  addEventListener: (type: string, listener: (event: { data?: unknown, channel?: DataChannel }) => void, options?: { once?: boolean }) => void
}
interface PeerConnection {
  readonly iceGatheringState: string
  readonly localDescription: { type: string, sdp: string } | null
  createDataChannel: (label: string) => DataChannel
  createOffer: () => Promise<{ type: string, sdp?: string }>
  createAnswer: () => Promise<{ type: string, sdp?: string }>
  setLocalDescription: (description: { type: string, sdp?: string }) => Promise<void>
  setRemoteDescription: (description: { type: string, sdp: string }) => Promise<void>
  addEventListener: (type: string, listener: (event: { channel?: DataChannel }) => void, options?: { once?: boolean }) => void
  close: () => void
}
type PeerConnectionClass = new (config: { iceServers: WebRtcOptions['iceServers'] }) => PeerConnection

interface Signal { type: 'offer' | 'answer', nonce: string, sdp: string }

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const NO_BYTES = new Uint8Array(0)

function peerConnectionClass (): PeerConnectionClass {
  const found = (globalThis as { RTCPeerConnection?: PeerConnectionClass }).RTCPeerConnection
  if (found === undefined) throw new TypeError('WebRTC (RTCPeerConnection) is not available here')
  return found
}

async function gathered (pc: PeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return
  await new Promise<void>(resolve => {
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve() })
  })
}

async function channelOpen (channel: DataChannel): Promise<void> {
  if (channel.readyState === 'open') return
  await new Promise<void>((resolve, reject) => {
    channel.addEventListener('open', () => { resolve() }, { once: true })
    channel.addEventListener('close', () => { reject(new Error('the data channel closed before it opened')) }, { once: true })
  })
}

/** A data channel as a transport, `remoteId`'s page at the other end. */
function channelTransport (pc: PeerConnection, channel: DataChannel, remoteId: string, writeHighWaterMark: number): Transport {
  channel.binaryType = 'arraybuffer'
  const connection = websocketConnection({
    get isOpen () { return channel.readyState === 'open' },
    get bufferedAmount () { return channel.bufferedAmount },
    send: message => { channel.send(message) },
    drained: async mark => {
      if (channel.bufferedAmount <= mark) return
      channel.bufferedAmountLowThreshold = mark
      await new Promise<void>(resolve => {
        channel.addEventListener('bufferedamountlow', () => { resolve() }, { once: true })
        channel.addEventListener('close', () => { resolve() }, { once: true })
      })
    },
    close: () => { channel.close(); pc.close() },
    terminate: () => { channel.close(); pc.close() }
  }, { remoteHost: `${remoteId}.invalid`, remotePort: 1, localHost: 'unknown' }, { readHighWaterMark: Infinity, writeHighWaterMark })
  channel.addEventListener('message', ({ data }) => {
    if (data instanceof ArrayBuffer) connection.received(new Uint8Array(data), true)
    else connection.received(NO_BYTES, false)
  })
  channel.addEventListener('close', () => { connection.gone(); pc.close() })
  return connection.transport
}

/** Pages' links to each other: `over()` for dialling, `attach()` for signalling and answering. */
export class WebRtcLinks {
  private readonly opts: Required<WebRtcOptions>
  private node: SignallingNode | undefined
  private readonly answers = new Map<string, (signal: Signal) => void>()
  private pending = 0

  constructor (options: WebRtcOptions = {}) {
    this.opts = applyTable(WEBRTC_OPTIONS, options)
  }

  /** A transport that dials `<node id>.invalid:1` over WebRTC, and everything else over `base`. */
  over (base: TransportFactory): TransportFactory {
    return {
      dial: async (host, port, dialOptions) => isDialOnlyAddress(formatAddress(host, port)) ? await this.dial(host.replace(/\.invalid$/i, ''), dialOptions) : await base.dial(host, port, dialOptions),
      listen: async (host, port, onConnection): Promise<TransportListener> => await base.listen(host, port, onConnection)
    }
  }

  /** Signals through `node`, and hands it the links other pages open. Call once, before connecting. */
  attach (node: SignallingNode): void {
    this.node = node
    node.handle(WEBRTC_SIGNAL_PREFIX, (data, _peer, source) => {
      // Only what its author signed or sealed: a relay must not speak for another page.
      if (source.authenticity !== 'signed') return
      let signal: Signal
      try {
        signal = JSON.parse(decoder.decode(data.subarray().subarray(WEBRTC_SIGNAL_PREFIX.length))) as Signal
      } catch {
        return
      }
      if (typeof signal.sdp !== 'string' || typeof signal.nonce !== 'string') return
      if (signal.type === 'answer') this.answers.get(`${source.origin.id} ${signal.nonce}`)?.(signal)
      else if (signal.type === 'offer' && this.pending < this.opts.maxPendingLinks) void this.pendingWhile(async () => { await this.answer(source.origin.id, signal) }).catch(() => {})
    })
  }

  private async send (peerId: string, signal: Signal): Promise<void> {
    await this.signalling().sendBytes(peerId, encoder.encode(WEBRTC_SIGNAL_PREFIX + JSON.stringify(signal)))
  }

  /** Runs `setUp`, counted among the links being set up until it settles. */
  private async pendingWhile<T> (setUp: () => Promise<T>): Promise<T> {
    this.pending++
    try {
      return await setUp()
    } finally {
      this.pending--
    }
  }

  private signalling (): SignallingNode {
    if (this.node === undefined) throw new TypeError('webrtcLinks(): attach(node) first')
    return this.node
  }

  private async dial (peerId: string, { timeout, signal }: DialOptions): Promise<Transport> {
    const address = formatAddress(`${peerId}.invalid`, 1)
    if (this.pending >= this.opts.maxPendingLinks) throw new DialError(address, 1, { cause: new Error(`maxPendingLinks (${this.opts.maxPendingLinks}) links are being set up`) })
    return await this.pendingWhile(async () => await this.offer(peerId, address, timeout, signal))
  }

  private async offer (peerId: string, address: string, timeout: number, signal: AbortSignal | undefined): Promise<Transport> {
    const RTCPeerConnection = peerConnectionClass()
    const pc = new RTCPeerConnection({ iceServers: this.opts.iceServers })
    const nonce = randomBytes(8).toString('hex')
    const key = `${peerId} ${nonce}`
    const deadline = AbortSignal.timeout(timeout)
    const stop = signal === undefined ? deadline : AbortSignal.any([signal, deadline])
    try {
      const channel = pc.createDataChannel('meshline')
      await pc.setLocalDescription(await pc.createOffer())
      await raceSignal(gathered(pc), stop)
      const answered = new Promise<Signal>(resolve => { this.answers.set(key, resolve) })
      await this.send(peerId, { type: 'offer', nonce, sdp: pc.localDescription?.sdp ?? '' })
      const answer = await raceSignal(answered, stop)
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp })
      await raceSignal(channelOpen(channel), stop)
      return channelTransport(pc, channel, peerId, this.opts.writeHighWaterMark)
    } catch (error) {
      pc.close()
      throw new DialError(address, 1, { cause: error })
    } finally {
      this.answers.delete(key)
    }
  }

  private async answer (peerId: string, offer: Signal): Promise<void> {
    const node = this.signalling()
    const RTCPeerConnection = peerConnectionClass()
    const pc = new RTCPeerConnection({ iceServers: this.opts.iceServers })
    const opened = new Promise<DataChannel>(resolve => { pc.addEventListener('datachannel', ({ channel }) => { if (channel !== undefined) resolve(channel) }, { once: true }) })
    const stop = AbortSignal.timeout(this.opts.answerTimeout)
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp })
      await pc.setLocalDescription(await pc.createAnswer())
      await raceSignal(gathered(pc), stop)
      await this.send(peerId, { type: 'answer', nonce: offer.nonce, sdp: pc.localDescription?.sdp ?? '' })
      const channel = await raceSignal(opened, stop)
      await raceSignal(channelOpen(channel), stop)
      node.acceptConnection(channelTransport(pc, channel, peerId, this.opts.writeHighWaterMark))
    } catch (error) {
      pc.close()
      throw error
    }
  }
}

/** Browser-to-browser links for a page's node; see the module's example. */
export function webrtcLinks (options: WebRtcOptions = {}): WebRtcLinks {
  return new WebRtcLinks(options)
}


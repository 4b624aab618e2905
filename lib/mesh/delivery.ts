/**
 * Delivery: the end of every connection's inbound pipeline. Chat and `BYTES`
 * become events; `BYTES` payloads claimed by a sub-protocol prefix go to its
 * handler; chat and unclaimed payloads also go to every `messages()` reader.
 * It awaits only when a handler or a reader needs time, and that wait is what
 * slows the reading of the peer's socket.
 */
import type { EventEmitter } from 'node:events'
import type { Uint8ArrayList } from 'uint8arraylist'
import { startsWithBytes } from '../../transforms/core/bytes.js'
import { Inbox } from './inbox.js'
import type { TrafficCounters } from '../connection/traffic.js'
import { RetainedMessages } from './retained.js'
import { DuplicateHandlerError, LimitExceededError } from '../errors.js'
import { applyTable, checkArgument, checked, isFunction, isNonEmptyString, type OptionTable } from '../../transforms/core/option-table.js'
import type { MeshEvents } from './events.js'
import type { BytesHandler, HandlerOptions, IncomingMessage, PeerInfo } from '../types.js'
import type { Message } from '../../transforms/core/line-protocol.js'

const HANDLER_OPTIONS = {
  relayed: checked(true, 'a boolean', value => typeof value === 'boolean')
} satisfies OptionTable<HandlerOptions>

interface Handler {
  prefix: string
  bytes: Uint8Array
  handle: BytesHandler
  relayed: boolean
}

export class Delivery {
  private readonly handlers: Handler[] = []
  private readonly inboxes = new Set<Inbox<IncomingMessage>>()
  private readonly retained: RetainedMessages
  /** Set while the node is stopped: a reader then gets what is kept, and ends. */
  private stopped = false

  /** Told of every chat and unclaimed `BYTES` message a peer sent over its link, once delivered here; a promise holds back the peer's next messages. */
  onDirect: ((msg: IncomingMessage) => Promise<unknown> | undefined) | undefined

  /**
   * @param events where `chat`, `bytes`, `debug`, `handler:error` and `limit:exceeded` are emitted
   * @param inboxSize messages buffered per `messages()` reader before delivery waits
   * @param maxRetainedBytes messages kept while no reader is attached, in bytes
   * @param traffic counts every message peers send
   */
  constructor (private readonly events: EventEmitter<MeshEvents>, private readonly inboxSize: number, maxRetainedBytes: number, private readonly traffic?: TrafficCounters) {
    this.retained = new RetainedMessages(maxRetainedBytes, () => {
      events.emit('limit:exceeded', { error: new LimitExceededError('maxRetainedBytes', maxRetainedBytes) })
    })
  }

  /**
   * Claims payloads starting with `prefix`; where prefixes overlap, the
   * longest that matches wins. Returns a function that removes the handler.
   * @throws InvalidArgumentError, InvalidOptionError, DuplicateHandlerError
   */
  handle (prefix: string, handler: BytesHandler, options?: HandlerOptions): () => void {
    checkArgument('prefix', 'a non-empty string', prefix, isNonEmptyString)
    checkArgument('handler', 'a function (data, peer, { origin, hops })', handler, isFunction)
    const { relayed } = applyTable(HANDLER_OPTIONS, options)
    if (this.handlers.some(entry => entry.prefix === prefix)) throw new DuplicateHandlerError(prefix)
    const entry: Handler = { prefix, bytes: new TextEncoder().encode(prefix), handle: handler, relayed }
    this.handlers.push(entry)
    this.handlers.sort((a, b) => b.bytes.length - a.bytes.length)
    return () => {
      const index = this.handlers.indexOf(entry)
      if (index >= 0) this.handlers.splice(index, 1)
    }
  }

  /** A new reader: first of the messages kept while no reader was attached, then of every one from now on. */
  messages (): Inbox<IncomingMessage> {
    const inbox: Inbox<IncomingMessage> = new Inbox(this.inboxSize, () => { this.inboxes.delete(inbox) })
    inbox.prefill(this.retained.take())
    if (this.stopped) inbox.end()
    else this.inboxes.add(inbox)
    return inbox
  }

  /** The node started: readers stay open for what arrives. */
  open (): void {
    this.stopped = false
  }

  /** The node stopped: lets every reader finish what it has, then end. */
  end (): void {
    this.stopped = true
    for (const inbox of this.inboxes) inbox.end()
    this.inboxes.clear()
  }

  /** Consumes one connection's inbound batches; `peerOf` is undefined until its handshake is done. */
  async consume (source: AsyncIterable<Message[]>, peerOf: () => PeerInfo | undefined): Promise<void> {
    for await (const batch of source) {
      const peer = peerOf()
      if (peer === undefined) continue
      for (const msg of batch) {
        this.traffic?.countReceived(msg)
        let wait: Promise<unknown> | undefined
        let direct: IncomingMessage | undefined
        if (msg.type === 'chat') {
          direct = { type: 'chat', peer, text: msg.text, origin: peer, hops: 1, authenticity: 'link' }
          wait = this.deliverChat(direct)
        } else if (msg.type === 'bytes') {
          const bytes: Extract<IncomingMessage, { type: 'bytes' }> = { type: 'bytes', peer, data: msg.data as Uint8ArrayList, origin: peer, hops: 1, authenticity: 'link' }
          const handler = this.handlerFor(bytes.data, false)
          if (handler === undefined) direct = bytes
          wait = handler === undefined ? this.unclaimed(bytes) : this.claimed(handler, bytes)
        } else {
          this.events.emit('debug', { peer, message: msg })
        }
        if (wait !== undefined) await wait
        const relayed = direct === undefined ? undefined : this.onDirect?.(direct)
        if (relayed !== undefined) await relayed
      }
    }
  }

  /**
   * Delivers a message that reached this node through others (an overlay
   * broadcast or routed message) as a direct one is: a payload to its
   * handler, else an event, then every reader.
   */
  relayed (msg: IncomingMessage): Promise<void> | undefined {
    return msg.type === 'bytes' ? this.deliverBytes(msg, true) : this.deliverChat(msg)
  }

  private deliverChat (msg: Extract<IncomingMessage, { type: 'chat' }>): Promise<void> | undefined {
    this.events.emit('chat', msg)
    return this.toInboxes(msg)
  }

  private deliverBytes (msg: Extract<IncomingMessage, { type: 'bytes' }>, relayed: boolean): Promise<void> | undefined {
    const handler = this.handlerFor(msg.data, relayed)
    return handler === undefined ? this.unclaimed(msg) : this.claimed(handler, msg)
  }

  /** The handler whose prefix `data` starts with (the longest), if any takes it. */
  private handlerFor (data: Uint8ArrayList, relayed: boolean): Handler | undefined {
    return this.handlers.find(candidate => (candidate.relayed || !relayed) && startsWithBytes(data, candidate.bytes))
  }

  private unclaimed (msg: Extract<IncomingMessage, { type: 'bytes' }>): Promise<void> | undefined {
    this.events.emit('bytes', msg)
    return this.toInboxes(msg)
  }

  private claimed (handler: Handler, msg: Extract<IncomingMessage, { type: 'bytes' }>): Promise<void> | undefined {
    const failed = (error: unknown): void => { this.events.emit('handler:error', { error: error as Error, peer: msg.peer, prefix: handler.prefix }) }
    try {
      return handler.handle(msg.data, msg.peer, msg)?.catch(failed)
    } catch (error) {
      failed(error)
      return undefined
    }
  }

  private toInboxes (msg: IncomingMessage): Promise<void> | undefined {
    if (this.inboxes.size === 0) {
      this.retained.add(msg)
      return undefined
    }
    // Nothing allocated per message unless a reader is full: this runs for every message.
    let wait: Promise<void> | undefined
    let waits: Array<Promise<void>> | undefined
    for (const inbox of this.inboxes) {
      const full = inbox.push(msg)
      if (full === undefined) continue
      if (wait === undefined) wait = full
      else (waits ??= [wait]).push(full)
    }
    return waits === undefined ? wait : Promise.all(waits).then(() => {})
  }
}

/**
 * The connection set-up, both roles. It sits right after the classifier,
 * holds everything back until the peer is admitted, then passes messages
 * through untouched. The batch that completes the handshake is always
 * yielded (possibly empty), so later stages know the link is up when their
 * first batch arrives.
 *
 * Dialer:   sends `<ID>:<NAME>` and `LISTEN:<host>:<port>` at once, reads the
 *           answer; once admitted, sends `PEERS:` (if any) and `REQUEST_PEERS`.
 * Listener: reads `<ID>:<NAME>` and `LISTEN:`, asks `admit`, answers
 *           `<ID>:<NAME>` then `PEERS:` (if any), or `DUPLICATE` / `MAX_PEERS`;
 *           a dialer with our own id gets our `<ID>:<NAME>` and is closed.
 */
import { DEFAULT_CONNECTION_TIMEOUT } from './core/limits.js'
import {
  DuplicatePeerError, HandshakeTimeoutError, InvalidHandshakeError, MaxPeersError, SelfConnectionError
} from './core/errors.js'
import { isLink, type Link } from './core/link.js'
import { Deadline } from './core/deadline.js'
import { applyTable, checked, integer, isFunction, isString, required, type OptionTable } from './core/option-table.js'
import {
  DUPLICATE_MESSAGE, MAX_PEERS_MESSAGE, REQUEST_PEERS_MESSAGE, idProblem, nameProblem, normalizeAddress,
  type HelloMessage, type Message
} from './core/line-protocol.js'

/** What the remote told us about itself. */
export interface RemoteHello {
  id: string
  /** Display name; the id when the peer sent none. */
  name: string
  /** Where the remote accepts connections (`host:port`), if known. */
  listenAddress?: string
}

/**
 * The supervisor's decision on a remote that completed its half of the
 * handshake: `accept` it, refuse it as a `duplicate` or for `max-peers`, or
 * refuse it as ourselves (`self`). A dialer may also find the connection
 * `redundant`: the listener has already accepted it, but this side keeps an
 * earlier connection to the same peer. The listener may be sending on it
 * until it learns so, so it is read to the end and nothing is sent on it.
 */
export type Admission = 'accept' | 'duplicate' | 'max-peers' | 'self' | 'redundant'

export interface HandshakeOptions {
  role: 'dialer' | 'listener'
  link: Link
  /** Our own id and display name. */
  local: { id: string, name: string }
  /** Our listen address as `host:port`, sent by a dialer in `LISTEN:`. */
  listenAddress: string
  /** For a dialer, the address it dialled: the remote's listen address. */
  dialedAddress?: string
  /** The remote socket's host, used when `LISTEN:` names a wildcard host. */
  remoteHost?: string
  /** Decides on the remote once its hello is known. */
  admit: (remote: RemoteHello) => Admission
  /**
   * Told once the link is up and the handshake's own lines are queued, so
   * that anything sent from here on follows them on the wire.
   */
  onEstablished?: (remote: RemoteHello) => void
  /** Addresses to share right after acceptance. */
  peersToShare: () => string[]
  /**
   * Time the whole handshake may take, in ms.
   * @default 10000
   */
  timeout?: number
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', ''])

/** Checks a hello against the id and name rules, and fills in the default name. */
export function validateHello (hello: HelloMessage): RemoteHello {
  const { id, name } = hello
  const badId = idProblem(id)
  if (badId !== undefined) throw new InvalidHandshakeError(`peer id ${badId}`)
  const badName = nameProblem(name)
  if (badName !== undefined) throw new InvalidHandshakeError(`peer name ${badName}`)
  return { id, name: name.length > 0 ? name : id }
}

/** Reads a `LISTEN:` address; a wildcard or empty host becomes the socket's remote host. */
export function parseListenAddress (text: string, remoteHost?: string): string {
  // Peers may write an IPv6 host without brackets: the port follows the last colon.
  const bracketed = text.startsWith('[')
  const colon = bracketed ? text.indexOf(']:') + 1 : text.lastIndexOf(':')
  let host = bracketed ? text.slice(1, colon - 1) : text.slice(0, colon)
  if (WILDCARD_HOSTS.has(host) && remoteHost !== undefined) host = remoteHost
  try {
    if (colon < 0) throw new InvalidHandshakeError('no port')
    return normalizeAddress(`${host.includes(':') ? `[${host}]` : host}${text.slice(colon)}`)
  } catch {
    throw new InvalidHandshakeError(`invalid LISTEN address ${JSON.stringify(text.slice(0, 80))}`)
  }
}

function refusal (verdict: Exclude<Admission, 'accept' | 'redundant'>, by: 'us' | 'remote'): Error {
  switch (verdict) {
    case 'self': return new SelfConnectionError()
    case 'duplicate': return new DuplicatePeerError(by === 'us' ? 'already connected to this peer' : 'remote already has a connection to this node')
    case 'max-peers': return new MaxPeersError(by === 'us' ? 'this node is at maxPeers' : 'remote is at its peer limit')
  }
}

/** The handshake's options: default and range of each. */
export const HANDSHAKE_OPTIONS = {
  role: required<'dialer' | 'listener'>("'dialer' or 'listener'", value => value === 'dialer' || value === 'listener'),
  link: required<Link>('a Link (an object with send and close functions)', isLink),
  local: required<{ id: string, name: string }>('{ id, name } with string values',
    value => typeof value === 'object' && value !== null && isString((value as { id: unknown }).id) && isString((value as { name: unknown }).name)),
  listenAddress: required<string>('a host:port string', isString),
  dialedAddress: checked<string | undefined>(undefined, 'a host:port string', isString, 'none'),
  remoteHost: checked<string | undefined>(undefined, 'a string', isString, 'none'),
  admit: required<(remote: RemoteHello) => Admission>('a function', isFunction),
  onEstablished: checked<((remote: RemoteHello) => void) | undefined>(undefined, 'a function', isFunction, 'none'),
  peersToShare: required<() => string[]>('a function', isFunction),
  timeout: integer(DEFAULT_CONNECTION_TIMEOUT, 1, { unit: 'ms' })
} satisfies OptionTable<HandshakeOptions>

export function handshake (options: HandshakeOptions) {
  const opts = resolveHandshake(options)
  return (source: AsyncIterable<Message[]>): AsyncIterableIterator<Message[]> => new Handshake(source[Symbol.asyncIterator](), opts)
}

const resolveHandshake = (options: HandshakeOptions) => applyTable(HANDSHAKE_OPTIONS, options)
/** The handshake's options once resolved: every one set but the optional ones. */
type HandshakeSettings = ReturnType<typeof resolveHandshake>

async function shareAfterAccept (opts: HandshakeSettings): Promise<void> {
  const peers = opts.peersToShare()
  if (peers.length > 0) await opts.link.send({ type: 'peers', addresses: peers })
  if (opts.role === 'dialer') await opts.link.send(REQUEST_PEERS_MESSAGE)
}

/**
 * One connection's handshake, an iterator rather than a generator: its
 * first `next()` runs the handshake and yields the messages that came with
 * it; every later `next()` is the source's own. An established connection
 * so keeps no suspended frame for it and pays no hop per batch.
 */
class Handshake implements AsyncIterableIterator<Message[]> {
  private handshake: Promise<IteratorResult<Message[]>> | undefined
  private established = false

  constructor (private readonly source: AsyncIterator<Message[]>, private readonly opts: HandshakeSettings) {}

  next (): Promise<IteratorResult<Message[]>> {
    if (this.established) return this.source.next()
    this.handshake ??= shakeHands(this.source, this.opts).then(pending => {
      this.established = true
      return { value: pending, done: false }
    })
    return this.handshake
  }

  async return (): Promise<IteratorResult<Message[]>> {
    this.established = true
    closeSource(this.source)
    return { value: undefined, done: true }
  }

  [Symbol.asyncIterator] (): this {
    return this
  }
}

/**
 * Ends `source` without waiting: after a timeout it may still be blocked
 * in a read that only ends once the connection closes, which happens after this.
 */
function closeSource (source: AsyncIterator<Message[]>): void {
  Promise.resolve(source.return?.()).catch(() => {})
}

/** Runs the handshake over `iterator`; resolves with the messages that arrived with its lines, or rejects and ends `iterator`. */
async function shakeHands (iterator: AsyncIterator<Message[]>, opts: HandshakeSettings): Promise<Message[]> {
  const { link, local, timeout } = opts
  const hello: HelloMessage = { type: 'hello', id: local.id, name: local.name }
  const deadline = new Deadline<never>(timeout, () => { throw new HandshakeTimeoutError(timeout) })
  try {
    if (opts.role === 'dialer') {
      await link.send(hello)
      await link.send({ type: 'listen', address: opts.listenAddress })
    }
    // Messages that arrived in the same batches as the handshake lines.
    const pending: Message[] = []
    const next = async (): Promise<Message | undefined> => {
      while (pending.length === 0) {
        const result = await deadline.race(iterator.next())
        if (result.done === true) return undefined
        pending.push(...result.value)
      }
      return pending.shift()
    }

    const first = await next()
    if (first === undefined) throw new InvalidHandshakeError('connection closed during the handshake')
    if (first.type === 'duplicate') throw refusal('duplicate', 'remote')
    if (first.type === 'max-peers') throw refusal('max-peers', 'remote')
    if (first.type !== 'hello') throw new InvalidHandshakeError(`expected <ID>:<NAME>, got ${first.type}`)
    const remote = validateHello(first)

    if (opts.role === 'dialer') {
      if (opts.dialedAddress !== undefined) remote.listenAddress = opts.dialedAddress
    } else {
      const second = await next()
      if (second?.type === 'listen') remote.listenAddress = parseListenAddress(second.address, opts.remoteHost)
      else if (second !== undefined) pending.unshift(second)
    }

    const admission = opts.admit(remote)
    // A listener has nothing to drain: its dialer sends nothing before the answer.
    const verdict = admission === 'redundant' && opts.role === 'listener' ? 'duplicate' : admission
    if (verdict === 'accept') {
      if (opts.role === 'listener') await link.send(hello)
      await shareAfterAccept(opts)
    } else if (verdict !== 'redundant') {
      // To a dialer that is ourselves we introduce ourselves: it then sees its own id and knows.
      if (opts.role === 'listener') await link.send(verdict === 'self' ? hello : verdict === 'duplicate' ? DUPLICATE_MESSAGE : MAX_PEERS_MESSAGE)
      throw refusal(verdict, 'us')
    }
    deadline.clear()
    opts.onEstablished?.(remote)
    return pending
  } catch (err) {
    closeSource(iterator)
    throw err
  } finally {
    deadline.clear()
  }
}

/**
 * The overlay sub-protocol's wire format, mirrored in one file. Every overlay
 * frame is the payload of one `BYTES` frame of the line protocol, so a peer
 * that does not speak it never reads it as chat:
 *
 *   <OVERLAY_PREFIX><WORD> <field> <field>...[\n<payload>]
 *
 * Fields are separated by one space; ids never contain spaces or `:`, so a
 * peer reference is written `<id>:<host>:<port>` and split at its first `:`
 * (as the handshake's `<ID>:<NAME>`). A display name, which may contain
 * spaces, is always the last field. Frames that carry a payload end their
 * header with `\n`; the payload's raw bytes follow to the end of the frame.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { startsWithBytes } from '../../transforms/core/bytes.js'
import { OverlayFrameError } from '../errors.js'
import type { Origin, Topology } from '../types.js'
import { idProblem, nameProblem, normalizeAddress } from '../../transforms/core/line-protocol.js'

/** Entries read from one list in an overlay frame (IHAVE ids, shuffle samples) at most; a longer list is a protocol error. */
export const MAX_OVERLAY_LIST_ENTRIES = 256

/** Starts every overlay frame; distinctive, so no application payload is mistaken for one. */
export const OVERLAY_PREFIX = 'meshline-overlay/1 '

/** `CAPS <topology> <probe|reply>`: capability announcement; a `probe` is answered with a `reply` by every meshline node. */
export const CAPS = 'CAPS'
/** `JOIN`: the dialer joins the overlay through this node (HyParView JOIN). */
export const JOIN = 'JOIN'
/** `FORWARD_JOIN <ttl> <id>:<address>`: a newcomer, forwarded by random walk. */
export const FORWARD_JOIN = 'FORWARD_JOIN'
/** `NEIGHBOR <high|low>`: the dialer asks to become an active neighbour; `high` must be accepted. */
export const NEIGHBOR = 'NEIGHBOR'
/** `NEIGHBOR_REPLY <accept|reject>`: answer to `NEIGHBOR`. */
export const NEIGHBOR_REPLY = 'NEIGHBOR_REPLY'
/** `DISCONNECT`: the sender drops this link from its active view; the connection closes after it. */
export const DISCONNECT = 'DISCONNECT'
/** `SHUFFLE <ttl> <hops> <originId> <id>:<address>...`: a sample of the origin's views, forwarded by random walk. */
export const SHUFFLE = 'SHUFFLE'
/** `SHUFFLE_REPLY <targetId> <hops> <id>:<address>...`: a sample of the last walker's passive view, routed back to the origin. */
export const SHUFFLE_REPLY = 'SHUFFLE_REPLY'
/** `GOSSIP <msgId> <kind> <hops> <hopLimit> <originId> <originName>\n<payload>`: a broadcast's payload (Plumtree eager push). */
export const GOSSIP = 'GOSSIP'
/** `IHAVE <msgId> <hops> [<msgId> <hops>]...`: broadcast ids the sender can serve (Plumtree lazy push). */
export const IHAVE = 'IHAVE'
/** `GRAFT [<msgId>]`: push eagerly to me from now on, and send me that payload if one is named. */
export const GRAFT = 'GRAFT'
/** `PRUNE`: push only ids to me from now on (the payload came twice). */
export const PRUNE = 'PRUNE'
/** `SIGNED <msgId> <hops> <hopLimit> <originId>\n<bundle>`: a broadcast of a signed bundle (eager push like `GOSSIP`); the id is the bundle's own. */
export const SIGNED = 'SIGNED'
/** `ROUTE <srcId> <dstId> <hops> <hopLimit> <kind> <srcName>\n<payload>`: a direct message relayed towards `dstId`. */
export const ROUTE = 'ROUTE'
/** `SEALED <srcId> <dstId> <hops> <hopLimit>\n<sealed>`: a direct message sealed to `dstId`, relayed towards it. */
export const SEALED = 'SEALED'
/** `ROUTE_REPLY <requesterId> <targetId> <hops> <hopLimit> [<targetKey>]`: the target's answer to a route request, relayed back to the requester, with the target's X25519 key (hex) to seal to. */
export const ROUTE_REPLY = 'ROUTE_REPLY'

/** What a broadcast or routed payload is: chat text, opaque bytes, (broadcasts only) a request for a route to the node whose id it holds or a signed bundle, (routed only) a sealed message. */
export type PayloadKind = 'chat' | 'bytes' | 'route-request' | 'signed'

/** A node as the overlay refers to it. */
export interface PeerRef { id: string, address: string }

export interface CapsFrame { type: 'caps', topology: Topology, reply: boolean }
export interface JoinFrame { type: 'join' }
export interface ForwardJoinFrame { type: 'forward-join', ttl: number, peer: PeerRef }
export interface NeighborFrame { type: 'neighbor', priority: 'high' | 'low' }
export interface NeighborReplyFrame { type: 'neighbor-reply', accepted: boolean }
export interface DisconnectFrame { type: 'disconnect' }
export interface ShuffleFrame { type: 'shuffle', ttl: number, hops: number, origin: string, entries: PeerRef[] }
export interface ShuffleReplyFrame { type: 'shuffle-reply', target: string, hops: number, entries: PeerRef[] }
/** `hops` counts the links the payload has crossed once received: the origin sends 1. A `signed` frame's origin has no name here (it is in the bundle). */
export interface GossipFrame { type: 'gossip', id: string, kind: PayloadKind, hops: number, hopLimit: number, origin: Origin, payload: Uint8Array | Uint8ArrayList }
export interface IHaveFrame { type: 'ihave', ids: Array<{ id: string, hops: number }> }
export interface GraftFrame { type: 'graft', id?: string }
export interface PruneFrame { type: 'prune' }
/** A `sealed` frame's source has no name here (it is sealed in). */
export interface RouteFrame { type: 'route', source: Origin, target: string, hops: number, hopLimit: number, kind: 'chat' | 'bytes' | 'sealed', payload: Uint8Array | Uint8ArrayList }
export interface RouteReplyFrame { type: 'route-reply', requester: string, target: string, hops: number, hopLimit: number, key?: Uint8Array }

export type MembershipFrame = JoinFrame | ForwardJoinFrame | NeighborFrame | NeighborReplyFrame | DisconnectFrame | ShuffleFrame | ShuffleReplyFrame
export type BroadcastFrame = GossipFrame | IHaveFrame | GraftFrame | PruneFrame
export type OverlayFrame = CapsFrame | MembershipFrame | BroadcastFrame | RouteFrame | RouteReplyFrame

const PREFIX_BYTES = new TextEncoder().encode(OVERLAY_PREFIX)

/** Whether a `BYTES` payload is an overlay frame (by its prefix alone). */
export function isOverlayPayload (data: Uint8Array | Uint8ArrayList): boolean {
  return startsWithBytes(data, PREFIX_BYTES)
}
const NEWLINE = 0x0a
const SPACE = ' '
const utf8 = new TextDecoder('utf-8', { fatal: true })
const MESSAGE_ID = /^[0-9A-Za-z_-]{1,64}$/
const HEX_KEY = /^[0-9a-f]{64}$/
const KINDS = ['chat', 'bytes', 'route-request'] as const

function peerRef (ref: PeerRef): string {
  return `${ref.id}:${ref.address}`
}

/** The header line of a frame, without the prefix and the `\n`. */
function header (frame: OverlayFrame): string {
  switch (frame.type) {
    case 'caps': return `${CAPS} ${frame.topology} ${frame.reply ? 'reply' : 'probe'}`
    case 'join': return JOIN
    case 'forward-join': return `${FORWARD_JOIN} ${frame.ttl} ${peerRef(frame.peer)}`
    case 'neighbor': return `${NEIGHBOR} ${frame.priority}`
    case 'neighbor-reply': return `${NEIGHBOR_REPLY} ${frame.accepted ? 'accept' : 'reject'}`
    case 'disconnect': return DISCONNECT
    case 'shuffle': return [SHUFFLE, frame.ttl, frame.hops, frame.origin, ...frame.entries.map(peerRef)].join(SPACE)
    case 'shuffle-reply': return [SHUFFLE_REPLY, frame.target, frame.hops, ...frame.entries.map(peerRef)].join(SPACE)
    case 'gossip':
      if (frame.kind === 'signed') return `${SIGNED} ${frame.id} ${frame.hops} ${frame.hopLimit} ${frame.origin.id}`
      return `${GOSSIP} ${frame.id} ${frame.kind} ${frame.hops} ${frame.hopLimit} ${frame.origin.id} ${frame.origin.name}`
    case 'ihave': return [IHAVE, ...frame.ids.flatMap(({ id, hops }) => [id, hops])].join(SPACE)
    case 'graft': return frame.id === undefined ? GRAFT : `${GRAFT} ${frame.id}`
    case 'prune': return PRUNE
    case 'route':
      if (frame.kind === 'sealed') return `${SEALED} ${frame.source.id} ${frame.target} ${frame.hops} ${frame.hopLimit}`
      return `${ROUTE} ${frame.source.id} ${frame.target} ${frame.hops} ${frame.hopLimit} ${frame.kind} ${frame.source.name}`
    case 'route-reply': {
      const reply = `${ROUTE_REPLY} ${frame.requester} ${frame.target} ${frame.hops} ${frame.hopLimit}`
      return frame.key === undefined ? reply : `${reply} ${Buffer.from(frame.key).toString('hex')}`
    }
  }
}

/** Encodes a frame as a `BYTES` payload. A payload is appended by reference, never copied. */
export function encodeFrame (frame: OverlayFrame): Uint8ArrayList {
  const withPayload = frame.type === 'gossip' || frame.type === 'route'
  const out = new Uint8ArrayList()
  out.append(Buffer.from(OVERLAY_PREFIX + header(frame) + (withPayload ? '\n' : ''), 'utf8'))
  if (withPayload) out.append(frame.payload)
  return out
}

/** One short line describing a frame, for debug logs. */
export function describeFrame (frame: OverlayFrame): string {
  const line = header(frame)
  const payload = frame.type === 'gossip' || frame.type === 'route' ? ` +${frame.payload.byteLength} bytes` : ''
  return (line.length > 100 ? `${line.slice(0, 97)}...` : line) + payload
}

/** Reads fields of a header left to right; every failure is an `OverlayFrameError`. */
class Fields {
  private pos = 0
  constructor (private readonly line: string, private readonly word: string) {}

  fail (what: string): OverlayFrameError {
    return new OverlayFrameError(`${this.word}: ${what}`)
  }

  get done (): boolean {
    return this.pos >= this.line.length
  }

  /** The next space-separated field. */
  next (what: string): string {
    if (this.done) throw this.fail(`missing ${what}`)
    const end = this.line.indexOf(SPACE, this.pos)
    const field = this.line.slice(this.pos, end < 0 ? undefined : end)
    this.pos = end < 0 ? this.line.length : end + 1
    if (field.length === 0) throw this.fail(`empty ${what}`)
    return field
  }

  /** Everything left, spaces included (a display name); may be empty. */
  rest (): string {
    const rest = this.line.slice(this.pos)
    this.pos = this.line.length
    return rest
  }

  end (): void {
    if (!this.done) throw this.fail(`unexpected field ${JSON.stringify(this.rest().slice(0, 40))}`)
  }

  int (what: string, max = Number.MAX_SAFE_INTEGER): number {
    const field = this.next(what)
    if (!/^[0-9]{1,15}$/.test(field)) throw this.fail(`${what} is not a decimal integer`)
    const value = Number(field)
    if (value > max) throw this.fail(`${what} ${value} exceeds ${max}`)
    return value
  }

  peerId (what: string): string {
    const id = this.next(what)
    if (idProblem(id) !== undefined) throw this.fail(`invalid ${what}`)
    return id
  }

  messageId (): string {
    const id = this.next('message id')
    if (!MESSAGE_ID.test(id)) throw this.fail('invalid message id')
    return id
  }

  name (): string {
    const name = this.rest()
    if (nameProblem(name) !== undefined) throw this.fail('invalid name')
    return name
  }

  oneOf<T extends string> (what: string, values: readonly T[]): T {
    const field = this.next(what)
    if (!(values as readonly string[]).includes(field)) throw this.fail(`invalid ${what} ${JSON.stringify(field.slice(0, 20))}`)
    return field as T
  }

  peerRef (): PeerRef {
    const field = this.next('peer')
    const colon = field.indexOf(':')
    const id = field.slice(0, colon)
    if (colon <= 0 || idProblem(id) !== undefined) throw this.fail('invalid peer id')
    try {
      return { id, address: normalizeAddress(field.slice(colon + 1)) }
    } catch {
      throw this.fail('invalid peer address')
    }
  }

  peerRefs (): PeerRef[] {
    const refs: PeerRef[] = []
    while (!this.done) {
      if (refs.length === MAX_OVERLAY_LIST_ENTRIES) throw this.fail(`more than ${MAX_OVERLAY_LIST_ENTRIES} peers`)
      refs.push(this.peerRef())
    }
    return refs
  }
}

/** Index of the first `\n` at or after `from`, or -1. */
function newlineIndex (data: Uint8ArrayList, from: number): number {
  let offset = 0
  for (const piece of data) {
    if (offset + piece.length > from) {
      const found = piece.indexOf(NEWLINE, Math.max(0, from - offset))
      if (found >= 0) return offset + found
    }
    offset += piece.length
  }
  return -1
}

/**
 * Decodes an overlay frame from a `BYTES` payload that starts with
 * `OVERLAY_PREFIX`. A payload is returned as a view of `data`.
 * @throws OverlayFrameError
 */
export function decodeFrame (data: Uint8ArrayList): OverlayFrame {
  const newline = newlineIndex(data, PREFIX_BYTES.length)
  const headerEnd = newline < 0 ? data.byteLength : newline
  let line: string
  try {
    line = utf8.decode(data.subarray(PREFIX_BYTES.length, headerEnd))
  } catch {
    throw new OverlayFrameError('header is not valid UTF-8')
  }
  const space = line.indexOf(SPACE)
  const word = space < 0 ? line : line.slice(0, space)
  const f = new Fields(space < 0 ? '' : line.slice(space + 1), word)
  const payload = (): Uint8ArrayList => {
    if (newline < 0) throw f.fail('missing payload separator')
    return data.sublist(newline + 1)
  }
  if (newline >= 0 && word !== GOSSIP && word !== ROUTE && word !== SIGNED && word !== SEALED) throw f.fail('unexpected payload')

  let frame: OverlayFrame
  switch (word) {
    case CAPS:
      frame = { type: 'caps', topology: f.oneOf('topology', ['full-mesh', 'overlay'] as const), reply: f.oneOf('role', ['probe', 'reply'] as const) === 'reply' }
      break
    case JOIN: frame = { type: 'join' }; break
    case FORWARD_JOIN: frame = { type: 'forward-join', ttl: f.int('ttl', 255), peer: f.peerRef() }; break
    case NEIGHBOR: frame = { type: 'neighbor', priority: f.oneOf('priority', ['high', 'low'] as const) }; break
    case NEIGHBOR_REPLY: frame = { type: 'neighbor-reply', accepted: f.oneOf('answer', ['accept', 'reject'] as const) === 'accept' }; break
    case DISCONNECT: frame = { type: 'disconnect' }; break
    case SHUFFLE:
      frame = { type: 'shuffle', ttl: f.int('ttl', 255), hops: f.int('hops', 255), origin: f.peerId('origin'), entries: f.peerRefs() }
      break
    case SHUFFLE_REPLY:
      frame = { type: 'shuffle-reply', target: f.peerId('target'), hops: f.int('hops', 255), entries: f.peerRefs() }
      break
    case GOSSIP: {
      const id = f.messageId()
      const kind = f.oneOf('kind', KINDS)
      const hops = f.int('hops', 255)
      const hopLimit = f.int('hop limit', 255)
      const origin = { id: f.peerId('origin'), name: f.name() }
      return { type: 'gossip', id, kind, hops, hopLimit, origin, payload: payload() }
    }
    case SIGNED: {
      const id = f.messageId()
      const hops = f.int('hops', 255)
      const hopLimit = f.int('hop limit', 255)
      const origin = { id: f.peerId('origin'), name: '' }
      f.end()
      return { type: 'gossip', id, kind: 'signed', hops, hopLimit, origin, payload: payload() }
    }
    case IHAVE: {
      const ids: IHaveFrame['ids'] = []
      while (!f.done) {
        if (ids.length === MAX_OVERLAY_LIST_ENTRIES) throw f.fail(`more than ${MAX_OVERLAY_LIST_ENTRIES} ids`)
        ids.push({ id: f.messageId(), hops: f.int('hops', 255) })
      }
      if (ids.length === 0) throw f.fail('no ids')
      frame = { type: 'ihave', ids }
      break
    }
    case GRAFT: frame = f.done ? { type: 'graft' } : { type: 'graft', id: f.messageId() }; break
    case PRUNE: frame = { type: 'prune' }; break
    case ROUTE: {
      const sourceId = f.peerId('source')
      const target = f.peerId('target')
      const hops = f.int('hops', 255)
      const hopLimit = f.int('hop limit', 255)
      const kind = f.oneOf('kind', ['chat', 'bytes'] as const)
      return { type: 'route', source: { id: sourceId, name: f.name() }, target, hops, hopLimit, kind, payload: payload() }
    }
    case SEALED: {
      const source = { id: f.peerId('source'), name: '' }
      const target = f.peerId('target')
      const hops = f.int('hops', 255)
      const hopLimit = f.int('hop limit', 255)
      f.end()
      return { type: 'route', source, target, hops, hopLimit, kind: 'sealed', payload: payload() }
    }
    case ROUTE_REPLY: {
      const reply: RouteReplyFrame = { type: 'route-reply', requester: f.peerId('requester'), target: f.peerId('target'), hops: f.int('hops', 255), hopLimit: f.int('hop limit', 255) }
      if (!f.done) {
        const key = f.next('key')
        if (!HEX_KEY.test(key)) throw f.fail('invalid key')
        reply.key = Buffer.from(key, 'hex')
      }
      frame = reply
      break
    }
    default:
      throw new OverlayFrameError(`unknown frame ${JSON.stringify(word.slice(0, 40))}`)
  }
  f.end()
  return frame
}

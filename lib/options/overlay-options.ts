/**
 * The overlay topology's options: documented here, each one's default and
 * range in `OVERLAY_OPTIONS` beside them.
 */
import { applyTable, checked, defaultsOf, expected, integer, isFunction, oneOf, type Defaults, type OptionTable } from '../../transforms/core/option-table.js'
import type { EndToEndMode } from '../types.js'

/** Limits and timers of the overlay topology. Every field is optional. */
export interface OverlayOptions {
  /** Neighbours kept connected (HyParView active view); at least 2, and below `maxPeers`. Ten give a broadcast tree short enough for 8 hops to the last of 1,000 nodes; 5, the HyParView paper's, give 12. */
  activeViewSize?: number
  /** Addresses kept to replace failed neighbours from (HyParView passive view). */
  passiveViewSize?: number
  /** Hops a JOIN travels by random walk (HyParView ARWL). */
  activeWalkLength?: number
  /** Remaining walk length at which a forwarded JOIN adds the newcomer to the passive view (HyParView PRWL). */
  passiveWalkLength?: number
  /** How often a sample of the views is exchanged with a random node, in ms. */
  shuffleInterval?: number
  /** Active-view entries sent in a shuffle. */
  shuffleActive?: number
  /** Passive-view entries sent in a shuffle. */
  shufflePassive?: number
  /** Hops a shuffle travels by random walk. */
  shuffleWalkLength?: number
  /** How long a node lost without a DISCONNECT (its connection died, or a dial failed) is tried again, one per shuffle, so that the two sides of a partition that heals join again, in ms. */
  lostRetryTime?: number
  /** How often a node with free active-view slots asks passive-view nodes to become neighbours, in ms. */
  repairInterval?: number
  /** Wait after the first IHAVE for a missing payload before pulling it with GRAFT, in ms. */
  graftTimeout?: number
  /** Wait after a GRAFT before asking the next announcer, in ms. */
  graftRetryTimeout?: number
  /** How long a link made eager by a GRAFT is not pruned, so that a tree repaired while broadcasts keep coming stays whole, in ms. */
  graftHoldTime?: number
  /** Hops a lazy link's announcements must save on average over the eager copies for the broadcast tree to switch to that link (Plumtree's optimisation); 0 turns it off. */
  optimizationThreshold?: number
  /** Broadcasts compared over the same two links before the broadcast tree may switch between them. */
  optimizationSamples?: number
  /** A new neighbour starts as an eager link (payloads pushed to it) while this node has fewer eager links than this, and lazy (ids only) past them until a GRAFT or the tree optimisation makes it eager, so that the first broadcast does not flood every link of a large active view. A page that does not listen always starts eager. */
  initialEagerLinks?: number
  /** Wait for a new peer's capability announcement before treating it as a plain line-protocol peer, in ms. */
  capabilityTimeout?: number
  /** Broadcasts held for a peer while its capabilities are unknown; past that, broadcasts wait for its answer (at most `capabilityTimeout`). */
  maxHeldMessages?: number
  /** Hop limit of broadcasts and routed messages, at most 255. */
  maxHops?: number
  /** Broadcast ids remembered, so that each broadcast is delivered once. */
  maxSeenMessages?: number
  /** How long a broadcast id is remembered, in ms; at least `cacheTtl`. */
  seenTtl?: number
  /** Payload bytes kept to answer GRAFTs and to announce to new neighbours. */
  maxCachedBytes?: number
  /** How long a payload is kept to answer GRAFTs and to announce to new neighbours, in ms. */
  cacheTtl?: number
  /** Routes (node id to next hop) kept. */
  maxRoutes?: number
  /** How long a learnt route is used, in ms. */
  routeTtl?: number
  /** How long a direct message to a node that is not a neighbour waits for a route, in ms. */
  routeTimeout?: number
  /**
   * End-to-end trust of broadcasts and routed messages. `'required'`: this
   * node signs what it broadcasts and seals what it routes to its recipient;
   * it verifies everything relayed to it before delivering or relaying it,
   * and refuses unsigned overlay traffic. `'preferred'`: the same, but
   * unsigned traffic is delivered, marked `unverified`. `'off'`: it sends
   * unsigned `GOSSIP` and `ROUTE` frames (what arrives signed is still
   * verified). Independent of `secure`, which protects each link.
   */
  endToEnd?: EndToEndMode
  /** Messages a link may relay that no honest node would (forged, altered, malformed or, where required, unsigned) before it is cut. */
  maxInvalidMessages?: number
  /** Authors whose message counters are kept to refuse replays; the one heard from least recently is forgotten first. */
  maxTrackedOrigins?: number
  /** Messages an author's later messages may overtake and still be accepted (a replay within the window is refused by its counter). */
  replayWindow?: number
  /** Other nodes' keys kept (to verify their signatures and seal messages to them). */
  maxKnownKeys?: number
  /** Bytes of messages signed together in one bundle at most (and never more than half of `maxBytesPerMessage`): what a node broadcasts within one turn of the event loop is signed once. */
  maxBundleBytes?: number
  /**
   * Broadcast what plain peers (line-protocol peers, full-mesh nodes) send
   * this node into the overlay, signed by this node as their gateway: others
   * get it marked `vouched`, with this node as `gateway`. A peer connected to
   * two gateways is relayed twice. Needs `endToEnd` other than 'off'.
   */
  relayPlainPeers?: boolean
  /** Source of randomness for neighbour choices and walks, returning [0, 1); seed it for reproducible runs. */
  random?: () => number
}

export type ResolvedOverlayOptions = Defaults<OverlayOptions>

/** Every `endToEnd` mode, for the checks here and the command line's. */
export const END_TO_END_MODES: readonly EndToEndMode[] = ['required', 'preferred', 'off']

/** Each overlay option's default and range; see `OverlayOptions` for what it does. */
export const OVERLAY_OPTIONS = {
  activeViewSize: integer(10, 2),
  passiveViewSize: integer(30, 0),
  activeWalkLength: integer(6, 0),
  passiveWalkLength: integer(3, 0),
  shuffleInterval: integer(10_000, 1, { unit: 'ms' }),
  shuffleActive: integer(3, 0),
  shufflePassive: integer(4, 0),
  shuffleWalkLength: integer(4, 0),
  lostRetryTime: integer(300_000, 0, { unit: 'ms' }),
  repairInterval: integer(1_000, 1, { unit: 'ms' }),
  graftTimeout: integer(500, 1, { unit: 'ms' }),
  graftRetryTimeout: integer(250, 1, { unit: 'ms' }),
  graftHoldTime: integer(2_000, 0, { unit: 'ms' }),
  optimizationThreshold: integer(1, 0),
  optimizationSamples: integer(8, 1),
  initialEagerLinks: integer(6, 1),
  capabilityTimeout: integer(2_000, 1, { unit: 'ms' }),
  maxHeldMessages: integer(256, 0),
  // Hop counts travel as fields of at most 255.
  maxHops: integer(64, 1, { max: 255 }),
  maxSeenMessages: integer(65_536, 1),
  seenTtl: integer(120_000, 1, { unit: 'ms' }),
  maxCachedBytes: integer(16 * 1024 * 1024, 0, { unit: 'bytes' }),
  cacheTtl: integer(30_000, 0, { unit: 'ms' }),
  maxRoutes: integer(4096, 0),
  routeTtl: integer(60_000, 1, { unit: 'ms' }),
  routeTimeout: integer(3_000, 1, { unit: 'ms' }),
  endToEnd: oneOf<EndToEndMode>('required', END_TO_END_MODES),
  maxInvalidMessages: integer(8, 1),
  maxTrackedOrigins: integer(65_536, 1),
  replayWindow: integer(1024, 1),
  maxKnownKeys: integer(65_536, 1),
  maxBundleBytes: integer(1024 * 1024, 1, { unit: 'bytes' }),
  relayPlainPeers: checked(false, 'a boolean', value => typeof value === 'boolean'),
  random: checked<() => number>(Math.random, 'a function returning a number in [0, 1)', isFunction, 'Math.random')
} satisfies OptionTable<OverlayOptions>

export const DEFAULT_OVERLAY_OPTIONS: ResolvedOverlayOptions = defaultsOf(OVERLAY_OPTIONS)

/** Fills in defaults and checks every overlay option. @throws InvalidOptionError */
export function resolveOverlayOptions (opts: OverlayOptions = {}): ResolvedOverlayOptions {
  if (typeof opts !== 'object' || opts === null) throw expected('overlay', 'an object', opts)
  const resolved = applyTable(OVERLAY_OPTIONS, opts, 'overlay.')
  // A payload still cached after its id is forgotten could be announced and delivered again.
  if (resolved.seenTtl < resolved.cacheTtl) throw expected('overlay.seenTtl', `at least overlay.cacheTtl (${resolved.cacheTtl})`, resolved.seenTtl)
  return resolved
}

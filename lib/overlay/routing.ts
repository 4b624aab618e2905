/**
 * Reverse-path routing by node id. Every overlay frame that names the node it
 * came from (a broadcast's origin, a shuffle's origin, a routed message's
 * source, a route reply's target) teaches the receiver a route back to that
 * node: through the neighbour it arrived from, at the hop count it carries.
 * A node that knows no route to an id asks for one with a route-request
 * broadcast; the target's reply travels back along the request's reverse
 * path and teaches every node on the way the route forward.
 *
 * Routes are bounded in number (oldest forgotten first), expire after
 * `routeTtl`, and are dropped with the neighbour they go through. Expired
 * routes are dropped as new ones come, not when the table is full: a node
 * that relays shuffles learns a route from each, and would otherwise keep
 * `maxRoutes` of them, mostly stale. Time is passed in, so the table is
 * pure.
 */

export interface RoutingOptions {
  /** Routes kept at most. */
  maxRoutes: number
  /** How long a route is used, in ms. */
  routeTtl: number
}

interface Route {
  via: string
  hops: number
  expires: number
}

export class RoutingTable {
  /** Target id to route, in order of last refresh (so the oldest come first). */
  private readonly routes = new Map<string, Route>()

  constructor (private readonly opts: RoutingOptions) {}

  get size (): number {
    return this.routes.size
  }

  /**
   * Records that `target` is `hops` away through neighbour `via`. A fresh
   * route through another neighbour that is shorter is kept instead, so
   * that a walk that passed here twice does not turn the route into a loop.
   */
  learn (target: string, via: string, hops: number, now: number): void {
    if (this.opts.maxRoutes === 0) return
    this.expire(now)
    const current = this.routes.get(target)
    if (current !== undefined && current.expires > now && current.via !== via && current.hops < hops) return
    this.routes.delete(target)
    if (this.routes.size >= this.opts.maxRoutes) this.routes.delete(this.routes.keys().next().value as string)
    this.routes.set(target, { via, hops, expires: now + this.opts.routeTtl })
  }

  /** The neighbour to send a frame for `target` to, if a route is known. */
  nextHop (target: string, now: number): string | undefined {
    const route = this.routes.get(target)
    if (route === undefined) return undefined
    if (route.expires > now) return route.via
    this.routes.delete(target)
    return undefined
  }

  /** Drops the expired routes; all live `routeTtl`, so they are the oldest refreshed, first in the map. */
  private expire (now: number): void {
    for (const [target, route] of this.routes) {
      if (route.expires > now) break
      this.routes.delete(target)
    }
  }

  /** Forgets every route through a neighbour that is gone. */
  forget (via: string): void {
    for (const [target, route] of this.routes) {
      if (route.via === via || target === via) this.routes.delete(target)
    }
  }
}

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RoutingTable } from '../../lib/overlay/routing.js'

describe('overlay routing table', () => {
  it('routes through the neighbour a node was heard from', () => {
    const table = new RoutingTable({ maxRoutes: 10, routeTtl: 100 })
    table.learn('far', 'n1', 3, 0)
    assert.equal(table.nextHop('far', 50), 'n1')
    assert.equal(table.nextHop('unknown', 50), undefined)
  })

  it('keeps a fresh shorter route over a longer one through another neighbour, and takes news from the same one', () => {
    const table = new RoutingTable({ maxRoutes: 10, routeTtl: 100 })
    table.learn('far', 'n1', 2, 0)
    table.learn('far', 'n2', 5, 10)
    assert.equal(table.nextHop('far', 20), 'n1')
    table.learn('far', 'n2', 2, 30)
    assert.equal(table.nextHop('far', 40), 'n2')
    table.learn('far', 'n2', 9, 50)
    assert.equal(table.nextHop('far', 60), 'n2')
  })

  it('expires routes after routeTtl, then takes any route', () => {
    const table = new RoutingTable({ maxRoutes: 10, routeTtl: 100 })
    table.learn('far', 'n1', 1, 0)
    table.learn('far', 'n2', 7, 100)
    assert.equal(table.nextHop('far', 150), 'n2')
    assert.equal(table.nextHop('far', 200), undefined)
  })

  it('holds only live routes: the expired ones go as new ones are learnt, not when the table is full', () => {
    const table = new RoutingTable({ maxRoutes: 1000, routeTtl: 100 })
    for (let t = 0; t < 500; t++) table.learn(`origin${t}`, 'n1', 3, t)
    assert.equal(table.size, 100, 'the routes of the last routeTtl ms')
    assert.equal(table.nextHop('origin499', 500), 'n1')
  })

  it('forgets routes through a neighbour that is gone, and to it', () => {
    const table = new RoutingTable({ maxRoutes: 10, routeTtl: 100 })
    table.learn('a', 'n1', 2, 0)
    table.learn('b', 'n2', 2, 0)
    table.learn('n1', 'n3', 2, 0)
    table.forget('n1')
    assert.equal(table.nextHop('a', 1), undefined)
    assert.equal(table.nextHop('n1', 1), undefined)
    assert.equal(table.nextHop('b', 1), 'n2')
  })

  it('keeps at most maxRoutes, forgetting the least recently learnt', () => {
    const table = new RoutingTable({ maxRoutes: 2, routeTtl: 100 })
    table.learn('a', 'n', 1, 0)
    table.learn('b', 'n', 1, 0)
    table.learn('a', 'n', 1, 1)
    table.learn('c', 'n', 1, 2)
    assert.equal(table.size, 2)
    assert.equal(table.nextHop('b', 3), undefined)
    assert.equal(table.nextHop('a', 3), 'n')
    const none = new RoutingTable({ maxRoutes: 0, routeTtl: 100 })
    none.learn('a', 'n', 1, 0)
    assert.equal(none.size, 0)
  })
})

/**
 * The churn scenario (run by test/churn.test.ts in its own process): a 30-node full mesh on loopback loses 10 random nodes
 * without a goodbye (5 crash: their connections are reset; 5 freeze: their
 * connections go silent), the survivors notice within peerTimeout, the 10
 * come back on the same ports (5 rejoining through their peers file, 5
 * through a bootstrap address), the mesh is full again, and a broadcast from
 * every node reaches every other node exactly once.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { MeshNode, type MeshNodeOptions } from '../../../lib/index.js'
import { sleep, waitFor } from '../../../harness/async.js'
import { KillableTcp } from '../../../harness/killable.js'
import { FAST } from '../../support/live.js'
import { portOf } from '../../../harness/loopback.js'
import { seeded } from '../../../harness/random.js'

const SIZE = 30
const VICTIMS = 10
const PEER_TIMEOUT = 1500

/**
 * Fast timers, but not so fast that 30 nodes sharing one process (and, here,
 * two cores) time each other out while 435 connections are being made.
 */
const OPTIONS: MeshNodeOptions = {
  ...FAST,
  maxPeers: SIZE - 1,
  maintenanceInterval: 250,
  peerTimeout: PEER_TIMEOUT,
  discoveryInterval: 400,
  dialJitter: 50,
  dialsPerDiscovery: 8,
  dialConcurrency: 8,
  connectionTimeout: 5000,
  reconnectAttempts: 30,
  reconnectBackoff: 100,
  reconnectMaxDelay: 400
}

interface Member {
  node: MeshNode
  transport: KillableTcp
  port: number
  peersFile: string
}

function fullMesh (members: Member[]): boolean {
  const ids = new Set(members.map(m => m.node.id))
  return members.every(m => {
    const peers = m.node.peers().filter(p => ids.has(p.id))
    return peers.length === members.length - 1
  })
}

function describeMesh (members: Member[]): string {
  return members.map(m => {
    const { peers, dialing, scheduledDials, reconnecting, knownAddresses, pendingHandshakes } = m.node.stats()
    return `${peers}/d${dialing}s${scheduledDials}r${reconnecting}k${knownAddresses}p${pendingHandshakes}`
  }).join(' ')
}

export interface ChurnReport {
  size: number
  victims: number
  peerTimeout: number
  /** Time to the first full mesh, in ms. */
  formation: number
  /** When the last survivor noticed its last lost peer, after the kill, in ms. */
  noticed: number
  /** How late timers fired meanwhile, at most, in ms. */
  lateness: number
  /** Time from the restart to a full mesh again, in ms. */
  repaired: number
}

export async function churnScenario (): Promise<ChurnReport> {
  const dir = await mkdtemp(join(tmpdir(), 'meshline-churn-'))
  const everyone: Array<{ node: MeshNode, transport: KillableTcp }> = []
  const start = async (port: number, peersFile: string): Promise<Member> => {
    const transport = new KillableTcp()
    const node = new MeshNode({ ...OPTIONS, port, peersFile, transport })
    everyone.push({ node, transport })
    await node.start()
    return { node, transport, port: portOf(node.address), peersFile }
  }
  try {
    const random = seeded(30)
    const members = await Promise.all(Array.from({ length: SIZE }, async (_, i) => await start(0, join(dir, `peers-${i}`))))
    const [hub] = members as [Member]
    await Promise.all(members.slice(1).map(async m => await m.node.connect(hub.node.address)))
    const formed = Date.now()
    await waitFor(() => fullMesh(members), `the first full mesh (peers: ${describeMesh(members)})`, 20_000)
    const formation = Date.now() - formed
    // Long enough for every peers file to have been written (they save a second after a change).
    await sleep(1200)

    const order = members.slice(1).map(m => ({ m, key: random() })).sort((a, b) => a.key - b.key).map(({ m }) => m)
    const victims = order.slice(0, VICTIMS)
    const survivors = members.filter(m => !victims.includes(m))
    const victimIds = new Set(victims.map(v => v.node.id))
    const noticed: number[] = []
    for (const s of survivors) {
      s.node.on('peer:disconnect', ({ peer }) => { if (victimIds.has(peer.id)) noticed.push(Date.now()) })
    }

    // Timers fire late when the process is busy: that delay is measured, and allowed on top of peerTimeout.
    const lag = monitorEventLoopDelay({ resolution: 10 })
    lag.enable()
    const killedAt = Date.now()
    for (const [i, v] of victims.entries()) {
      if (i % 2 === 0) v.transport.crash()
      else v.transport.freeze()
    }
    const expected = survivors.length * VICTIMS
    await waitFor(() => noticed.length === expected, `survivors to notice (${noticed.length} of ${expected})`, PEER_TIMEOUT + 2000)
    lag.disable()
    const slowest = Math.max(...noticed) - killedAt
    const lateness = Math.round(lag.max / 1e6)
    // The silence check runs on a timer that re-arms itself: two firings, each as late as the process makes it.
    assert.ok(slowest <= PEER_TIMEOUT + 2 * lateness + 200,
      `the last survivor noticed after ${slowest} ms (peerTimeout ${PEER_TIMEOUT} ms, timers up to ${lateness} ms late)`)
    assert.ok(survivors.every(s => s.node.peers().length === SIZE - 1 - VICTIMS))

    // The dead are let go and stopped; their successors take the same ports.
    for (const v of victims) v.transport.release()
    await Promise.all(victims.map(async v => { await v.node.stop() }))
    const restartedAt = Date.now()
    const reborn = await Promise.all(victims.map(async v => await start(v.port, v.peersFile)))
    // Half rejoin through their peers file alone; the other half are also given a bootstrap address.
    for (const [i, r] of reborn.entries()) {
      assert.equal(r.port, victims[i]?.port)
      if (i % 2 === 1) await r.node.connect((survivors[i] as Member).node.address)
    }
    const mesh = [...survivors, ...reborn]
    await waitFor(() => fullMesh(mesh), `the mesh to be full again (peers: ${describeMesh(mesh)})`, 20_000)
    const repaired = Date.now() - restartedAt

    // Every node broadcasts once; every other node gets each broadcast exactly once.
    const got = new Map(mesh.map(m => [m.node.id, [] as string[]]))
    for (const m of mesh) m.node.on('chat', ({ text }) => { got.get(m.node.id)?.push(text) })
    for (const m of mesh) {
      const result = await m.node.broadcast(`from ${m.node.id}`)
      assert.equal(result.queued.length, SIZE - 1)
    }

    const missing = (): string => mesh.flatMap(m => mesh
      .filter(o => o !== m && !(got.get(m.node.id) ?? []).includes(`from ${o.node.id}`))
      .map(o => `${o.node.id.slice(0, 4)}->${m.node.id.slice(0, 4)}`)).join(' ')
    await waitFor(() => [...got.values()].every(texts => texts.length >= SIZE - 1), 'every broadcast to arrive', 5000)
      .catch((err: Error) => { assert.fail(`${err.message}; missing: ${missing()}`) })
    for (const m of mesh) {
      const expectedTexts = mesh.filter(o => o !== m).map(o => `from ${o.node.id}`).sort()
      assert.deepEqual(got.get(m.node.id)?.sort(), expectedTexts)
    }
    return { size: SIZE, victims: VICTIMS, peerTimeout: PEER_TIMEOUT, formation, noticed: slowest, lateness, repaired }
  } finally {
    for (const { transport } of everyone) transport.release()
    await Promise.all(everyone.map(async ({ node }) => { await node.stop() }))
    await rm(dir, { recursive: true, force: true })
  }
}

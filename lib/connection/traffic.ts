/**
 * Messages and payload bytes a node sent and received over its links, by
 * kind, how its outbound queues fared, and the protocol streams opened
 * and refused: plain counters, bumped once per message where every message
 * passes (a connection's queue on the way out, delivery on the way in), and
 * once per stream in the stream multiplexer, and read only when someone asks
 * (`MeshNode.metrics()`, a Prometheus scrape).
 */
import type { Message } from '../../transforms/core/line-protocol.js'

/** `chat` lines, `bytes` frames (overlay and stream frames included), and `control`: everything else (hello, PING/PONG, peer lists). */
export type TrafficKind = 'chat' | 'bytes' | 'control'

export interface TrafficCount {
  messages: Record<TrafficKind, number>
  /** Bytes of `BYTES` payloads. */
  payloadBytes: number
}

function empty (): TrafficCount {
  return { messages: { chat: 0, bytes: 0, control: 0 }, payloadBytes: 0 }
}

export class TrafficCounters {
  readonly sent = empty()
  readonly received = empty()
  /** Senders that found a queue full and waited (backpressure). */
  backpressureWaits = 0
  /** The most bytes any one outbound queue held. */
  queueHighWaterBytes = 0
  /** Protocol streams opened: by this node (`outbound`, one per `OPEN` sent) and by peers and accepted (`inbound`). */
  readonly streamsOpened = { inbound: 0, outbound: 0 }
  /** Streams peers opened that this node refused: no handler for the protocol, `maxStreamsPerPeer` reached, or closing. */
  streamsRefused = 0

  /** Counts a message queued for a peer. */
  countSent (msg: Message): void {
    count(this.sent, msg)
  }

  /** Counts a message a peer sent, as delivery reads it. */
  countReceived (msg: Message): void {
    count(this.received, msg)
  }
}

function count (into: TrafficCount, msg: Message): void {
  if (msg.type === 'chat') {
    into.messages.chat++
  } else if (msg.type === 'bytes') {
    into.messages.bytes++
    into.payloadBytes += msg.data.byteLength
  } else {
    into.messages.control++
  }
}

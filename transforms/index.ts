/**
 * meshline's composable transforms, each usable on its own without a socket.
 *
 * @example
 * ```ts
 * import { pipe } from 'it-pipe'
 * import { frameDecoder, classifier } from 'meshline-p2p/transforms'
 *
 * for await (const batch of pipe(chunks, frameDecoder(), classifier())) {
 *   for (const msg of batch) console.log(msg.type)
 * }
 * ```
 */
export * from './core/line-protocol.js'
export * from './line-framer.js'
export * from './frame-decoder.js'
export * from './classifier.js'
export * from './message-decoder.js'
export * from './encoder.js'
export * from './core/link.js'
export * from './core/message-stage.js'
export * from './handshake.js'
export * from './heartbeat.js'
export * from './discovery.js'
export * from './core/errors.js'
export * from './core/limits.js'

/**
 * Secure links: node identities (an Ed25519 key and the X25519 key derived
 * from it, ids derived from them, allowlists) and Noise_XX_25519 (AES-256-GCM
 * or ChaCha20-Poly1305) over any transport, as a transport of its own or as
 * framing transforms.
 */
export {
  fingerprint, generateIdentity, identityFromKeyObject, linkKeyOfSigningKey, nodeIdFromPublicKey, nodeIdFromSigningKey, parseAllowlist, publicKeyHex
} from './identity.js'
export { loadIdentity, resolveAllowlist } from './key-files.js'
export type { Identity } from './identity.js'
export { classifyInbound, secureTransport } from './secure-transport.js'
export type { ClassifiedTransport, SecureTransport, SecureTransportOptions } from './secure-transport.js'
export * from './noise-framing.js'

/**
 * Secure links: node identities (X25519 keys, ids derived from them,
 * allowlists) and Noise_XX_25519_ChaChaPoly_SHA256 over any transport, as a
 * transport of its own or as framing transforms.
 */
export {
  fingerprint, generateIdentity, identityFromKeyObject, linkKeyOfSigningKey, loadIdentity, nodeIdFromPublicKey, nodeIdFromSigningKey, parseAllowlist, publicKeyHex, resolveAllowlist
} from './identity.js'
export type { Identity } from './identity.js'
export { classifyInbound, secureTransport } from './secure-transport.js'
export type { ClassifiedTransport, SecureTransport, SecureTransportOptions } from './secure-transport.js'
export * from './noise-framing.js'

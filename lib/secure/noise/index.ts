/**
 * `Noise_XX_25519_AESGCM_SHA256` and `Noise_XX_25519_ChaChaPoly_SHA256` on
 * Node's built-in crypto: a synchronous state machine with no I/O, checked
 * against the published cacophony test vectors. `secure-transport.ts`
 * drives it over a transport. Beside it, the one-way pattern
 * `Noise_X_25519_AESGCM_SHA256`, which seals routed messages end to end.
 */
export { CipherState, KEYLEN, TAGLEN } from './cipher-state.js'
export type { CipherStateOptions, NoiseCipher } from './cipher-state.js'
export { SymmetricState } from './symmetric-state.js'
export { NOISE_PROTOCOL_NAMES, XXHandshake } from './handshake-state.js'
export { ONE_WAY_OVERHEAD, ONE_WAY_PROTOCOL_NAME, openOneWay, sealOneWay } from './one-way.js'
export type { SealOptions } from './one-way.js'
export type { XXHandshakeOptions } from './handshake-state.js'
export { DHLEN, HASHLEN, dh, generateKeyPair, hash, hkdf2, keyPairFromKeyObject, keyPairFromPrivateKey } from './primitives.js'
export type { KeyPair } from './primitives.js'

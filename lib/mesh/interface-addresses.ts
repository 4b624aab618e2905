/**
 * The addresses of this machine's network interfaces, which a wildcard
 * listener answers at. The browser build puts `interface-addresses.browser.ts`
 * in this file's place.
 */
import { networkInterfaces } from 'node:os'

export function interfaceAddresses (): string[] {
  return Object.values(networkInterfaces()).flatMap(addresses => (addresses ?? []).map(({ address }) => address))
}

/** `interface-addresses.ts` for browsers: a page never listens, so it answers at no interface. */
export function interfaceAddresses (): string[] {
  return []
}

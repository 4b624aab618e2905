/** Loopback addressing for tests, benchmarks and long runs: they only ever touch this machine. */

export const HOST = '127.0.0.1'

/** The port of a `host:port` address. */
export const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1))

/**
 * A transport factory whose open connections can all be cut at once, as a
 * crash of the process would cut them: for simulations and tests of failure.
 */
import type { Transport, TransportFactory } from './transport.js'
import { checkArgument } from '../../transforms/core/option-table.js'

export interface CrashableTransport {
  transport: TransportFactory
  /** Closes every connection made or accepted through `transport` that is still open. */
  crash: () => void
}

export function crashable (inner: TransportFactory): CrashableTransport {
  checkArgument('inner', 'a transport (an object with dial and listen functions)', inner,
    value => typeof value === 'object' && value !== null && typeof (value as TransportFactory).dial === 'function' && typeof (value as TransportFactory).listen === 'function')
  const open = new Set<Transport>()
  const track = (t: Transport): Transport => {
    open.add(t)
    void t.closed.then(() => open.delete(t))
    return t
  }
  return {
    transport: {
      dial: async (host, port, opts) => track(await inner.dial(host, port, opts)),
      listen: async (host, port, onConnection) => await inner.listen(host, port, t => { onConnection(track(t)) })
    },
    crash: () => { for (const t of open) t.close() }
  }
}

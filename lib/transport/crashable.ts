/**
 * A transport factory whose open connections can all be cut at once, as a
 * crash of the process would cut them: for simulations and tests of failure.
 * After the crash it accepts and dials nothing, as a dead process would not:
 * peers that redial it fail at once instead of connecting to a node that is
 * still shutting down.
 */
import type { Transport, TransportFactory } from './transport.js'
import { ConnectionClosedError } from '../errors.js'
import { checkArgument } from '../../transforms/core/option-table.js'

export interface CrashableTransport {
  transport: TransportFactory
  /** Closes every connection made or accepted through `transport` that is still open, and refuses every later one. */
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
  let crashed = false
  return {
    transport: {
      dial: async (host, port, opts) => {
        if (crashed) throw new ConnectionClosedError('this end has crashed')
        return track(await inner.dial(host, port, opts))
      },
      listen: async (host, port, onConnection) => await inner.listen(host, port, t => {
        if (crashed) t.close()
        else onConnection(track(t))
      })
    },
    crash: () => {
      crashed = true
      for (const t of open) t.close()
    }
  }
}

/**
 * The command line's arguments, as the existing mesh CLI takes them
 * (`[--name NAME] [--debug] [--host HOST] [--downloads DIR] <port>
 * [bootstrap-host:port]`), plus `--help`, `--version`, the `demo` subcommand,
 * a peers file and a few limits and timers, and the help text that
 * describes them.
 */
import { parseArgs as parseArgv } from 'node:util'
import { InvalidAddressError, InvalidOptionError } from '../errors.js'
import { DEFAULT_MAX_FILE_SIZE } from '../file-transfer/receiver.js'
import { normalizeAddress } from '../../transforms/core/line-protocol.js'
import type { EndToEndMode, SecureMode, Topology } from '../types.js'
import { NODE_OPTIONS, SECURE_MODES, TOPOLOGIES, type MeshNodeOptions } from '../options/node-options.js'
import { END_TO_END_MODES, OVERLAY_OPTIONS } from '../options/overlay-options.js'
import { OUTPUT_FORMATS, type OutputFormat } from './output.js'

/** Node options the command line can set beyond the existing CLI's. */
export type Tuning = Pick<MeshNodeOptions, 'maxPeers' | 'maintenanceInterval' | 'discoveryInterval' | 'peerTimeout' | 'dialJitter'>

/** Link security: `--secure`, `--identity FILE`, `--allow FILE` (the last two only when given). */
export interface Security {
  secure: SecureMode
  identity?: string
  allow?: string
}

/** Run a node: `meshline [options] <port> [bootstrap-host:port]`. */
export interface NodeArgs {
  command: 'node'
  port: number
  bootstrap: string | undefined
  name: string | undefined
  host: string
  downloads: string
  debug: boolean
  maxFileSize: number
  /** Where the node remembers the peers it dialled, to rejoin through them after a restart. */
  peersFile: string | undefined
  tuning: Tuning
  security: Security
  topology: Topology
  /** How lines are printed (`--log`): for people, or one JSON object each. */
  log: OutputFormat
  /** Where `GET /metrics` serves Prometheus text (`--metrics-port`), if anywhere. */
  metricsPort: number | undefined
  /** Where the node also listens for WebSocket connections (`--ws-port`); `--web` alone picks a free port. */
  wsPort: number | undefined
  /** Where the chat page is served (`--web`), if anywhere. */
  webPort: number | undefined
  /** The overlay's end-to-end options given on the command line (`--end-to-end`, `--relay-plain-peers`). */
  overlay: { endToEnd?: EndToEndMode, relayPlainPeers?: boolean }
}

export type CliArgs = { command: 'help' } | { command: 'version' } | { command: 'demo' } | NodeArgs

export const DEFAULT_HOST = NODE_OPTIONS.host.default
export const DEFAULT_DOWNLOADS = 'downloads'
/** People meet meshline here: Noise wherever the peer speaks it, plaintext with peers that do not. */
export const DEFAULT_SECURE: SecureMode = 'preferred'
/** The line protocol's own topology, so that a node joins existing meshes as an equal. */
export const DEFAULT_TOPOLOGY: Topology = 'full-mesh'

/** Numeric flags and the option each sets; its least value is the option's own. */
const NUMERIC_FLAGS = {
  'max-peers': 'maxPeers',
  'maintenance-interval': 'maintenanceInterval',
  'discovery-interval': 'discoveryInterval',
  'peer-timeout': 'peerTimeout',
  'dial-jitter': 'dialJitter'
} as const satisfies Record<string, keyof Tuning>

export const USAGE = `Usage: meshline [--name NAME] [--debug] [--host HOST] [--downloads DIR] <port> [bootstrap-host:port]
       meshline [--secure off|preferred|required] [--identity FILE] [--allow FILE] ... <port> [bootstrap-host:port]
       meshline --topology overlay [--end-to-end MODE] [--relay-plain-peers] ... <port> [bootstrap-host:port]
       meshline demo
       meshline --help | --version`

export function helpText (): string {
  return `meshline: a node of a peer-to-peer messaging mesh, speaking the mesh line protocol.

${USAGE}

Arguments:
  <port>                     port to listen on (0 picks a free one)
  bootstrap-host:port        a node of the mesh to join through

Options:
  --name NAME                display name shown to peers (default: the node id)
  --host HOST                host to listen on (default: ${DEFAULT_HOST})
  --downloads DIR            folder received files are stored in (default: ./${DEFAULT_DOWNLOADS})
  --debug                    also show ping/pong and peer-list traffic
  --log FORMAT               text (lines for people, the default) or json (one JSON object per
                             line: time, category, message, and the event's fields, an error's code)
  --peers-file PATH          remember the peers this node dials in PATH, and rejoin
                             through them on the next start, even without a bootstrap
  --max-file-size BYTES      largest file a peer may send (default: ${DEFAULT_MAX_FILE_SIZE})
  --max-peers N              connected peers at most (default: ${NODE_OPTIONS.maxPeers.default}; with --topology overlay,
                             twice its ${OVERLAY_OPTIONS.activeViewSize.default} neighbours)
  --metrics-port PORT        serve the node's metrics as Prometheus text at GET /metrics on
                             PORT, on --host
  --ws-port PORT             also listen for WebSocket connections (browsers) on PORT, on --host
  --web PORT                 serve a chat page at http://HOST:PORT/ that joins the mesh from the
                             browser through this node (over --ws-port, or a free port)
  --topology T               full-mesh (every node connects to every node, as the line protocol
                             does) or overlay (a few neighbours each, broadcasts relayed; for
                             large meshes of meshline nodes) (default: ${DEFAULT_TOPOLOGY})
  --end-to-end MODE          overlay only: required (sign broadcasts, seal routed messages, refuse
                             unsigned ones), preferred (sign and seal; deliver unsigned ones marked
                             unverified) or off (default: ${OVERLAY_OPTIONS.endToEnd.default})
  --relay-plain-peers        overlay only: relay what line-protocol peers send into the overlay,
                             vouched for by this node as their gateway
  -h, --help                 show this help
  --version                  show the version

Secure links (Noise_XX_25519 with AES-256-GCM, or ChaCha20-Poly1305 for peers without it):
  --secure MODE              off, preferred (Noise where the peer speaks it) or required (default: ${DEFAULT_SECURE})
  --identity FILE            this node's key file, created with mode 0600 if missing; the node id
                             comes from its key (default: a new key, and so a new id, each run)
  --allow FILE               accept and dial only peers whose public key is in FILE (64 hex
                             characters per line, # comments); plaintext peers are refused

Timers, in ms (short ones suit tests and local experiments):
  --maintenance-interval MS  how often every peer is pinged (default: ${NODE_OPTIONS.maintenanceInterval.default})
  --discovery-interval MS    how often every peer is asked for its peers (default: ${NODE_OPTIONS.discoveryInterval.default})
  --peer-timeout MS          silence after which a peer is dropped (default: ${NODE_OPTIONS.peerTimeout.default})
  --dial-jitter MS           longest random delay before dialling a discovered address (default: ${NODE_OPTIONS.dialJitter.default})

Commands, one per line on standard input:
  /peers                     connected peers (name, address, link security, key fingerprint,
                             last seen) and known addresses
  /connect <host:port>       connect to a node
  /discover                  ask every peer for its peers now
  /send <filepath>           send a file to every connected peer
  /quit                      leave the mesh and exit (so do Ctrl-C and SIGTERM)
  /help                      list these commands
  anything else              sent to every peer as chat

When standard input ends (piped input), the node keeps running until a signal.

Demo:
  meshline demo              start a 5-node mesh on 127.0.0.1, show discovery, chat,
                             binary data and a file transfer, then exit
`
}

/**
 * Reads the arguments (without `node` and the script).
 * @throws InvalidOptionError with a message fit for the user
 */
export function parseArgs (argv: string[]): CliArgs {
  let parsed
  try {
    parsed = parseArgv({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        debug: { type: 'boolean' },
        name: { type: 'string' },
        host: { type: 'string' },
        downloads: { type: 'string' },
        'peers-file': { type: 'string' },
        'max-file-size': { type: 'string' },
        'max-peers': { type: 'string' },
        'maintenance-interval': { type: 'string' },
        'discovery-interval': { type: 'string' },
        'peer-timeout': { type: 'string' },
        'dial-jitter': { type: 'string' },
        secure: { type: 'string' },
        identity: { type: 'string' },
        allow: { type: 'string' },
        topology: { type: 'string' },
        'end-to-end': { type: 'string' },
        'relay-plain-peers': { type: 'boolean' },
        'metrics-port': { type: 'string' },
        'ws-port': { type: 'string' },
        web: { type: 'string' },
        log: { type: 'string' }
      }
    })
  } catch (error) {
    // node:util reports unknown flags and missing values as plain TypeErrors.
    throw new InvalidOptionError((error as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help === true) return { command: 'help' }
  if (values.version === true) return { command: 'version' }
  if (positionals[0] === 'demo') {
    if (positionals.length > 1 || Object.keys(values).length > 0) throw new InvalidOptionError('`demo` takes no arguments')
    return { command: 'demo' }
  }

  const [portText, bootstrap, ...extra] = positionals
  if (portText === undefined) throw new InvalidOptionError('Expected a <port> to listen on')
  if (extra.length > 0) throw new InvalidOptionError(`Unexpected argument ${JSON.stringify(extra[0])}`)
  const tuning: Tuning = {}
  for (const flag of Object.keys(NUMERIC_FLAGS) as Array<keyof typeof NUMERIC_FLAGS>) {
    const option = NUMERIC_FLAGS[flag]
    const text = values[flag]
    if (typeof text === 'string') tuning[option] = integer(`--${flag}`, text, NODE_OPTIONS[option].min ?? 0)
  }
  const name = values.name
  if (name !== undefined && name.trim() === '') throw new InvalidOptionError('Expected `--name` to be a non-empty name')
  const security = securityArgs(values.secure, nonEmpty('--identity', values.identity), nonEmpty('--allow', values.allow))
  return {
    command: 'node',
    port: integer('<port>', portText, 0, 65535),
    bootstrap: bootstrap === undefined ? undefined : address(bootstrap),
    name,
    host: nonEmpty('--host', values.host) ?? DEFAULT_HOST,
    downloads: nonEmpty('--downloads', values.downloads) ?? DEFAULT_DOWNLOADS,
    debug: values.debug === true,
    maxFileSize: typeof values['max-file-size'] === 'string' ? integer('--max-file-size', values['max-file-size'], 0) : DEFAULT_MAX_FILE_SIZE,
    peersFile: nonEmpty('--peers-file', values['peers-file']),
    metricsPort: typeof values['metrics-port'] === 'string' ? integer('--metrics-port', values['metrics-port'], 0, 65535) : undefined,
    ...webArgs(values['ws-port'], values.web),
    log: choice('--log', values.log ?? 'text', OUTPUT_FORMATS),
    tuning,
    security,
    ...topologyArgs(values.topology, values['end-to-end'], values['relay-plain-peers'])
  }
}

function webArgs (wsPort: string | undefined, web: string | undefined): Pick<NodeArgs, 'wsPort' | 'webPort'> {
  const webPort = web === undefined ? undefined : integer('--web', web, 0, 65535)
  // The page needs a WebSocket listener to join through.
  return { wsPort: wsPort === undefined ? (webPort === undefined ? undefined : 0) : integer('--ws-port', wsPort, 0, 65535), webPort }
}

function topologyArgs (text: string | undefined, endToEnd: string | undefined, relayPlainPeers: boolean | undefined): Pick<NodeArgs, 'topology' | 'overlay'> {
  const chosen = choice('--topology', text ?? DEFAULT_TOPOLOGY, TOPOLOGIES)
  const overlay: NodeArgs['overlay'] = {}
  if (chosen !== 'overlay' && (endToEnd !== undefined || relayPlainPeers !== undefined)) {
    throw new InvalidOptionError(`Expected \`--topology overlay\` with \`${endToEnd !== undefined ? '--end-to-end' : '--relay-plain-peers'}\`, which only the overlay has`)
  }
  if (endToEnd !== undefined) overlay.endToEnd = choice('--end-to-end', endToEnd, END_TO_END_MODES)
  if (relayPlainPeers === true) overlay.relayPlainPeers = true
  return { topology: chosen, overlay }
}

/** The value of a flag that takes one of `values`. @throws InvalidOptionError naming them */
function choice<T extends string> (flag: string, text: string, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(text)) throw new InvalidOptionError(`Expected \`${flag}\` to be one of ${values.join(', ')}, got ${JSON.stringify(text)}`)
  return text as T
}

function securityArgs (mode: string | undefined, identity: string | undefined, allow: string | undefined): Security {
  const secure = choice('--secure', mode ?? DEFAULT_SECURE, SECURE_MODES)
  if (allow !== undefined && secure === 'off') throw new InvalidOptionError('`--allow` needs `--secure preferred` or `--secure required`: only Noise proves a key')
  const security: Security = { secure }
  if (identity !== undefined) security.identity = identity
  if (allow !== undefined) security.allow = allow
  return security
}

function integer (what: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = /^[0-9]+$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(`Expected \`${what}\` to be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}, got ${JSON.stringify(text)}`)
  }
  return value
}

function address (text: string): string {
  try {
    return normalizeAddress(text)
  } catch (error) {
    if (error instanceof InvalidAddressError) throw new InvalidOptionError(`Expected the bootstrap address to be host:port, got ${JSON.stringify(text)}`)
    throw error
  }
}

function nonEmpty (flag: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.length === 0) throw new InvalidOptionError(`Expected \`${flag}\` to be non-empty`)
  return value
}

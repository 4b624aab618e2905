import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DEFAULT_HOST, DEFAULT_DOWNLOADS, parseArgs } from '../../lib/cli/args.js'
import { DEFAULT_MAX_FILE_SIZE } from '../../lib/file-transfer/receiver.js'
import { DialError, LimitExceededError, MeshNode, SlowPeerError, TimeoutError, UntrustedMessageError } from '../../lib/index.js'
import { Output } from '../../lib/cli/output.js'
import { reportNode } from '../../lib/cli/report.js'
import { Uint8ArrayList } from 'uint8arraylist'
import { sha256 } from '../support/bytes.js'
import { ROOT } from '../support/processes.js'
import { Cli } from '../support/cli-process.js'
import type { PeerInfo } from '../../lib/types.js'

const TIME = String.raw`\[\d\d:\d\d:\d\d\]`

/** Runs `meshline` with `args` to its end. */
async function runToEnd (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const cli = new Cli(args)
  cli.child.stdin.end()
  const code = await cli.exitCode()
  return { code, stdout: cli.lines.join('\n'), stderr: cli.stderr.join('\n') }
}

describe('meshline: three processes on loopback, driven through stdin', () => {
  let dir: string
  const names = ['alice', 'bob', 'carol'] as const
  const clis: Cli[] = []
  const at = (i: number): Cli => clis[i] as Cli

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshline-cli-'))
    let bootstrap: string[] = []
    for (const name of names) {
      const debug = name === 'alice' ? ['--debug', '--maintenance-interval', '200'] : []
      const cli = new Cli(['--name', name, '--host', '127.0.0.1', '--downloads', join(dir, name), '--dial-jitter', '50', ...debug, '0', ...bootstrap])
      clis.push(cli)
      const [, address] = await cli.waitFor(/\[SYSTEM\] Node \S+ \(\w+\) listening on (127\.0\.0\.1:\d+)$/) as [string, string]
      bootstrap = [address]
    }
  })

  after(async () => {
    for (const cli of clis) if (cli.child.exitCode === null) cli.child.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('joins in a chain and discovers the rest of the mesh', async () => {
    await at(1).waitFor(/\[BOOTSTRAP\] Joined through alice at 127\.0\.0\.1:\d+$/)
    await at(2).waitFor(/\[BOOTSTRAP\] Joined through bob at 127\.0\.0\.1:\d+$/)
    for (const [i, name] of names.entries()) {
      for (const other of names.filter(n => n !== name)) await at(i).waitFor(new RegExp(`^${TIME} \\[NETWORK\\] Connected to ${other} at 127\\.0\\.0\\.1:\\d+ `))
    }
  })

  it('delivers chat to everyone, as [time] [sender] text', async () => {
    const marks = clis.map(cli => cli.lines.length)
    at(0).send('hello from alice')
    at(2).send('  carol says: 1 | 2 & ünïcode  ')
    for (const i of [1, 2]) await at(i).waitFor(new RegExp(`^${TIME} \\[alice\\] hello from alice$`), marks[i])
    for (const i of [0, 1]) await at(i).waitFor(new RegExp(`^${TIME} \\[carol\\] carol says: 1 \\| 2 & ünïcode$`), marks[i])
  })

  it('lists the other peers and the known addresses with /peers', async () => {
    const mark = at(0).send('/peers')
    await at(0).waitFor(/\[NETWORK\] Connected peers: 2$/, mark)
    await at(0).waitFor(/\[NETWORK\] {3}bob at 127\.0\.0\.1:\d+ \(\w+, id \w+, noise AESGCM, key SHA256:[A-Za-z0-9+/]{43}\), last seen \d+ ms ago$/, mark)
    await at(0).waitFor(/\[NETWORK\] {3}carol at 127\.0\.0\.1:\d+ /, mark)
    await at(0).waitFor(/\[NETWORK\] Known addresses: 2$/, mark)
    await at(0).waitFor(/\[NETWORK\] {3}127\.0\.0\.1:\d+: connected, /, mark)
  })

  it('shows ping/pong and peer-list traffic with --debug, and /discover asks for peers', async () => {
    await at(0).waitFor(/\[DEBUG\] PONG from bob$/)
    const mark = at(0).send('/discover')
    await at(0).waitFor(/\[DISCOVERY\] Asked 2 peer\(s\) for their peers$/, mark)
    await at(0).waitFor(/\[DEBUG\] PEERS:127\.0\.0\.1:\d+ from (bob|carol)$/, mark)
    assert.equal(at(1).lines.some(line => line.includes('[DEBUG]')), false)
  })

  it('refuses unknown commands and chat that would read as a control line', async () => {
    let mark = at(1).send('/nope')
    await at(1).waitFor(/\[ERROR\] Unknown command \/nope; \/help lists the commands$/, mark)
    mark = at(1).send('PING')
    await at(1).waitFor(/\[ERROR\] Message not sent: /, mark)
  })

  it('moves a file with /send to both others, with identical SHA-256', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17)
    const source = join(dir, 'payload.bin')
    await writeFile(source, data)
    const marks = clis.map(cli => cli.lines.length)
    at(0).send(`/send ${source}`)
    await at(0).waitFor(new RegExp(`\\[FILE\\] Sent payload\\.bin \\(3\\.0 MiB\\) to 2 peer\\(s\\) in .*, SHA-256 ${sha256(data)}$`), marks[0])
    for (const [i, name] of [[1, 'bob'], [2, 'carol']] as const) {
      await at(i).waitFor(/\[FILE\] Receiving payload\.bin \(3\.0 MiB\) from alice$/, marks[i])
      await at(i).waitFor(/\[FILE\] Receiving payload\.bin: 50% /, marks[i])
      const [, path] = await at(i).waitFor(/\[FILE\] Received payload\.bin .* verified, saved as (.+)$/, marks[i]) as [string, string]
      assert.equal(path, join(dir, name, 'payload.bin'))
      assert.equal(sha256(await readFile(path)), sha256(data))
      assert.deepEqual(await readdir(join(dir, name)), ['payload.bin'])
    }
  })

  it('reports a file that cannot be read', async () => {
    const mark = at(0).send(`/send ${join(dir, 'missing.bin')}`)
    await at(0).waitFor(/\[ERROR\] Could not send missing\.bin: cannot access .*missing\.bin/, mark)
  })

  it('keeps running once piped input ends, and stops gracefully on SIGTERM', async () => {
    const mark = at(2).lines.length
    at(2).child.stdin.end()
    await at(2).waitFor(/\[SYSTEM\] Standard input ended; running until SIGINT or SIGTERM$/, mark)
    // Still a working node: chat still arrives.
    const chatMark = at(2).lines.length
    at(1).send('still there?')
    await at(2).waitFor(/\[bob\] still there\?$/, chatMark)
    at(2).child.kill('SIGTERM')
    assert.equal(await at(2).exitCode(), 0)
    await at(2).waitFor(/\[SYSTEM\] Shutting down \(SIGTERM\)$/, mark)
    await at(2).waitFor(/\[SYSTEM\] Stopped$/, mark)
  })

  it('exits 0 on /quit', async () => {
    for (const i of [1, 0]) {
      const mark = at(i).send('/quit')
      assert.equal(await at(i).exitCode(), 0)
      await at(i).waitFor(/\[SYSTEM\] Shutting down \(\/quit\)$/, mark)
      await at(i).waitFor(/\[SYSTEM\] Stopped$/, mark)
    }
  })
})

describe('meshline: --peers-file', () => {
  it('remembers the peers it dialled, and rejoins through them after a restart without a bootstrap address', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshline-cli-peers-'))
    const peer = new MeshNode({ host: '127.0.0.1', name: 'remembered' })
    const clis: Cli[] = []
    const cli = (args: string[]): Cli => { const c = new Cli(args); clis.push(c); return c }
    try {
      await peer.start()
      const peersFile = join(dir, 'peers')
      const first = cli(['--host', '127.0.0.1', '--peers-file', peersFile, '0', peer.address])
      await first.waitFor(/\[NETWORK\] Connected to remembered /)
      first.child.kill('SIGTERM')
      assert.equal(await first.exitCode(), 0)
      assert.equal(await readFile(peersFile, 'utf8'), `${peer.address}\n`)

      const again = cli(['--host', '127.0.0.1', '--peers-file', peersFile, '0'])
      await again.waitFor(/\[NETWORK\] Connected to remembered at 127\.0\.0\.1:\d+ \(outbound/)
      again.child.kill('SIGTERM')
      assert.equal(await again.exitCode(), 0)

      await writeFile(peersFile, 'not an address\n')
      const damaged = cli(['--host', '127.0.0.1', '--peers-file', peersFile, '0'])
      await damaged.waitFor(/\[ERROR\] peers file .* is corrupt/)
      // Signals are handled once the node runs; this line comes after that.
      damaged.child.stdin.end()
      await damaged.waitFor(/\[SYSTEM\] Standard input ended/)
      damaged.child.kill('SIGTERM')
      assert.equal(await damaged.exitCode(), 0)
    } finally {
      // A failed wait must not leave a node running: the test file would never end.
      for (const c of clis) if (c.child.exitCode === null) c.child.kill('SIGKILL')
      await peer.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('meshline: --topology overlay', () => {
  it('joins an overlay node and exchanges chat with it as [time] [author] text', async () => {
    const alice = new Cli(['--name', 'alice', '--host', '127.0.0.1', '--topology', 'overlay', '0'])
    const [, address] = await alice.waitFor(/listening on (127\.0\.0\.1:\d+)$/) as [string, string]
    const bob = new Cli(['--name', 'bob', '--host', '127.0.0.1', '--topology', 'overlay', '0', address])
    try {
      await bob.waitFor(/\[BOOTSTRAP\] Joined through alice at /)
      // Waits for the link, so that the test is about the output alone.
      await alice.waitFor(/\[NETWORK\] Connected to bob at /)
      bob.send('hello through the overlay')
      await alice.waitFor(new RegExp(`^${TIME} \\[bob\\] hello through the overlay$`))
    } finally {
      for (const cli of [alice, bob]) cli.child.kill('SIGINT')
      assert.deepEqual(await Promise.all([alice.exitCode(), bob.exitCode()]), [0, 0])
    }
  })
})

describe('meshline: report', () => {
  it('names a relayed message by its author, and a payload by the neighbour it came through too', () => {
    const chunks: string[] = []
    const node = new MeshNode()
    reportNode(node, new Output({ stream: { write: (text: string) => chunks.push(text) }, terminal: false, color: false }), false)
    const via = { id: 'v', name: 'victor' } as PeerInfo
    const origin = { id: 'o', name: 'olga' }
    node.emit('chat', { peer: via, text: 'hi', origin, hops: 3, authenticity: 'signed' })
    node.emit('bytes', { peer: via, data: new Uint8ArrayList(new Uint8Array(5)), origin, hops: 3, authenticity: 'signed' })
    node.emit('bytes', { peer: via, data: new Uint8ArrayList(new Uint8Array(5)), origin: via, hops: 1, authenticity: 'link' })
    node.emit('chat', { peer: via, text: 'from a line-protocol peer', origin, hops: 2, authenticity: 'vouched', gateway: 'victor-id' })
    node.emit('chat', { peer: via, text: 'nobody signed this', origin, hops: 2, authenticity: 'unverified' })
    node.emit('message:refused', { peer: via, error: new UntrustedMessageError('bad-signature', 'altered'), closed: true })
    const lines = chunks.join('').trimEnd().split('\n')
    assert.match(lines[0] as string, new RegExp(`^${TIME} \\[olga\\] hi$`))
    assert.match(lines[1] as string, /\[NETWORK\] Received 5 B of binary data from olga \(3 hops, via victor\)$/)
    assert.match(lines[2] as string, /\[NETWORK\] Received 5 B of binary data from victor$/)
    assert.match(lines[3] as string, /\[olga \(vouched for by victor-id\)\] from a line-protocol peer$/)
    assert.match(lines[4] as string, /\[olga \(unverified\)\] nobody signed this$/)
    assert.match(lines[5] as string, /\[ERROR\] Refused a message relayed by victor: bad-signature: altered \(connection closed: too many\)$/)
  })
})

describe('meshline: --log json', () => {
  it('prints one JSON object per event, disconnects and errors with their code', () => {
    const chunks: string[] = []
    const node = new MeshNode()
    reportNode(node, new Output({ stream: { write: (text: string) => chunks.push(text) }, format: 'json' }), false)
    const peer = { id: 'p1', name: 'pat' } as PeerInfo
    node.emit('peer:disconnect', { peer, reason: new SlowPeerError(500, 4096), peerCount: 0 })
    node.emit('chat', { peer, text: 'hi\u001b[2J', origin: peer, hops: 1, authenticity: 'link' })
    node.emit('dial:failed', { address: 'h:1', error: new DialError('h:1', 2, { cause: new TimeoutError('dial', 10) }) })
    const lines = chunks.join('').trimEnd().split('\n').map(line => JSON.parse(line) as Record<string, unknown>)
    assert.equal(lines.length, 3)
    for (const line of lines) assert.ok(!Number.isNaN(Date.parse(line.time as string)), 'an ISO time')
    assert.deepEqual({ ...lines[0], time: undefined }, { time: undefined, category: 'NETWORK', message: lines[0]?.message, event: 'peer:disconnect', peer: 'p1', code: 'ERR_SLOW_PEER', peers: 0 })
    assert.deepEqual([lines[1]?.category, lines[1]?.from, lines[1]?.message, lines[1]?.authenticity], ['CHAT', 'pat', 'hi\u001b[2J', 'link'])
    assert.deepEqual([lines[2]?.event, lines[2]?.code, lines[2]?.cause], ['dial:failed', 'ERR_DIAL_FAILED', 'ERR_TIMEOUT'])
  })

  it('reads --log text|json, and refuses another format', () => {
    const args = parseArgs(['--log', 'json', '0'])
    assert.equal(args.command === 'node' && args.log, 'json')
    assert.throws(() => parseArgs(['--log', 'xml', '0']), (err: Error & { code?: string }) => err.code === 'ERR_INVALID_OPTION' && err.message.includes('text, json'))
  })
})

describe('meshline: report of limits', () => {
  it('says when the node is at --max-peers, and what to do about it', () => {
    const chunks: string[] = []
    const node = new MeshNode()
    reportNode(node, new Output({ stream: { write: (text: string) => chunks.push(text) }, terminal: false, color: false }), false)
    node.emit('limit:exceeded', { error: new LimitExceededError('maxPeers', 10) })
    assert.match(chunks.join(''), /\[MAINTENANCE\] maxPeers \(10\) reached: further peers are refused; raise --max-peers, or use --topology overlay/)
  })
})

describe('meshline: arguments', () => {
  it('reads the existing CLI\'s arguments, in any order, with --flag=value too', () => {
    assert.deepEqual(parseArgs(['--name', 'n', '--debug', '--host=127.0.0.1', '--downloads', 'd', '9000', 'h:9001']), {
      command: 'node', port: 9000, bootstrap: 'h:9001', name: 'n', host: '127.0.0.1', downloads: 'd', debug: true, maxFileSize: DEFAULT_MAX_FILE_SIZE, peersFile: undefined, metricsPort: undefined, wsPort: undefined, webPort: undefined, log: 'text', tuning: {}, security: { secure: 'preferred' }, topology: 'full-mesh', overlay: {}
    })
    assert.deepEqual(parseArgs(['9000']), {
      command: 'node', port: 9000, bootstrap: undefined, name: undefined, host: DEFAULT_HOST, downloads: DEFAULT_DOWNLOADS, debug: false, maxFileSize: DEFAULT_MAX_FILE_SIZE, peersFile: undefined, metricsPort: undefined, wsPort: undefined, webPort: undefined, log: 'text', tuning: {}, security: { secure: 'preferred' }, topology: 'full-mesh', overlay: {}
    })
  })

  it('reads --ws-port and --web; --web alone listens for WebSocket connections on a free port', () => {
    const both = parseArgs(['--ws-port', '7001', '--web', '8080', '9000'])
    assert.ok(both.command === 'node')
    assert.deepEqual([both.wsPort, both.webPort], [7001, 8080])
    const web = parseArgs(['--web', '8080', '9000'])
    assert.ok(web.command === 'node')
    assert.deepEqual([web.wsPort, web.webPort], [0, 8080])
    assert.throws(() => parseArgs(['--ws-port', '70000', '9000']), { code: 'ERR_INVALID_OPTION' })
  })

  it('reads the timers and limits', () => {
    const args = parseArgs(['--peer-timeout', '500', '--maintenance-interval', '100', '--discovery-interval', '200', '--dial-jitter', '0', '--max-peers', '3', '--max-file-size', '1024', '0'])
    assert.equal(args.command, 'node')
    if (args.command !== 'node') return
    assert.deepEqual(args.tuning, { peerTimeout: 500, maintenanceInterval: 100, discoveryInterval: 200, dialJitter: 0, maxPeers: 3 })
    assert.equal(args.maxFileSize, 1024)
  })

  it('reads --end-to-end and --relay-plain-peers with the overlay, and refuses them without it', () => {
    const args = parseArgs(['--topology', 'overlay', '--end-to-end', 'preferred', '--relay-plain-peers', '0'])
    assert.equal(args.command === 'node' && JSON.stringify([args.topology, args.overlay]), JSON.stringify(['overlay', { endToEnd: 'preferred', relayPlainPeers: true }]))
    assert.throws(() => parseArgs(['--end-to-end', 'off', '0']), (err: Error & { code?: string }) => err.code === 'ERR_INVALID_OPTION' && err.message.includes('--topology overlay'))
    assert.throws(() => parseArgs(['--topology', 'overlay', '--end-to-end', 'sometimes', '0']), (err: Error & { code?: string }) => err.code === 'ERR_INVALID_OPTION' && err.message.includes('required, preferred, off'))
  })

  it('reads --secure, --identity and --allow', () => {
    const args = parseArgs(['--secure', 'required', '--identity', 'me.key', '--allow=allowed.txt', '0'])
    assert.equal(args.command, 'node')
    if (args.command !== 'node') return
    assert.deepEqual(args.security, { secure: 'required', identity: 'me.key', allow: 'allowed.txt' })
    const off = parseArgs(['--secure', 'off', '0'])
    assert.deepEqual(off.command === 'node' && off.security, { secure: 'off' })
  })

  it('reads --topology', () => {
    const args = parseArgs(['--topology', 'overlay', '9000'])
    assert.equal(args.command === 'node' && args.topology, 'overlay')
    assert.throws(() => parseArgs(['--topology', 'star', '9000']), { code: 'ERR_INVALID_OPTION', message: /--topology.*full-mesh, overlay.*"star"/ })
  })

  it('reads --peers-file', () => {
    const args = parseArgs(['--peers-file', 'known-peers', '9000'])
    assert.equal(args.command === 'node' && args.peersFile, 'known-peers')
    assert.throws(() => parseArgs(['--peers-file=', '9000']), { code: 'ERR_INVALID_OPTION' })
  })

  it('reads --help, --version and demo', () => {
    assert.deepEqual(parseArgs(['--help']), { command: 'help' })
    assert.deepEqual(parseArgs(['-h', '9000']), { command: 'help' })
    assert.deepEqual(parseArgs(['--version']), { command: 'version' })
    assert.deepEqual(parseArgs(['demo']), { command: 'demo' })
  })

  it('refuses invalid arguments with ERR_INVALID_OPTION', () => {
    for (const argv of [
      [], ['--port', '1'], ['x'], ['-1'], ['65536'], ['1.5'], ['9000', 'nohost'], ['9000', 'h:0'], ['9000', 'h:1', 'extra'],
      ['--name'], ['--name', '', '9000'], ['--host=', '9000'], ['--peer-timeout', '0', '9000'], ['--max-file-size', '-1', '9000'],
      ['--debug=yes', '9000'], ['demo', '--debug'],
      ['--secure', 'maybe', '9000'], ['--secure', 'off', '--allow', 'a.txt', '9000'], ['--identity=', '9000'], ['--allow', '', '9000']
    ]) {
      assert.throws(() => parseArgs(argv), { code: 'ERR_INVALID_OPTION' }, JSON.stringify(argv))
    }
  })

  it('prints usage and exits 2 on invalid arguments', async () => {
    const { code, stdout, stderr } = await runToEnd(['--bogus', '9000'])
    assert.equal(code, 2)
    assert.equal(stdout, '')
    assert.match(stderr, /^meshline: .*--bogus/)
    assert.match(stderr, /Usage: meshline \[--name NAME\] \[--debug\] \[--host HOST\] \[--downloads DIR\] <port> \[bootstrap-host:port\]/)
  })

  it('prints help and the package version, and exits 0', async () => {
    const help = await runToEnd(['--help'])
    assert.equal(help.code, 0)
    for (const word of ['--name', '--host', '--downloads', '--debug', '--peer-timeout', '--secure', '--identity', '--allow', '--peers-file', '--topology', '/peers', '/connect', '/discover', '/send', '/quit', 'demo']) {
      assert.ok(help.stdout.includes(word), word)
    }
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    assert.deepEqual(await runToEnd(['--version']), { code: 0, stdout: `meshline ${version}`, stderr: '' })
  })

  it('reports a port that is taken and exits 1', async () => {
    const first = new Cli(['--host', '127.0.0.1', '0'])
    const [, port] = await first.waitFor(/listening on 127\.0\.0\.1:(\d+)$/) as [string, string]
    const second = await runToEnd(['--host', '127.0.0.1', port])
    assert.equal(second.code, 1)
    assert.match(second.stdout, /\[ERROR\] Cannot listen on 127\.0\.0\.1:\d+: /)
    first.child.kill('SIGINT')
    assert.equal(await first.exitCode(), 0)
  })
})

describe('meshline: secure links', () => {
  let dir: string
  const clis: Cli[] = []

  before(async () => { dir = await mkdtemp(join(tmpdir(), 'meshline-cli-secure-')) })
  after(async () => {
    for (const cli of clis) if (cli.child.exitCode === null) cli.child.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  function start (args: string[]): Cli {
    const cli = new Cli(['--host', '127.0.0.1', '--downloads', join(dir, 'downloads'), ...args])
    clis.push(cli)
    return cli
  }

  it('keeps an identity file, shows keys and link security, and refuses a peer off the allowlist', async () => {
    const aliceKey = join(dir, 'keys', 'alice.key')
    const alice = start(['--name', 'alice', '--secure', 'required', '--identity', aliceKey, '0'])
    const [, aliceAddress] = await alice.waitFor(/listening on (127\.0\.0\.1:\d+)$/) as [string, string]
    const [, aliceId] = await alice.waitFor(/\[SYSTEM\] Node alice \((\w+)\) listening/) as [string, string]
    const [, alicePublicKey, aliceFingerprint] = await alice.waitFor(/\[SYSTEM\] Secure links: required, identity \S+alice\.key; public key ([0-9a-f]{64}), fingerprint (SHA256:\S+)$/) as [string, string, string]
    if (process.platform !== 'win32') assert.equal((await stat(aliceKey)).mode & 0o777, 0o600)

    const allowFile = join(dir, 'allowed.txt')
    await writeFile(allowFile, `# alice\n${alicePublicKey}\n`)
    const bob = start(['--name', 'bob', '--allow', allowFile, '0', aliceAddress])
    const [, bobAddress] = await bob.waitFor(/listening on (127\.0\.0\.1:\d+)$/) as [string, string]
    await bob.waitFor(/\[SYSTEM\] Secure links: preferred, a new key for this run; public key [0-9a-f]{64}, fingerprint SHA256:\S+; only peers allowed by /)
    await bob.waitFor(/\[NETWORK\] Connected to alice at 127\.0\.0\.1:\d+ \(outbound, noise\)/)
    const mark = bob.send('/peers')
    await bob.waitFor(new RegExp(`\\[NETWORK\\] {3}alice at 127\\.0\\.0\\.1:\\d+ \\(outbound, id ${aliceId}, noise AESGCM, key ${aliceFingerprint.replace(/[+/]/g, '\\$&')}\\)`), mark)

    start(['--name', 'mallory', '0', bobAddress])
    await bob.waitFor(/\[ERROR\] Refused 127\.0\.0\.1:\d+ \(inbound\): key SHA256:\S+ is not on the allowlist$/)

    // The same identity file gives the same id on the next start.
    alice.child.kill('SIGTERM')
    assert.equal(await alice.exitCode(), 0)
    const again = start(['--name', 'alice', '--secure', 'required', '--identity', aliceKey, '0'])
    await again.waitFor(new RegExp(`\\[SYSTEM\\] Node alice \\(${aliceId}\\) listening`))
  })

  it('refuses to start with an identity file that others can read', { skip: process.platform === 'win32' && 'POSIX permissions' }, async () => {
    const key = join(dir, 'open.key')
    await writeFile(key, 'whatever', { mode: 0o644 })
    const { code, stdout } = await runToEnd(['--identity', key, '0'])
    assert.equal(code, 1)
    assert.match(stdout, /\[ERROR\] Cannot start: identity \S+open\.key is accessible by others \(mode 0644\); run: chmod 600 /)
  })
})

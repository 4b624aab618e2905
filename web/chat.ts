/**
 * The chat page `meshline --web` serves: a browser node that dials the
 * serving node's WebSocket listener and chats, lists its peers, sends a
 * file to every peer with a progress bar, and offers received files as
 * download links. `?name=` sets the page's display name.
 */
import { MeshNode, receiveFiles, sendFile, type PeerInfo, type SecureMode, type Topology } from '../lib/browser.js'

/** What the serving node tells its pages (`GET /config.json`). */
interface PageConfig {
  wsPort: number
  topology: Topology
  secure: SecureMode
  node: { id: string, name: string }
}

/** Nodes a page dials besides the one that served it, when they listen for WebSocket connections. */
const EXTRA_PEERS = 2

function element<T extends HTMLElement> (id: string): T {
  const found = document.getElementById(id)
  if (found === null) throw new Error(`the page has no #${id}`)
  return found as T
}

const status = element<HTMLParagraphElement>('status')
const messages = element<HTMLOListElement>('messages')
const chatForm = element<HTMLFormElement>('chat-form')
const chatText = element<HTMLInputElement>('chat-text')
const peers = element<HTMLUListElement>('peers')
const fileForm = element<HTMLFormElement>('file-form')
const fileInput = element<HTMLInputElement>('file-input')
const transfers = element<HTMLUListElement>('transfers')
const received = element<HTMLUListElement>('received')

function item (parent: HTMLElement, ...children: Array<Node | string>): HTMLLIElement {
  const li = document.createElement('li')
  li.append(...children)
  parent.append(li)
  return li
}

function span (className: string, text: string): HTMLSpanElement {
  const s = document.createElement('span')
  s.className = className
  s.textContent = text
  return s
}

function say (from: string, text: string, className = ''): void {
  const li = item(messages, span('from', from), text)
  li.className = className
  messages.scrollTop = messages.scrollHeight
}

function note (text: string): void {
  item(messages, text).className = 'system'
}

function showPeers (node: MeshNode): void {
  peers.replaceChildren(...node.peers().map((peer: PeerInfo) => {
    const li = document.createElement('li')
    const detail = document.createElement('small')
    detail.textContent = ` ${peer.security}`
    li.append(peer.name, detail)
    return li
  }))
}

function enable (form: HTMLFormElement): void {
  for (const control of form.querySelectorAll('input, button')) (control as HTMLInputElement).disabled = false
}

async function main (): Promise<void> {
  const config = await (await fetch('config.json')).json() as PageConfig
  const name = new URLSearchParams(location.search).get('name') ?? `page-${Math.random().toString(36).slice(2, 6)}`
  const node = new MeshNode({ name, topology: config.topology, secure: config.secure })
  node.on('chat', ({ origin, text }) => { say(origin.name, text) })
  node.on('peer:connect', ({ peer }) => { note(`${peer.name} joined`); showPeers(node) })
  node.on('peer:disconnect', ({ peer, reason }) => { note(`${peer.name} left (${reason.message})`); showPeers(node) })
  node.on('connection:error', ({ error }) => { note(`connection error: ${error.message}`) })
  node.on('dial:failed', ({ address, error }) => { note(`could not connect to ${address}: ${error.message}`) })

  const files = receiveFiles(node, { dir: 'downloads' })
  files.on('complete', ({ name: fileName, path, size, peer }) => {
    const link = document.createElement('a')
    link.href = path
    link.download = fileName
    link.textContent = fileName
    item(received, link, ` (${size} bytes from ${peer.name})`)
  })
  files.on('failed', ({ name: fileName, error }) => { note(`receiving ${fileName} failed: ${error.message}`) })

  await node.start()
  const address = `${location.hostname}:${config.wsPort}`
  await node.connect(address)
  status.textContent = `${name}, connected to ${config.node.name} at ${address}`
  // More links than one: the page stays in the mesh if the node that served it goes.
  node.webSocketPeers(config.node.id).then(async found => {
    for (const peer of found.filter(({ id }) => id !== config.node.id).slice(0, EXTRA_PEERS)) {
      await node.connect(peer.address, { attempts: 1 }).catch((error: Error) => { note(`could not connect to ${peer.address}: ${error.message}`) })
    }
  }, (error: Error) => { note(`could not ask for more peers: ${error.message}`) })
  document.title = `meshline chat: ${name}`
  enable(chatForm)
  enable(fileForm)

  chatForm.addEventListener('submit', event => {
    event.preventDefault()
    const text = chatText.value
    chatText.value = ''
    node.broadcast(text).then(() => { say(name, text, 'self') }, (error: Error) => { note(`not sent: ${error.message}`) })
  })

  fileForm.addEventListener('submit', event => {
    event.preventDefault()
    const file = fileInput.files?.[0]
    if (file === undefined) return
    const bar = document.createElement('progress')
    bar.max = Math.max(1, file.size)
    bar.setAttribute('aria-label', `sending ${file.name}`)
    const label = span('name', `${file.name}: hashing`)
    item(transfers, label, bar)
    const send = sendFile(node, file)
    send.on('progress', ({ phase, done }) => {
      bar.value = done
      label.textContent = `${file.name}: ${phase}`
    })
    send.done.then(({ delivered }) => { label.textContent = `${file.name}: sent to ${delivered.length} peer(s)` },
      (error: Error) => { label.textContent = `${file.name}: failed (${error.message})` })
    fileForm.reset()
  })
}

main().catch((error: Error) => { status.textContent = `Could not join the mesh: ${error.message}` })

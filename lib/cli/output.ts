/**
 * What the command line prints: `[HH:MM:SS] [CATEGORY] text` lines, the
 * categories of the existing mesh CLI, `[HH:MM:SS] [<peer name>] <text>` for
 * chat, and progress. On a terminal, lines are coloured and progress is one
 * bar redrawn in place below them; elsewhere there is no colour and progress
 * is a plain line at every quarter. With `format: 'json'`, every line is one
 * JSON object instead (`time`, `category`, `message` and the line's fields,
 * such as an error's `code`), for machines to read.
 */

export const CATEGORIES = ['SYSTEM', 'NETWORK', 'DISCOVERY', 'FILE', 'MAINTENANCE', 'BOOTSTRAP', 'ERROR', 'DEBUG'] as const
export type Category = typeof CATEGORIES[number]

/** Where output goes: a stream, and whether it is a terminal. */
export interface OutputStream {
  write: (text: string) => unknown
  isTTY?: boolean
  columns?: number
}

export interface OutputOptions {
  /** @default process.stdout */
  stream?: OutputStream
  /** Colour and an in-place progress bar. @default whether `stream` is a terminal */
  terminal?: boolean
  /** Colour, on a terminal. @default unless the NO_COLOR environment variable is set */
  color?: boolean
  /** `text`: the lines above; `json`: one JSON object per line (no colour, no bar). @default 'text' */
  format?: OutputFormat
}

export type OutputFormat = 'text' | 'json'
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['text', 'json']

/** What a line says beyond its text, for machines: ids, addresses, an error's `code`. */
export type LineFields = Record<string, string | number | boolean | undefined>

const COLORS: Record<Category | 'chat' | 'time', string> = {
  SYSTEM: '36',
  NETWORK: '32',
  DISCOVERY: '35',
  FILE: '34',
  MAINTENANCE: '33',
  BOOTSTRAP: '96',
  ERROR: '31',
  DEBUG: '90',
  chat: '1',
  time: '2'
}
const CLEAR_LINE = '\r\x1b[2K'
/** Quarter steps of plain progress lines. */
const PLAIN_STEPS = 4
/** Least time between two redraws of the bar, in ms. */
const REDRAW_INTERVAL = 100
const BAR_WIDTH = 20

interface Bar { label: string, done: number, total: number, step: number }

export class Output {
  readonly terminal: boolean
  private readonly stream: OutputStream
  private readonly color: boolean
  private readonly json: boolean
  private readonly bars = new Map<string, Bar>()
  private barShown = false
  private lastDraw = 0

  constructor (opts: OutputOptions = {}) {
    this.stream = opts.stream ?? process.stdout
    this.json = opts.format === 'json'
    this.terminal = !this.json && (opts.terminal ?? this.stream.isTTY === true)
    this.color = this.terminal && (opts.color ?? process.env['NO_COLOR'] === undefined)
  }

  /** Prints `[HH:MM:SS] [CATEGORY] text`; `fields` go into a JSON line only. */
  line (category: Category, text: string, fields?: LineFields): void {
    if (this.json) this.printJson({ category, message: text, ...fields })
    else this.print(category, category, text)
  }

  /** Prints `[HH:MM:SS] [<from>] <text>`, a chat message received. */
  chat (from: string, text: string, fields?: LineFields): void {
    if (this.json) this.printJson({ category: 'CHAT', from, message: text, ...fields })
    else this.print('chat', from, text)
  }

  /** Shows how far the task `key` is: on the bar, or as a FILE line at every quarter. */
  progress (key: string, label: string, done: number, total: number): void {
    const bar = this.bars.get(key) ?? { label, done, total, step: 0 }
    Object.assign(bar, { label, done, total })
    this.bars.set(key, bar)
    if (!this.terminal) {
      const step = total === 0 ? PLAIN_STEPS : Math.floor(done / total * PLAIN_STEPS)
      // The last quarter is left to the line that reports the task's end.
      if (step > bar.step && step < PLAIN_STEPS) this.line('FILE', `${label}: ${Math.round(step / PLAIN_STEPS * 100)}% (${formatBytes(done)} of ${formatBytes(total)})`)
      bar.step = step
      return
    }
    const now = Date.now()
    if (now - this.lastDraw < REDRAW_INTERVAL) return
    this.lastDraw = now
    this.drawBars()
  }

  /** Removes the task `key` from the progress display. */
  progressDone (key: string): void {
    if (!this.bars.delete(key) || !this.terminal) return
    this.clearBars()
    this.drawBars()
  }

  private printJson (fields: LineFields): void {
    this.stream.write(JSON.stringify({ time: new Date().toISOString(), ...fields }) + '\n')
  }

  private print (kind: Category | 'chat', tag: string, text: string): void {
    const time = this.paint('time', `[${clock()}]`)
    const line = `${time} ${this.paint(kind, `[${printable(tag)}]`)} ${printable(text)}\n`
    if (!this.terminal) {
      this.stream.write(line)
      return
    }
    this.clearBars()
    this.stream.write(line)
    this.drawBars()
  }

  private paint (kind: Category | 'chat' | 'time', text: string): string {
    return this.color ? `\x1b[${COLORS[kind]}m${text}\x1b[0m` : text
  }

  private drawBars (): void {
    if (this.bars.size === 0) return
    const text = [...this.bars.values()].map(({ label, done, total }) => {
      const ratio = total === 0 ? 1 : Math.min(1, done / total)
      const filled = Math.round(ratio * BAR_WIDTH)
      return `${printable(label)} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${Math.floor(ratio * 100)}%`
    }).join('  ')
    const width = (this.stream.columns ?? 80) - 1
    this.stream.write(CLEAR_LINE + (text.length > width ? `${text.slice(0, width - 3)}...` : text))
    this.barShown = true
  }

  private clearBars (): void {
    if (!this.barShown) return
    this.stream.write(CLEAR_LINE)
    this.barShown = false
  }
}

/** The local time as `HH:MM:SS`. */
export function clock (date = new Date()): string {
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map(n => String(n).padStart(2, '0')).join(':')
}

/**
 * Text safe to print: control characters (a peer's escape sequences could
 * rewrite the terminal) are shown as `\xNN` escapes; tabs are kept.
 */
export function printable (text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, char => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** `1536` as `1.5 KiB`. */
export function formatBytes (bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit] as string}`
}

/** A transfer rate, as `12.3 MiB/s`. */
export function formatRate (bytes: number, ms: number): string {
  return `${formatBytes(ms > 0 ? Math.round(bytes / ms * 1000) : bytes)}/s`
}

/** `1234` ms as `1.2 s`; under a second as `850 ms`. */
export function formatDuration (ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}

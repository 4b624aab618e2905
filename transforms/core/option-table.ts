/**
 * How an options table is written and applied, and how arguments are
 * checked at the API boundary. Each option's default, range and unit is one
 * entry of its table, typed against the documented options interface beside
 * it; validation, the README's tables and the command line's limits all
 * read the same entry. A wrong value, or an option no table has, is refused
 * with a message that names it and says what was expected.
 */
import { InvalidArgumentError, InvalidOptionError } from './errors.js'

/** What an option's number counts, for people: written after its default. */
export type Unit = 'ms' | 'bytes'

/** One option: its default and how a value is checked. */
export interface OptionSpec<T> {
  readonly default: T
  /** The default as the README writes it, where the value alone says too little. */
  readonly defaultText?: string
  /** Integers only: the smallest and largest value allowed. */
  readonly min?: number
  readonly max?: number
  readonly unit?: Unit
  /** A check beyond an integer's range: the expectation a wrong value is told of, and the test. */
  readonly expect?: { what: string, test: (value: unknown) => boolean }
  /** The option must be given: it has no default. */
  readonly required?: true
}

/** One entry per option of `T`, each typed by the option. */
export type OptionTable<T> = { readonly [K in keyof T]-?: OptionSpec<Exclude<T[K], undefined>> | OptionSpec<T[K]> }

/** The values of a table's defaults. */
export type Defaults<T> = { [K in keyof T]-?: T[K] }

/** A whole number from `min` (to `max`), defaulting to `value`. */
export function integer (value: number, min: number, opts: { max?: number, unit?: Unit, defaultText?: string } = {}): OptionSpec<number> {
  return { default: value, min, ...opts }
}

/** A whole number from `min` that may be left unset: `defaultText` says what unset means. */
export function optionalInteger (min: number, defaultText: string, opts: { unit?: Unit } = {}): OptionSpec<number | undefined> {
  return { default: undefined, min, defaultText, ...opts }
}

/** One of a fixed list of values. */
export function oneOf<T extends string> (value: T, values: readonly T[]): OptionSpec<T> {
  return { default: value, expect: { what: `one of ${values.map(v => `'${v}'`).join(', ')}`, test: v => values.includes(v as T) } }
}

/** Any value passing `test`; `what` names what is expected. */
export function checked<T> (value: T, what: string, test: (value: unknown) => boolean, defaultText?: string): OptionSpec<T> {
  return { default: value, expect: { what, test }, ...(defaultText === undefined ? {} : { defaultText }) }
}

/** A value that must be given, of which `what` says what it must be. */
export function required<T> (what: string, test: (value: unknown) => boolean): OptionSpec<T> {
  return { default: undefined as T, expect: { what, test }, required: true }
}

export const isFunction = (value: unknown): boolean => typeof value === 'function'
export const isString = (value: unknown): boolean => typeof value === 'string'
export const isNonEmptyString = (value: unknown): boolean => typeof value === 'string' && value.length > 0

/** A value as an error message shows it: short, and never the whole of a large object. */
function shown (value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (value instanceof Uint8Array) return `a Uint8Array of ${value.byteLength} bytes`
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return `an object (${value.constructor?.name ?? 'no prototype'})`
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/** The error for an option whose value is wrong: "Expected `name` to be ..., got ...". */
export function expected (name: string, what: string, value: unknown): InvalidOptionError {
  return new InvalidOptionError(`Expected \`${name}\` to be ${what}, got ${shown(value)}`)
}

/**
 * Checks an argument of a public function.
 * @throws InvalidArgumentError "Expected `name` to be `what`, got ..." unless `test(value)`
 */
export function checkArgument (name: string, what: string, value: unknown, test: (value: unknown) => boolean): void {
  if (!test(value)) throw new InvalidArgumentError(`Expected \`${name}\` to be ${what}, got ${shown(value)}`)
}

/** Edits (insertions, deletions, substitutions) between two names, case aside. */
function distance (a: string, b: string): number {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  let row = Array.from({ length: y.length + 1 }, (_, j) => j)
  for (let i = 1; i <= x.length; i++) {
    const next = [i]
    for (let j = 1; j <= y.length; j++) {
      next[j] = Math.min((row[j] as number) + 1, (next[j - 1] as number) + 1, (row[j - 1] as number) + (x[i - 1] === y[j - 1] ? 0 : 1))
    }
    row = next
  }
  return row[y.length] as number
}

/** The known name closest to `name`, if one is close enough to be what was meant. */
export function closest (name: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1
  for (const candidate of known) {
    const d = distance(name, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/** What a range of integers allows, in words. */
export function rangeText (spec: OptionSpec<unknown>): string | undefined {
  if (spec.min === undefined) return undefined
  return spec.max === undefined ? `an integer >= ${spec.min}` : `an integer from ${spec.min} to ${spec.max}`
}

/** Every default of a table, as a plain object. */
export function defaultsOf<T> (table: OptionTable<T>): Defaults<T> {
  return Object.fromEntries(Object.entries<OptionSpec<unknown>>(table).map(([name, spec]) => [name, spec.default])) as Defaults<T>
}

/**
 * `opts` with every option that is `undefined` set to its default, each
 * value checked against its entry.
 * @throws InvalidOptionError naming the first wrong option (`prefix` before its name)
 */
export function applyTable<T> (table: OptionTable<T>, opts: Partial<T> | undefined, prefix = ''): Defaults<T> {
  const given = opts ?? {}
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw expected(prefix === '' ? 'options' : prefix.slice(0, -1), 'an object', given)
  for (const name of Object.keys(given)) {
    if (Object.hasOwn(table, name)) continue
    const suggestion = closest(name, Object.keys(table))
    throw new InvalidOptionError(`Unknown option \`${prefix}${name}\`${suggestion === undefined ? '' : `; did you mean \`${prefix}${suggestion}\`?`}`)
  }
  const resolved: Record<string, unknown> = {}
  for (const [name, spec] of Object.entries<OptionSpec<unknown>>(table)) {
    const option: unknown = (given as Record<string, unknown>)[name]
    const value = option === undefined ? spec.default : option
    resolved[name] = value
    if (value === undefined) {
      if (spec.required === true) throw expected(`${prefix}${name}`, spec.expect?.what ?? 'given', value)
      continue
    }
    const range = rangeText(spec)
    if (range !== undefined && (!Number.isSafeInteger(value) || (value as number) < (spec.min as number) || (value as number) > (spec.max ?? Infinity))) {
      throw expected(`${prefix}${name}`, range, value)
    }
    if (spec.expect !== undefined && !spec.expect.test(value)) throw expected(`${prefix}${name}`, spec.expect.what, value)
  }
  return resolved as Defaults<T>
}

const KiB = 1024

/** A default as the README shows it: `65536 (64 KiB)`, `'0.0.0.0'`, `[]`, `none`. */
export function defaultText (spec: OptionSpec<unknown>): string {
  if (spec.defaultText !== undefined) return spec.defaultText
  if (spec.required === true) return 'required'
  const value = spec.default
  if (value === undefined) return 'none'
  if (Array.isArray(value)) return '[]'
  if (typeof value === 'string') return `'${value}'`
  if (typeof value === 'number' && spec.unit === 'bytes' && value >= KiB && value % KiB === 0) {
    const units = ['KiB', 'MiB', 'GiB']
    let size = value / KiB
    let unit = 0
    while (size >= KiB && size % KiB === 0 && unit < units.length - 1) {
      size /= KiB
      unit++
    }
    return `${value} (${size} ${units[unit] as string})`
  }
  return String(value)
}

/**
 * How an options table is written and applied. Each option's default,
 * range and unit is one entry of its table, typed against the documented
 * options interface beside it; validation, the README's tables and the
 * command line's limits all read the same entry.
 */
import { InvalidOptionError } from '../errors.js'

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
}

/** One entry per option of `T`, each typed by the option. */
export type OptionTable<T> = { readonly [K in keyof T]-?: OptionSpec<Exclude<T[K], undefined>> | OptionSpec<T[K]> }

/** The values of a table's defaults. */
export type Defaults<T> = { [K in keyof T]-?: T[K] }

/** A whole number from `min` (to `max`), defaulting to `value`. */
export function integer (value: number, min: number, opts: { max?: number, unit?: Unit, defaultText?: string } = {}): OptionSpec<number> {
  return { default: value, min, ...opts }
}

/** One of a fixed list of values. */
export function oneOf<T extends string> (value: T, values: readonly T[]): OptionSpec<T> {
  return { default: value, expect: { what: `one of ${values.map(v => `'${v}'`).join(', ')}`, test: v => values.includes(v as T) } }
}

/** Any value passing `test`; `what` names what is expected. */
export function checked<T> (value: T, what: string, test: (value: unknown) => boolean, defaultText?: string): OptionSpec<T> {
  return { default: value, expect: { what, test }, ...(defaultText === undefined ? {} : { defaultText }) }
}

/** The error for an option whose value is wrong: "Expected `name` to be ..., got ...". */
export function expected (name: string, what: string, value: unknown): InvalidOptionError {
  const shown = typeof value === 'function' || (typeof value === 'object' && value !== null && !Array.isArray(value)) ? typeof value : JSON.stringify(value) ?? String(value)
  return new InvalidOptionError(`Expected \`${name}\` to be ${what}, got ${shown}`)
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
export function applyTable<T> (table: OptionTable<T>, opts: Partial<T>, prefix = ''): Defaults<T> {
  const resolved: Record<string, unknown> = {}
  for (const [name, spec] of Object.entries<OptionSpec<unknown>>(table)) {
    const given: unknown = opts[name as keyof T]
    const value = given === undefined ? spec.default : given
    resolved[name] = value
    if (value === undefined) continue
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

/**
 * File names chosen by a peer, made safe to use inside a download folder.
 * Existing peers join the received name onto their folder as it is, so
 * `../` escapes it; here a name is always reduced to one plain base name.
 */

/** Longest safe name, in UTF-8 bytes: room is left for `-(n)` and `.part` within the usual 255-byte limit of file systems. */
export const MAX_SAFE_NAME_BYTES = 200
/** The name used when nothing usable is left of a received one. */
export const FALLBACK_NAME = 'file'
/** Longest extension kept whole when a name is shortened, in characters. */
const MAX_KEPT_EXTENSION = 16

// C0 and C1 controls (NUL, newlines, escape sequences) and the bidirectional
// overrides that make a name display as something else.
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARACTERS = /[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g
const PATH_SEPARATORS = /[/\\]/

/**
 * Reduces `name` to a base name that is safe inside a folder: the part after
 * the last `/` or `\`, with control and bidi characters replaced by `_`,
 * surrounding spaces trimmed, at most `MAX_SAFE_NAME_BYTES` long, and never
 * empty, `.` or `..` (then `FALLBACK_NAME`).
 */
export function safeFileName (name: string): string {
  const cleaned = name.replace(UNSAFE_CHARACTERS, '_')
  const base = (cleaned.split(PATH_SEPARATORS).pop() ?? '').trim()
  if (/^\.*$/.test(base)) return FALLBACK_NAME
  return shorten(base)
}

/** Cuts a name to `MAX_SAFE_NAME_BYTES`, keeping a short extension. */
function shorten (name: string): string {
  if (Buffer.byteLength(name) <= MAX_SAFE_NAME_BYTES) return name
  const dot = name.lastIndexOf('.')
  const extension = dot > 0 && name.length - dot <= MAX_KEPT_EXTENSION ? name.slice(dot) : ''
  let budget = MAX_SAFE_NAME_BYTES - Buffer.byteLength(extension)
  let stem = ''
  // By code point, so a character is never cut in half.
  for (const char of name.slice(0, name.length - extension.length)) {
    budget -= Buffer.byteLength(char)
    if (budget < 0) break
    stem += char
  }
  return stem + extension
}

/** `name`, then `name-(1).ext`, `name-(2).ext`, ...: the names tried in turn so that no file is overwritten. */
export function * numberedNames (name: string, limit: number): Generator<string> {
  yield name
  const dot = name.lastIndexOf('.')
  const [stem, extension] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, '']
  for (let n = 1; n <= limit; n++) yield `${stem}-(${n})${extension}`
}

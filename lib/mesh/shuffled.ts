/** `items`, shuffled in place (Fisher-Yates) and returned. */
export function shuffled<T> (items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const swap = items[i] as T
    items[i] = items[j] as T
    items[j] = swap
  }
  return items
}

/** Random looks per wanted item before `randomSample` falls back to a pass over the list. */
const PROBES_PER_PICK = 4

/**
 * Up to `count` items that `keep` accepts, chosen at random, in random
 * order. From a long list it probes random positions, so it costs about
 * `count` looks instead of a pass over the list: peer exchange samples the
 * connected peers for every `PEERS:` answer. Where few items are kept, it
 * falls back to a pass, so it returns `count` whenever that many are kept.
 */
export function randomSample<T, S extends T> (items: readonly T[], count: number, keep: (item: T) => item is S): S[]
export function randomSample<T> (items: readonly T[], count: number, keep: (item: T) => boolean): T[]
export function randomSample<T> (items: readonly T[], count: number, keep: (item: T) => boolean): T[] {
  if (count <= 0) return []
  if (items.length > PROBES_PER_PICK * count) {
    const picked: T[] = []
    const looked = new Set<number>()
    for (let probe = 0; probe < PROBES_PER_PICK * count && picked.length < count; probe++) {
      const index = Math.floor(Math.random() * items.length)
      if (looked.has(index)) continue
      looked.add(index)
      const item = items[index] as T
      if (keep(item)) picked.push(item)
    }
    if (picked.length === count) return picked
  }
  return shuffled(items.filter(keep)).slice(0, count)
}

/**
 * Building blocks of the apps' deterministic models (generator.ts of each app): a seedable PRNG, a
 * queue of items due at event times, and checks of generator options that throw a RangeError
 * naming the option. The same seed and options give the same records, run after run.
 */

/** sfc32: a small, fast, seedable PRNG with good statistical quality; `next()` is uniform in [0, 1). */
export class Prng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number) {
    this.a = 0x9e3779b9
    this.b = 0x243f6a88
    this.c = 0xb7e15162
    this.d = seed >>> 0
    for (let i = 0; i < 15; i++) this.next()
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return (t >>> 0) / 4294967296
  }

  /** Uniform in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next()
  }

  /** Standard normal (Box-Muller). */
  gaussian(): number {
    const u = 1 - this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next())
  }

  /** Exponential with the given rate (per unit). */
  exponential(rate: number): number {
    return -Math.log(1 - this.next()) / rate
  }

  /** One of `items`, uniformly. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T
  }
}

/**
 * Items due at a time, taken earliest first; items due at the same time come out in the order they
 * were pushed (a binary min-heap ordered by `(at, push order)`). The generators keep pending
 * deliveries and next arrivals in it.
 */
export class TimeQueue<T> {
  private readonly items: Array<{ at: number; seq: number; item: T }> = []
  private seq = 0

  /** Items waiting. */
  get size(): number {
    return this.items.length
  }

  /** When the earliest item is due; Infinity when empty. */
  peekAt(): number {
    return this.items[0]?.at ?? Infinity
  }

  push(at: number, item: T): void {
    const entry = { at, seq: this.seq++, item }
    const items = this.items
    let i = items.push(entry) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!less(entry, items[parent] as typeof entry)) break
      items[i] = items[parent] as typeof entry
      i = parent
    }
    items[i] = entry
  }

  /** Takes the earliest item. */
  pop(): T | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top?.item
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= items.length) break
      const r = l + 1
      const child = r < items.length && less(items[r] as typeof last, items[l] as typeof last) ? r : l
      if (!less(items[child] as typeof last, last)) break
      items[i] = items[child] as typeof last
      i = child
    }
    items[i] = last
    return top.item
  }
}

function less(a: { at: number; seq: number }, b: { at: number; seq: number }): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}

/** A probability option: `fallback` when undefined, else a number in [0, 1]. */
export function checkFraction(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new RangeError(`${name} must be a number in [0, 1], got ${String(value)}`)
  return v
}

/** An integer option from `min` to `max`: `fallback` when undefined. */
export function checkCount(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`)
  return v
}

/** A PRNG seed: an integer in [0, 2^32). */
export function checkSeed(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be an integer in [0, 2^32), got ${String(seed)}`)
  return seed
}

/** The event time a model starts at: non-negative epoch ms. */
export function checkStartMs(startMs: number): number {
  if (!Number.isSafeInteger(startMs) || startMs < 0) throw new RangeError(`startMs must be a non-negative integer of epoch ms, got ${String(startMs)}`)
  return startMs
}

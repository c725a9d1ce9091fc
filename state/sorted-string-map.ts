/**
 * An ordered map from strings to values: a `Map` for point lookups plus the keys kept sorted in
 * chunks (a two-level sorted list), so inserts and deletes cost a binary search and a splice in one
 * chunk of at most `MAX_CHUNK` keys, and range scans are a seek then a walk.
 *
 * Byte keys are stored as latin1 strings (one char per byte, 0..255): JavaScript compares strings by
 * UTF-16 code units, so the string order of latin1 keys is exactly the lexicographic byte order.
 */
const MAX_CHUNK = 512

/** A position in the sorted keys; `version` detects inserts/deletes made while iterating. */
export interface SortedCursor {
  chunk: number
  index: number
  version: number
  /** The last key returned: the cursor re-seeks past it when the map changed under it. */
  lastKey: string | undefined
}

export class SortedStringMap<V> {
  private readonly values = new Map<string, V>()
  private chunks: string[][] = []
  /** Last key of each chunk, for the binary search over chunks. */
  private maxes: string[] = []
  private version = 0

  get size(): number {
    return this.values.size
  }

  get(key: string): V | undefined {
    return this.values.get(key)
  }

  has(key: string): boolean {
    return this.values.has(key)
  }

  set(key: string, value: V): void {
    if (!this.values.has(key)) this.insertKey(key)
    this.values.set(key, value)
  }

  delete(key: string): boolean {
    if (!this.values.delete(key)) return false
    this.removeKey(key)
    return true
  }

  clear(): void {
    this.values.clear()
    this.chunks = []
    this.maxes = []
    this.version++
  }

  /** Calls `fn` with every value in key order (the map must not change meanwhile). */
  forEachValue(fn: (value: V) => void): void {
    for (const chunk of this.chunks) {
      for (const key of chunk) fn(this.values.get(key) as V)
    }
  }

  /** Removes every key in `[from, to)` and returns how many were removed. */
  deleteRange(from: string, to: string): number {
    let removed = 0
    for (;;) {
      const c = this.chunkFor(from)
      if (c >= this.chunks.length) break
      const chunk = this.chunks[c] as string[]
      const start = lowerBound(chunk, from)
      let end = start
      while (end < chunk.length && (chunk[end] as string) < to) end++
      if (end === start) break
      for (let i = start; i < end; i++) this.values.delete(chunk[i] as string)
      removed += end - start
      const reachedChunkEnd = end === chunk.length
      if (start === 0 && reachedChunkEnd) {
        this.chunks.splice(c, 1)
        this.maxes.splice(c, 1)
      } else {
        chunk.splice(start, end - start)
        this.maxes[c] = chunk[chunk.length - 1] as string
      }
      // The range may continue into the next chunk only when this one was consumed to its end.
      if (!reachedChunkEnd) break
    }
    if (removed > 0) this.version++
    return removed
  }

  /** A cursor at the first key `>= key` (or `> key` when `exclusive`); undefined key = first key. */
  seek(key: string | undefined, exclusive = false): SortedCursor {
    if (key === undefined) return { chunk: 0, index: 0, version: this.version, lastKey: undefined }
    const c = exclusive ? this.chunkForAfter(key) : this.chunkFor(key)
    const chunk = this.chunks[c]
    const index = chunk === undefined ? 0 : exclusive ? upperBound(chunk, key) : lowerBound(chunk, key)
    return { chunk: c, index, version: this.version, lastKey: undefined }
  }

  /** The key at the cursor and moves past it, or undefined at the end. */
  nextKey(cursor: SortedCursor): string | undefined {
    if (cursor.version !== this.version) {
      const fresh = cursor.lastKey === undefined ? this.seek(undefined) : this.seek(cursor.lastKey, true)
      cursor.chunk = fresh.chunk
      cursor.index = fresh.index
      cursor.version = this.version
    }
    for (;;) {
      const chunk = this.chunks[cursor.chunk]
      if (chunk === undefined) return undefined
      if (cursor.index < chunk.length) {
        const key = chunk[cursor.index++] as string
        cursor.lastKey = key
        return key
      }
      cursor.chunk++
      cursor.index = 0
    }
  }

  /** Index of the first chunk whose max is `>= key` (chunks.length when none). */
  private chunkFor(key: string): number {
    let lo = 0
    let hi = this.maxes.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.maxes[mid] as string) < key) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Index of the first chunk whose max is `> key`. */
  private chunkForAfter(key: string): number {
    let lo = 0
    let hi = this.maxes.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.maxes[mid] as string) <= key) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  private insertKey(key: string): void {
    this.version++
    if (this.chunks.length === 0) {
      this.chunks.push([key])
      this.maxes.push(key)
      return
    }
    let c = this.chunkFor(key)
    if (c === this.chunks.length) c-- // larger than every key: append to the last chunk
    const chunk = this.chunks[c] as string[]
    const at = lowerBound(chunk, key)
    if (at === chunk.length) chunk.push(key)
    else chunk.splice(at, 0, key)
    this.maxes[c] = chunk[chunk.length - 1] as string
    if (chunk.length > MAX_CHUNK * 2) {
      const tail = chunk.splice(MAX_CHUNK)
      this.chunks.splice(c + 1, 0, tail)
      this.maxes[c] = chunk[chunk.length - 1] as string
      this.maxes.splice(c + 1, 0, tail[tail.length - 1] as string)
    }
  }

  private removeKey(key: string): void {
    this.version++
    const c = this.chunkFor(key)
    const chunk = this.chunks[c]
    if (chunk === undefined) return
    const at = lowerBound(chunk, key)
    if (chunk[at] !== key) return
    if (chunk.length === 1) {
      this.chunks.splice(c, 1)
      this.maxes.splice(c, 1)
      return
    }
    chunk.splice(at, 1)
    this.maxes[c] = chunk[chunk.length - 1] as string
  }
}

function lowerBound(chunk: string[], key: string): number {
  let lo = 0
  let hi = chunk.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((chunk[mid] as string) < key) lo = mid + 1
    else hi = mid
  }
  return lo
}

function upperBound(chunk: string[], key: string): number {
  let lo = 0
  let hi = chunk.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((chunk[mid] as string) <= key) lo = mid + 1
    else hi = mid
  }
  return lo
}

import type { SegmentedBytesStore, SegmentedWrite } from './bytes-stores.ts'
import { CachingLayer } from './caching-stores.ts'
import { EmptyIterator } from './iterators.ts'
import { readUInt64BE, segmentPrefix, type SegmentedKeySchema } from './key-schema.ts'
import { bytesToKey } from './keyspace.ts'
import type { CacheEntry } from './record-cache.ts'
import { segmentKeyBounds } from './segments.ts'
import type { KeyValueIterator } from './types.ts'

/**
 * The caching layer of window and session stores. Cache keys are store keys (for windows with
 * sequence 0: stores that keep duplicates are not cached), so cache order is store order. Retention
 * is applied as in the store below, from the larger of the two observed stream times. The flush
 * listener hears store keys; the metered facades decode them into windows or sessions.
 */
export class CachingSegmentedStore extends CachingLayer<SegmentedBytesStore> implements SegmentedBytesStore {
  // Fixed when the store below was built: taken from it once.
  readonly schema: SegmentedKeySchema = this.inner.schema
  readonly retentionMs: number = this.inner.retentionMs
  readonly segmentIntervalMs: number = this.inner.segmentIntervalMs
  private streamTimeMs = -1

  /** Stream time counts writes still in the cache too. */
  get observedStreamTimeMs(): number {
    return Math.max(this.streamTimeMs, this.inner.observedStreamTimeMs)
  }

  /** Caches the write: nothing reaches the store below (or the changelog) before the cache flushes. */
  put(storeKey: Buffer, value: Buffer | null): boolean {
    const cache = this.c()
    if (!this.advance(storeKey)) return false
    const skey = bytesToKey(storeKey)
    cache.put(storeKey, skey, value, true, this.now(), this.knownStoreValue(skey))
    return true
  }

  writeBatch(writes: ReadonlyArray<SegmentedWrite>): boolean[] {
    const cache = this.c()
    this.forgetMiss()
    return writes.map((w) => {
      if (!this.advance(w.key)) return false
      cache.put(w.key, bytesToKey(w.key), w.value, true, w.timestampMs)
      return true
    })
  }

  get(storeKey: Buffer): Buffer | undefined {
    const cache = this.c()
    if (this.inner.schema.segmentTimeMs(storeKey) < this.minLiveTimeMs()) return undefined
    const skey = bytesToKey(storeKey)
    const hit = cache.get(skey)
    if (hit !== undefined) return hit.value === null ? undefined : hit.value
    const value = this.inner.get(storeKey)
    this.rememberMiss(skey, value)
    return value
  }

  fetch(key: Buffer, fromMs: number, toMs: number): KeyValueIterator<Buffer, Buffer> {
    const cache = this.c()
    const from = Math.max(fromMs, this.minLiveTimeMs(), 0)
    if (toMs < from) return new EmptyIterator()
    const to = Math.min(toMs, Number.MAX_SAFE_INTEGER)
    const schema = this.inner.schema
    const [low, high] = schema.suffixBounds(from, to)
    const cached = new ChainedCacheRanges(
      this.cachedSegments(this.segmentId(from), this.segmentId(to)).map((id) => {
        const [lo, hi] = segmentKeyBounds(id, key, low, high)
        return () => cache.range(bytesToKey(lo), bytesToKey(hi), true)
      }),
      (c) => schema.hasRecordKey(c.key, key)
    )
    return this.merged(cached, this.inner.fetch(key, from, to))
  }

  fetchAll(fromMs: number, toMs: number): KeyValueIterator<Buffer, Buffer> {
    const from = Math.max(fromMs, this.minLiveTimeMs(), 0)
    if (toMs < from) return new EmptyIterator()
    const to = Math.min(toMs, Number.MAX_SAFE_INTEGER)
    return this.mergedSegments(from, to, this.inner.fetchAll(from, to))
  }

  all(): KeyValueIterator<Buffer, Buffer> {
    const from = Math.max(this.minLiveTimeMs(), 0)
    return this.mergedSegments(from, Number.MAX_SAFE_INTEGER, this.inner.all())
  }

  /** Dirty order, as written: a flush logs a store's windows or sessions in the order they changed. */
  protected batchOrder(dirty: CacheEntry[]): CacheEntry[] {
    return dirty
  }

  /** Moves stream time up to the key's segment timestamp; false when the key is past retention. */
  private advance(storeKey: Buffer): boolean {
    const t = this.inner.schema.segmentTimeMs(storeKey)
    if (t > this.streamTimeMs) this.streamTimeMs = t
    return t >= this.minLiveTimeMs()
  }

  private minLiveTimeMs(): number {
    return this.observedStreamTimeMs - this.retentionMs + 1
  }

  private segmentId(ms: number): number {
    return Math.floor(ms / this.segmentIntervalMs)
  }

  /** Segment ids in `[fromId, toId]` that the cache holds entries of. */
  private cachedSegments(fromId: number, toId: number): number[] {
    const cache = this.c()
    const out: number[] = []
    let id = fromId
    while (id <= toId) {
      const first = cache.range(bytesToKey(segmentPrefix(id)), undefined, false).next()
      if (first === undefined) break
      id = readUInt64BE(first.key, 0)
      if (id > toId) break
      out.push(id)
      id++
    }
    return out
  }

  /** Cached and stored entries of the segments covering `[from, to]`, kept to that time range. */
  private mergedSegments(from: number, to: number, store: KeyValueIterator<Buffer, Buffer>): KeyValueIterator<Buffer, Buffer> {
    const schema = this.inner.schema
    const cached = this.c().range(bytesToKey(segmentPrefix(this.segmentId(from))), bytesToKey(segmentPrefix(this.segmentId(to) + 1)), false)
    return this.merged(cached, store, (c) => {
      const t = schema.segmentTimeMs(c.key)
      return t >= from && t <= to
    })
  }
}

/**
 * Cache ranges of several segments, one after the other, keeping only entries of the record key
 * asked for: an entry of another key must not meet the store's entries in the merge.
 */
class ChainedCacheRanges {
  private readonly open: Array<() => { next(): CacheEntry | undefined }>
  private readonly keep: (entry: CacheEntry) => boolean
  private position = 0
  private current: { next(): CacheEntry | undefined } | undefined

  constructor(open: Array<() => { next(): CacheEntry | undefined }>, keep: (entry: CacheEntry) => boolean) {
    this.open = open
    this.keep = keep
  }

  next(): CacheEntry | undefined {
    for (;;) {
      if (this.current === undefined) {
        const opener = this.open[this.position++]
        if (opener === undefined) return undefined
        this.current = opener()
      }
      const e = this.current.next()
      if (e === undefined) this.current = undefined
      else if (this.keep(e)) return e
    }
  }
}

/**
 * Caching layers: writes stay in a byte-bounded record cache until the task commits (`flush`) or the
 * cache is full (eviction). Then the dirty entries go down as one batch (one RocksDB write batch, one
 * changelog record per key) and are reported to the flush listener with their old and new values:
 * this is how cached aggregations emit once per key per commit instead of once per input record.
 * With `cacheMaxBytes` 0 every write is evicted at once: write-through, and the listener sees each.
 */
import type {
  KeyValueBytesStore, KeyValueWrite, SessionBytesStore, SessionWrite, WindowBytesStore, WindowWrite
} from './bytes-stores.ts'
import { StateStoreError, StoreNotOpenError } from './errors.ts'
import { EmptyIterator } from './iterators.ts'
import {
  checkTimestamp, encodeSessionKey, encodeWindowKey, prefixEnd, readUInt64BE, SEGMENT_PREFIX_BYTES,
  SESSION_SUFFIX_BYTES, segmentPrefix, WINDOW_SUFFIX_BYTES
} from './key-schema.ts'
import { bytesToKey } from './keyspace.ts'
import { MergedCacheIterator, RecordCache, type CacheEntry } from './record-cache.ts'
import { segmentKeyBounds } from './segments.ts'
import { checkSession } from './session-bytes-store.ts'
import type { Serde } from '../schemas/index.ts'
import type { CacheFlushListener, CachedStateStore, KeyValue, KeyValueIterator, StateStoreContext, Windowed } from './types.ts'

abstract class CachingLayer<TKey> implements CachedStateStore<TKey, Buffer> {
  readonly name: string
  protected cache: RecordCache | undefined
  protected context: StateStoreContext | undefined
  protected listener: CacheFlushListener<TKey, Buffer> | undefined
  protected sendOldValues = false

  constructor(name: string) {
    this.name = name
  }

  setFlushListener(listener: CacheFlushListener<TKey, Buffer>, sendOldValues: boolean): boolean {
    this.listener = listener
    this.sendOldValues = sendOldValues
    return true
  }

  /**
   * Changes the cache's byte budget (the runtime rebalances the instance's total over its stores).
   * A lower budget than what the cache holds evicts at once, through the same path as an eviction
   * on put: dirty entries are written down and reported to the flush listener, oldest first. Before
   * `init` and after `close` it does nothing (`init` takes the budget from the context).
   */
  setCacheMaxBytes(bytes: number): void {
    if (!Number.isFinite(bytes) || bytes < 0) {
      throw new StateStoreError('STATE_BAD_OPTION', `cacheMaxBytes of store "${this.name}" must be a non-negative number of bytes, got ${bytes}`)
    }
    this.cache?.resize(bytes)
  }

  /** Cache statistics (hits, misses, evictions, bytes) for metrics. */
  get cacheStats(): { hits: number; misses: number; evictions: number; sizeBytes: number; entries: number } {
    const c = this.cache
    return c === undefined
      ? { hits: 0, misses: 0, evictions: 0, sizeBytes: 0, entries: 0 }
      : { hits: c.hits, misses: c.misses, evictions: c.evictions, sizeBytes: c.sizeBytes, entries: c.size }
  }

  protected openCache(context: StateStoreContext): void {
    this.context = context
    this.cache = new RecordCache(Math.max(0, context.cacheMaxBytes), (dirty) => this.evicted(dirty))
  }

  protected c(): RecordCache {
    if (this.cache === undefined) throw new StoreNotOpenError(this.name)
    return this.cache
  }

  protected now(): number {
    if (this.context === undefined) throw new StoreNotOpenError(this.name)
    return this.context.currentTimestampMs()
  }

  /** Writes dirty entries to the store below in one batch, then tells the listener. */
  protected abstract writeDown(dirty: CacheEntry[]): void

  /** Evictions write dirty entries down (and the remembered miss may be one of them). */
  private evicted(dirty: CacheEntry[]): void {
    this.forgetMiss()
    this.writeDown(dirty)
  }

  protected flushCache(): void {
    const cache = this.c()
    const dirty = cache.takeDirty()
    this.forgetMiss()
    if (dirty.length > 0) {
      const values = dirty.map((e) => e.value)
      this.writeDown(dirty)
      cache.written(dirty, values)
    }
  }

  /**
   * The last cache miss answered by the store below (key and value, null when absent). The usual
   * read-modify-write (get, then put) creates its cache entry knowing the store's value, so the
   * flush need not read the old value back.
   */
  private missKey: string | undefined
  private missValue: Buffer | null = null

  /** The last key buffer seen and its latin1 form: get-then-put converts the key once. */
  private lastKeyBuffer: Buffer | undefined
  private lastSkey = ''

  protected skeyOf(key: Buffer): string {
    if (key === this.lastKeyBuffer) return this.lastSkey
    const skey = bytesToKey(key)
    this.lastKeyBuffer = key
    this.lastSkey = skey
    return skey
  }

  /** Writes that bypass get-then-put (batches, flushes, evictions) make the remembered miss stale. */
  protected forgetMiss(): void {
    this.missKey = undefined
  }

  protected rememberMiss(skey: string, value: Buffer | undefined): void {
    this.missKey = skey
    this.missValue = value ?? null
  }

  /** The store's value of `skey` if the last miss was for it (consumed), else undefined (unknown). */
  protected knownStoreValue(skey: string): Buffer | null | undefined {
    if (this.missKey !== skey) return undefined
    this.missKey = undefined
    return this.missValue
  }

  /** Old value of an entry for the listener: known, or read from the store below. */
  protected oldValue(e: CacheEntry, read: () => Buffer | undefined): Buffer | undefined {
    this.forgetMiss()
    if (e.storeKnown) return e.storeValue ?? undefined
    return read()
  }

  protected emit(key: TKey, newValue: Buffer | null, oldValue: Buffer | undefined, timestampMs: number): void {
    if (this.listener === undefined) return
    const nv = newValue === null ? undefined : newValue
    if (nv === undefined && oldValue === undefined) return
    this.listener({ key, newValue: nv, oldValue: this.sendOldValues ? oldValue : undefined, timestampMs })
  }
}

export class CachingKeyValueStore extends CachingLayer<Buffer> implements KeyValueBytesStore {
  private readonly inner: KeyValueBytesStore

  constructor(inner: KeyValueBytesStore) {
    super(inner.name)
    this.inner = inner
  }

  get persistent(): boolean { return this.inner.persistent }
  get isOpen(): boolean { return this.inner.isOpen && this.cache !== undefined }

  async init(context: StateStoreContext): Promise<void> {
    await this.inner.init(context)
    this.openCache(context)
  }

  get(key: Buffer): Buffer | undefined {
    const cache = this.c()
    const skey = this.skeyOf(key)
    const hit = cache.get(skey)
    if (hit !== undefined) return hit.value === null ? undefined : hit.value
    const value = this.inner.get(key)
    // Only present keys are cached on read: lookups of unknown keys cannot flood the cache.
    if (value !== undefined) cache.put(key, skey, value, false, 0, value)
    else this.rememberMiss(skey, undefined)
    return value
  }

  put(key: Buffer, value: Buffer | null): void {
    const skey = this.skeyOf(key)
    this.c().put(key, skey, value, true, this.now(), this.knownStoreValue(skey))
  }

  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined {
    const old = this.get(key)
    if (old === undefined) this.put(key, value)
    return old
  }

  putAll(entries: ReadonlyArray<KeyValue<Buffer, Buffer | null>>): void {
    for (const e of entries) this.put(e.key, e.value)
  }

  writeBatch(writes: ReadonlyArray<KeyValueWrite>): void {
    const cache = this.c()
    this.forgetMiss()
    for (const w of writes) cache.put(w.key, bytesToKey(w.key), w.value, true, w.timestampMs)
  }

  delete(key: Buffer): Buffer | undefined {
    const old = this.get(key)
    this.put(key, null)
    return old
  }

  range(from?: Buffer, to?: Buffer): KeyValueIterator<Buffer, Buffer> {
    return this.merged(from, to, true, this.inner.range(from, to))
  }

  prefixScan<P>(prefix: P, prefixSerde: Serde<P>): KeyValueIterator<Buffer, Buffer> {
    const bytes = prefixSerde.serialize(this.name, prefix)
    return this.merged(bytes, prefixEnd(bytes), false, this.inner.prefixScan(prefix, prefixSerde))
  }

  all(): KeyValueIterator<Buffer, Buffer> {
    return this.merged(undefined, undefined, false, this.inner.all())
  }

  /** The store's count plus cached keys not yet written (an estimate, as its name says). */
  approximateNumEntries(): number {
    return this.inner.approximateNumEntries() + this.c().dirtyCount
  }

  flush(): void {
    this.flushCache()
    this.inner.flush()
  }

  /** Releases the store. Cached writes not flushed before are dropped (a dirty close): flush first to keep them. */
  async close(): Promise<void> {
    if (this.cache !== undefined) {
      this.cache.clear()
      this.cache = undefined
    }
    await this.inner.close()
  }

  protected writeDown(dirty: CacheEntry[]): void {
    const old = this.sendOldValues && this.listener !== undefined ? dirty.map((e) => this.oldValue(e, () => this.inner.get(e.key))) : undefined
    // Cache entries are KeyValueWrites (key, value, timestampMs) as they are. The batch goes down in
    // key order (much faster into RocksDB; the keys are distinct, so the order changes nothing but
    // the order of the changelog records within the flush); the listener still hears dirty order.
    this.inner.writeBatch(this.c().inKeyOrder(dirty))
    if (this.listener === undefined) return
    for (let i = 0; i < dirty.length; i++) {
      const e = dirty[i] as CacheEntry
      this.emit(e.key, e.value, old?.[i], e.timestampMs)
    }
  }

  private merged(from: Buffer | undefined, to: Buffer | undefined, toInclusive: boolean, store: KeyValueIterator<Buffer, Buffer>): KeyValueIterator<Buffer, Buffer> {
    const cached = this.c().range(from === undefined ? undefined : bytesToKey(from), to === undefined ? undefined : bytesToKey(to), toInclusive)
    return new MergedCacheIterator(cached, store, (c, s) => Buffer.compare(c.key, s.key),
      (c) => (c.value === null ? undefined : { key: c.key, value: c.value }))
  }
}

/** Cache keys of window entries: the inner layout with sequence 0, so cache order = store order. */
export class CachingWindowStore extends CachingLayer<Windowed<Buffer>> implements WindowBytesStore {
  private readonly inner: WindowBytesStore
  private streamTimeMs = -1

  constructor(inner: WindowBytesStore) {
    super(inner.name)
    this.inner = inner
  }

  get persistent(): boolean { return this.inner.persistent }
  get isOpen(): boolean { return this.inner.isOpen && this.cache !== undefined }
  get windowSizeMs(): number { return this.inner.windowSizeMs }
  get retentionMs(): number { return this.inner.retentionMs }
  get retainDuplicates(): boolean { return this.inner.retainDuplicates }
  get segmentIntervalMs(): number { return this.inner.segmentIntervalMs }
  get observedStreamTimeMs(): number { return Math.max(this.streamTimeMs, this.inner.observedStreamTimeMs) }

  async init(context: StateStoreContext): Promise<void> {
    await this.inner.init(context)
    this.openCache(context)
  }

  /** Returns null: nothing reaches the changelog before the cache flushes. */
  put(key: Buffer, value: Buffer | null, windowStartMs: number): Buffer | null {
    checkTimestamp(windowStartMs, `window start of store "${this.name}"`)
    const cache = this.c()
    if (windowStartMs > this.streamTimeMs) this.streamTimeMs = windowStartMs
    if (windowStartMs < this.minLiveTimeMs()) return null
    const ck = encodeWindowKey(this.segmentId(windowStartMs), key, windowStartMs, 0)
    const skey = bytesToKey(ck)
    cache.put(ck, skey, value, true, this.now(), this.knownStoreValue(skey))
    return null
  }

  writeBatch(writes: ReadonlyArray<WindowWrite>): Array<Buffer | null> {
    const cache = this.c()
    this.forgetMiss()
    for (const w of writes) {
      checkTimestamp(w.windowStartMs, `window start of store "${this.name}"`)
      if (w.windowStartMs > this.streamTimeMs) this.streamTimeMs = w.windowStartMs
      const ck = encodeWindowKey(this.segmentId(w.windowStartMs), w.key, w.windowStartMs, 0)
      cache.put(ck, bytesToKey(ck), w.value, true, w.timestampMs)
    }
    return writes.map(() => null)
  }

  fetchWindow(key: Buffer, windowStartMs: number): Buffer | undefined {
    const cache = this.c()
    if (windowStartMs < 0 || windowStartMs < this.minLiveTimeMs()) return undefined
    const skey = bytesToKey(encodeWindowKey(this.segmentId(windowStartMs), key, windowStartMs, 0))
    const hit = cache.get(skey)
    if (hit !== undefined) return hit.value === null ? undefined : hit.value
    const value = this.inner.fetchWindow(key, windowStartMs)
    this.rememberMiss(skey, value)
    return value
  }

  fetch(key: Buffer, fromMs: number, toMs: number): KeyValueIterator<number, Buffer> {
    const cache = this.c()
    const from = Math.max(fromMs, this.minLiveTimeMs(), 0)
    if (toMs < from) return new EmptyIterator()
    const to = Math.min(toMs, Number.MAX_SAFE_INTEGER)
    const low = Buffer.alloc(WINDOW_SUFFIX_BYTES, 0)
    const high = Buffer.alloc(WINDOW_SUFFIX_BYTES, 0xff)
    low.writeUInt32BE(Math.floor(from / 0x1_0000_0000), 0)
    low.writeUInt32BE(from % 0x1_0000_0000, 4)
    high.writeUInt32BE(Math.floor(to / 0x1_0000_0000), 0)
    high.writeUInt32BE(to % 0x1_0000_0000, 4)
    const keyLength = key.length
    const segments = this.cachedSegments(this.segmentId(from), this.segmentId(to))
    const cached = new ChainedCacheRanges(segments.map((id) => {
      const [lo, hi] = segmentKeyBounds(id, key, low, high)
      return () => cache.range(bytesToKey(lo), bytesToKey(hi), true)
    }), (c) => hasRecordKey(c.key, key, WINDOW_SUFFIX_BYTES))
    return new MergedCacheIterator<number, Buffer>(cached, this.inner.fetch(key, from, to),
      (c, s) => readUInt64BE(c.key, SEGMENT_PREFIX_BYTES + keyLength) - s.key,
      (c) => (c.value === null ? undefined : { key: readUInt64BE(c.key, SEGMENT_PREFIX_BYTES + keyLength), value: c.value }))
  }

  fetchAll(fromMs: number, toMs: number): KeyValueIterator<Windowed<Buffer>, Buffer> {
    const from = Math.max(fromMs, this.minLiveTimeMs(), 0)
    if (toMs < from) return new EmptyIterator()
    const to = Math.min(toMs, Number.MAX_SAFE_INTEGER)
    return this.mergedWindowed(from, to, this.inner.fetchAll(from, to))
  }

  all(): KeyValueIterator<Windowed<Buffer>, Buffer> {
    const from = Math.max(this.minLiveTimeMs(), 0)
    return this.mergedWindowed(from, Number.MAX_SAFE_INTEGER, this.inner.all())
  }

  flush(): void {
    this.flushCache()
    this.inner.flush()
  }

  /** Releases the store. Cached writes not flushed before are dropped (a dirty close): flush first to keep them. */
  async close(): Promise<void> {
    if (this.cache !== undefined) {
      this.cache.clear()
      this.cache = undefined
    }
    await this.inner.close()
  }

  protected writeDown(dirty: CacheEntry[]): void {
    const writes = dirty.map((e) => {
      const n = e.key.length - SEGMENT_PREFIX_BYTES - WINDOW_SUFFIX_BYTES
      return {
        key: e.key.subarray(SEGMENT_PREFIX_BYTES, SEGMENT_PREFIX_BYTES + n),
        windowStartMs: readUInt64BE(e.key, SEGMENT_PREFIX_BYTES + n),
        value: e.value,
        timestampMs: e.timestampMs
      }
    })
    const old = this.sendOldValues && this.listener !== undefined
      ? writes.map((w, i) => this.oldValue(dirty[i] as CacheEntry, () => this.inner.fetchWindow(w.key, w.windowStartMs)))
      : undefined
    this.inner.writeBatch(writes)
    if (this.listener === undefined) return
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i] as WindowWrite
      this.emit({ key: w.key, window: { startMs: w.windowStartMs, endMs: w.windowStartMs + this.windowSizeMs } }, w.value, old?.[i], w.timestampMs)
    }
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

  private mergedWindowed(from: number, to: number, store: KeyValueIterator<Windowed<Buffer>, Buffer>): KeyValueIterator<Windowed<Buffer>, Buffer> {
    const cached = this.c().range(bytesToKey(segmentPrefix(this.segmentId(from))), bytesToKey(segmentPrefix(this.segmentId(to) + 1)), false)
    return new MergedCacheIterator(cached, store,
      (c, s) => Buffer.compare(c.key, encodeWindowKey(this.segmentId(s.key.window.startMs), s.key.key, s.key.window.startMs, 0)),
      (c) => {
        if (c.value === null) return undefined
        const n = c.key.length - SEGMENT_PREFIX_BYTES - WINDOW_SUFFIX_BYTES
        const startMs = readUInt64BE(c.key, SEGMENT_PREFIX_BYTES + n)
        if (startMs < from || startMs > to) return undefined
        return { key: { key: c.key.subarray(SEGMENT_PREFIX_BYTES, SEGMENT_PREFIX_BYTES + n), window: { startMs, endMs: startMs + this.windowSizeMs } }, value: c.value }
      })
  }
}

/** Cache keys of sessions: the inner layout, so cache order = store order (by end, then start). */
export class CachingSessionStore extends CachingLayer<Windowed<Buffer>> implements SessionBytesStore {
  private readonly inner: SessionBytesStore
  private streamTimeMs = -1

  constructor(inner: SessionBytesStore) {
    super(inner.name)
    this.inner = inner
  }

  get persistent(): boolean { return this.inner.persistent }
  get isOpen(): boolean { return this.inner.isOpen && this.cache !== undefined }
  get retentionMs(): number { return this.inner.retentionMs }
  get segmentIntervalMs(): number { return this.inner.segmentIntervalMs }
  get observedStreamTimeMs(): number { return Math.max(this.streamTimeMs, this.inner.observedStreamTimeMs) }

  async init(context: StateStoreContext): Promise<void> {
    await this.inner.init(context)
    this.openCache(context)
  }

  put(session: Windowed<Buffer>, value: Buffer): Buffer | null {
    this.write(session.key, session.window.startMs, session.window.endMs, value, this.now())
    return null
  }

  remove(session: Windowed<Buffer>): Buffer | null {
    this.write(session.key, session.window.startMs, session.window.endMs, null, this.now())
    return null
  }

  writeBatch(writes: ReadonlyArray<SessionWrite>): Array<Buffer | null> {
    this.forgetMiss()
    for (const w of writes) this.write(w.key, w.startMs, w.endMs, w.value, w.timestampMs)
    return writes.map(() => null)
  }

  findSessions(key: Buffer, earliestSessionEndMs: number, latestSessionStartMs: number): KeyValueIterator<Windowed<Buffer>, Buffer> {
    const cache = this.c()
    const earliestEnd = Math.max(earliestSessionEndMs, this.minLiveTimeMs(), 0)
    if (latestSessionStartMs < 0) return new EmptyIterator()
    const low = Buffer.alloc(SESSION_SUFFIX_BYTES, 0)
    low.writeUInt32BE(Math.floor(earliestEnd / 0x1_0000_0000), 0)
    low.writeUInt32BE(earliestEnd % 0x1_0000_0000, 4)
    const high = Buffer.alloc(SESSION_SUFFIX_BYTES, 0xff)
    const keyLength = key.length
    const segments = this.cachedSegments(Math.floor(earliestEnd / this.segmentIntervalMs))
    const cached = new ChainedCacheRanges(segments.map((id) => {
      const [lo, hi] = segmentKeyBounds(id, key, low, high)
      return () => cache.range(bytesToKey(lo), bytesToKey(hi), true)
    }), (c) => hasRecordKey(c.key, key, SESSION_SUFFIX_BYTES))
    const store = this.inner.findSessions(key, earliestEnd, latestSessionStartMs)
    return new MergedCacheIterator(cached, store,
      (c, s) => {
        const end = readUInt64BE(c.key, SEGMENT_PREFIX_BYTES + keyLength)
        return end !== s.key.window.endMs ? end - s.key.window.endMs : readUInt64BE(c.key, SEGMENT_PREFIX_BYTES + keyLength + 8) - s.key.window.startMs
      },
      (c) => {
        if (c.value === null) return undefined
        const startMs = readUInt64BE(c.key, SEGMENT_PREFIX_BYTES + keyLength + 8)
        if (startMs > latestSessionStartMs) return undefined
        const sessionKey = c.key.subarray(SEGMENT_PREFIX_BYTES, SEGMENT_PREFIX_BYTES + keyLength)
        return { key: { key: sessionKey, window: { startMs, endMs: readUInt64BE(c.key, SEGMENT_PREFIX_BYTES + keyLength) } }, value: c.value }
      })
  }

  fetchSession(key: Buffer, sessionStartMs: number, sessionEndMs: number): Buffer | undefined {
    const cache = this.c()
    if (sessionStartMs < 0 || sessionEndMs < sessionStartMs || sessionEndMs < this.minLiveTimeMs()) return undefined
    const skey = bytesToKey(encodeSessionKey(Math.floor(sessionEndMs / this.segmentIntervalMs), key, sessionEndMs, sessionStartMs))
    const hit = cache.get(skey)
    if (hit !== undefined) return hit.value === null ? undefined : hit.value
    const value = this.inner.fetchSession(key, sessionStartMs, sessionEndMs)
    this.rememberMiss(skey, value)
    return value
  }

  fetch(key: Buffer): KeyValueIterator<Windowed<Buffer>, Buffer> {
    return this.findSessions(key, 0, Number.MAX_SAFE_INTEGER)
  }

  flush(): void {
    this.flushCache()
    this.inner.flush()
  }

  /** Releases the store. Cached writes not flushed before are dropped (a dirty close): flush first to keep them. */
  async close(): Promise<void> {
    if (this.cache !== undefined) {
      this.cache.clear()
      this.cache = undefined
    }
    await this.inner.close()
  }

  protected writeDown(dirty: CacheEntry[]): void {
    const writes: SessionWrite[] = dirty.map((e) => {
      const n = e.key.length - SEGMENT_PREFIX_BYTES - SESSION_SUFFIX_BYTES
      return {
        key: e.key.subarray(SEGMENT_PREFIX_BYTES, SEGMENT_PREFIX_BYTES + n),
        endMs: readUInt64BE(e.key, SEGMENT_PREFIX_BYTES + n),
        startMs: readUInt64BE(e.key, SEGMENT_PREFIX_BYTES + n + 8),
        value: e.value,
        timestampMs: e.timestampMs
      }
    })
    const old = this.sendOldValues && this.listener !== undefined
      ? writes.map((w, i) => this.oldValue(dirty[i] as CacheEntry, () => this.inner.fetchSession(w.key, w.startMs, w.endMs)))
      : undefined
    this.inner.writeBatch(writes)
    if (this.listener === undefined) return
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i] as SessionWrite
      this.emit({ key: w.key, window: { startMs: w.startMs, endMs: w.endMs } }, w.value, old?.[i], w.timestampMs)
    }
  }

  private write(key: Buffer, startMs: number, endMs: number, value: Buffer | null, timestampMs: number): void {
    checkSession(this.name, startMs, endMs)
    const cache = this.c()
    if (endMs > this.streamTimeMs) this.streamTimeMs = endMs
    if (endMs < this.minLiveTimeMs()) return
    const ck = encodeSessionKey(Math.floor(endMs / this.segmentIntervalMs), key, endMs, startMs)
    const skey = bytesToKey(ck)
    cache.put(ck, skey, value, true, timestampMs, this.knownStoreValue(skey))
  }

  private minLiveTimeMs(): number {
    return this.observedStreamTimeMs - this.retentionMs + 1
  }

  /** Segment ids from `fromId` on that the cache holds entries of. */
  private cachedSegments(fromId: number): number[] {
    const cache = this.c()
    const out: number[] = []
    let id = fromId
    for (;;) {
      const first = cache.range(bytesToKey(segmentPrefix(id)), undefined, false).next()
      if (first === undefined) break
      id = readUInt64BE(first.key, 0)
      out.push(id)
      id++
    }
    return out
  }
}

/** True when a segmented cache key holds exactly `key` (not a longer key starting with it). */
function hasRecordKey(cacheKey: Buffer, key: Buffer, suffixBytes: number): boolean {
  return cacheKey.length === SEGMENT_PREFIX_BYTES + key.length + suffixBytes &&
    cacheKey.subarray(SEGMENT_PREFIX_BYTES, SEGMENT_PREFIX_BYTES + key.length).equals(key)
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


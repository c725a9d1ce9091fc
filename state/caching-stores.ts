/**
 * Caching layers: writes stay in a byte-bounded record cache until the task commits (`flush`) or the
 * cache is full (eviction). Then the dirty entries go down as one batch (one RocksDB write batch, one
 * changelog record per key) and are reported to the flush listener with their old and new values:
 * this is how cached aggregations emit once per key per commit instead of once per input record.
 * With `cacheMaxBytes` 0 every write is evicted at once: write-through, and the listener sees each.
 */
import type { KeyValueBytesStore, KeyValueWrite } from './bytes-stores.ts'
import { StateStoreError, StoreNotOpenError } from './errors.ts'
import { prefixEnd } from './key-schema.ts'
import { bytesToKey } from './keyspace.ts'
import { MergedCacheIterator, RecordCache, type CacheEntry } from './record-cache.ts'
import type { Serde } from '../schemas/index.ts'
import type { CacheFlushListener, CachedStateStore, KeyValue, KeyValueIterator, StateStore, StateStoreContext } from './types.ts'
import { WrappedStore } from './wrapped-store.ts'

/** The store below a caching layer: what the flush writes to and reads old values from. */
interface CachedInner extends StateStore {
  get(key: Buffer): Buffer | undefined
  writeBatch(writes: ReadonlyArray<KeyValueWrite>): unknown
}

/**
 * What the key-value and the segmented caching stores share: the cache and its budget, the flush
 * (write down, then tell the listener), opening and closing. Cache keys are the keys of the store
 * below, so cached and stored entries merge by byte order.
 */
export abstract class CachingLayer<TInner extends CachedInner> extends WrappedStore<TInner> implements CachedStateStore<Buffer, Buffer> {
  protected cache: RecordCache | undefined
  protected listener: CacheFlushListener<Buffer, Buffer> | undefined
  protected sendOldValues = false

  override get isOpen(): boolean {
    return this.inner.isOpen && this.cache !== undefined
  }

  override async init(context: StateStoreContext): Promise<void> {
    await this.inner.init(context)
    this.openCache(context)
  }

  override flush(): void {
    this.flushCache()
    this.inner.flush()
  }

  /** Releases the store. Cached writes not flushed before are dropped (a dirty close): flush first to keep them. */
  override async close(): Promise<void> {
    if (this.cache !== undefined) {
      this.cache.clear()
      this.cache = undefined
    }
    await this.inner.close()
  }

  setFlushListener(listener: CacheFlushListener<Buffer, Buffer>, sendOldValues: boolean): boolean {
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

  /** The order in which a flush or eviction writes dirty entries down (the listener hears dirty order). */
  protected abstract batchOrder(dirty: CacheEntry[]): CacheEntry[]

  /**
   * Writes dirty entries to the store below in one batch, then tells the listener, oldest first.
   * Cache entries are writes (key, value, timestampMs) as they are.
   */
  private writeDown(dirty: CacheEntry[]): void {
    const old = this.sendOldValues && this.listener !== undefined ? dirty.map((e) => this.oldValue(e, () => this.inner.get(e.key))) : undefined
    this.inner.writeBatch(this.batchOrder(dirty))
    if (this.listener === undefined) return
    for (let i = 0; i < dirty.length; i++) {
      const e = dirty[i] as CacheEntry
      this.emit(e.key, e.value, old?.[i], e.timestampMs)
    }
  }

  /** Cached entries merged with the store's (same keys: the cache wins; a cached null hides the entry). */
  protected merged(
    cached: { next(): CacheEntry | undefined },
    store: KeyValueIterator<Buffer, Buffer>,
    keep?: (c: CacheEntry) => boolean
  ): KeyValueIterator<Buffer, Buffer> {
    return new MergedCacheIterator(
      cached,
      store,
      (c, s) => Buffer.compare(c.key, s.key),
      (c) => (c.value === null || (keep !== undefined && !keep(c)) ? undefined : { key: c.key, value: c.value })
    )
  }

  /** Evictions write dirty entries down (and the remembered miss may be one of them). */
  private evicted(dirty: CacheEntry[]): void {
    this.forgetMiss()
    this.writeDown(dirty)
  }

  private flushCache(): void {
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
  private oldValue(e: CacheEntry, read: () => Buffer | undefined): Buffer | undefined {
    this.forgetMiss()
    if (e.storeKnown) return e.storeValue ?? undefined
    return read()
  }

  private emit(key: Buffer, newValue: Buffer | null, oldValue: Buffer | undefined, timestampMs: number): void {
    if (this.listener === undefined) return
    const nv = newValue === null ? undefined : newValue
    if (nv === undefined && oldValue === undefined) return
    this.listener({ key, newValue: nv, oldValue: this.sendOldValues ? oldValue : undefined, timestampMs })
  }
}

export class CachingKeyValueStore extends CachingLayer<KeyValueBytesStore> implements KeyValueBytesStore {
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
    return this.mergedRange(from, to, true, this.inner.range(from, to))
  }

  prefixScan<P>(prefix: P, prefixSerde: Serde<P>): KeyValueIterator<Buffer, Buffer> {
    const bytes = prefixSerde.serialize(this.name, prefix)
    return this.mergedRange(bytes, prefixEnd(bytes), false, this.inner.prefixScan(prefix, prefixSerde))
  }

  all(): KeyValueIterator<Buffer, Buffer> {
    return this.mergedRange(undefined, undefined, false, this.inner.all())
  }

  /** The store's count plus cached keys not yet written (an estimate, as its name says). */
  approximateNumEntries(): number {
    return this.inner.approximateNumEntries() + this.c().dirtyCount
  }

  /**
   * Key order: much faster into RocksDB; the keys are distinct, so the order changes nothing but the
   * order of the changelog records within the flush.
   */
  protected batchOrder(dirty: CacheEntry[]): CacheEntry[] {
    return this.c().inKeyOrder(dirty)
  }

  private mergedRange(
    from: Buffer | undefined,
    to: Buffer | undefined,
    toInclusive: boolean,
    store: KeyValueIterator<Buffer, Buffer>
  ): KeyValueIterator<Buffer, Buffer> {
    return this.merged(this.c().range(from === undefined ? undefined : bytesToKey(from), to === undefined ? undefined : bytesToKey(to), toInclusive), store)
  }
}

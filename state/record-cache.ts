/**
 * The record cache of a caching store: entries keyed by bytes, bounded in bytes, least recently
 * used first out. Dirty entries (written since the last flush) go down to the store below on flush,
 * or when evicted to stay under the budget; a hot key written many times between flushes costs one
 * write below. Eviction is least-recently-used with second chance (CLOCK): a use only sets a flag,
 * and a flagged entry reaching the old end goes back to the new end once. Entries are also kept in key order so that range reads can merge cache and store.
 */
import { StoreIterator } from './iterators.ts'
import { SortedStringMap, type SortedCursor } from './sorted-string-map.ts'
import type { KeyValue, KeyValueIterator } from './types.ts'

/** Rough fixed cost of an entry (object, list links, map slot, latin1 key string header). */
const ENTRY_OVERHEAD_BYTES = 96

/** `inKeyOrder` walks the whole cache when given at least 1/WALK_FRACTION of its entries. */
const WALK_FRACTION = 32

export interface CacheEntry {
  readonly key: Buffer
  /** The key as a latin1 string (map key; string order = byte order). */
  readonly skey: string
  /** `null`: the key was deleted (a dirty tombstone). */
  value: Buffer | null
  dirty: boolean
  /** Timestamp of the record that last wrote the entry (changelog timestamp at flush). */
  timestampMs: number
  /**
   * Whether `storeValue` is what the store below holds for this key (read from it, written to it
   * at the last flush, or known absent). Lets a flush report old values without reading the store.
   */
  storeKnown: boolean
  storeValue: Buffer | null
  size: number
  /** Used since it was last moved to the new end (second-chance LRU: moving happens at eviction). */
  referenced: boolean
  /** Set only while `inKeyOrder` collects this entry. */
  ordering: boolean
  newer: CacheEntry | null
  older: CacheEntry | null
}

/** A byte-bounded LRU cache of store entries, in key order too (see the file comment). */
export class RecordCache {
  private budgetBytes: number
  private readonly entries = new SortedStringMap<CacheEntry>()
  private readonly evict: (dirty: CacheEntry[]) => void
  /** Least and most recently used ends of the LRU list. */
  private oldest: CacheEntry | null = null
  private newest: CacheEntry | null = null
  private dirtyEntries: CacheEntry[] = []
  private bytes = 0
  /** The entry used last: a read-modify-write finds it again without a second map lookup. */
  private last: CacheEntry | null = null
  /** Counters for metrics and tests. */
  hits = 0
  misses = 0
  evictions = 0

  /** `evict` receives the dirty entries pushed out to stay under `maxBytes`, oldest first. */
  constructor(maxBytes: number, evict: (dirty: CacheEntry[]) => void) {
    this.budgetBytes = maxBytes
    this.evict = evict
  }

  /** The byte budget. */
  get maxBytes(): number {
    return this.budgetBytes
  }

  /**
   * Changes the byte budget. A budget below what is held evicts at once, as a put would: oldest
   * first, the dirty entries handed to `evict` in one call.
   */
  resize(maxBytes: number): void {
    this.budgetBytes = maxBytes
    if (this.bytes > this.budgetBytes) this.evictOverflow()
  }

  get sizeBytes(): number {
    return this.bytes
  }

  get size(): number {
    return this.entries.size
  }

  get dirtyCount(): number {
    return this.dirtyEntries.length
  }

  /** The entry of `skey` (counted as a use), or undefined. */
  get(skey: string): CacheEntry | undefined {
    const entry = this.lookup(skey)
    if (entry === undefined) {
      this.misses++
      return undefined
    }
    this.hits++
    this.touch(entry)
    return entry
  }

  /**
   * Writes an entry; `dirty` for writes, clean for values read from below. `storeValue` is what the
   * store below holds for the key when the caller knows it (undefined: unknown). May evict.
   */
  put(key: Buffer, skey: string, value: Buffer | null, dirty: boolean, timestampMs: number, storeValue?: Buffer | null): void {
    let entry = this.lookup(skey)
    const size = key.length + skey.length + (value === null ? 0 : value.length) + ENTRY_OVERHEAD_BYTES
    if (entry === undefined) {
      entry = {
        key,
        skey,
        value,
        dirty: false,
        timestampMs,
        size,
        referenced: false,
        ordering: false,
        newer: null,
        older: null,
        storeKnown: storeValue !== undefined,
        storeValue: storeValue ?? null
      }
      this.entries.set(skey, entry)
      this.link(entry)
      this.last = entry
      this.bytes += size
    } else {
      this.bytes += size - entry.size
      entry.value = value
      entry.size = size
      entry.timestampMs = timestampMs
      this.touch(entry)
    }
    if (dirty && !entry.dirty) {
      entry.dirty = true
      this.dirtyEntries.push(entry)
    }
    if (this.bytes > this.budgetBytes) this.evictOverflow()
  }

  /** The dirty entries in the order they became dirty; they are clean afterwards. */
  takeDirty(): CacheEntry[] {
    const out = this.dirtyEntries
    this.dirtyEntries = []
    let n = 0
    for (const e of out) {
      // Entries evicted since they became dirty were written then and are no longer dirty.
      if (e.dirty) {
        e.dirty = false
        out[n++] = e
      }
    }
    out.length = n
    return out
  }

  /**
   * `entries` (distinct, e.g. from `takeDirty`) sorted by key: RocksDB inserts a write batch in key
   * order several times faster than in random order (its memtable skiplist resumes each insert
   * from the previous one). When the entries are a large part of the cache, one walk over the
   * cache's sorted keys is cheaper than sorting them; otherwise they are sorted.
   */
  inKeyOrder(entries: CacheEntry[]): CacheEntry[] {
    if (entries.length < 2) return entries
    if (entries.length * WALK_FRACTION >= this.entries.size) {
      for (const e of entries) e.ordering = true
      const out: CacheEntry[] = []
      this.entries.forEachValue((e) => {
        if (e.ordering) {
          e.ordering = false
          out.push(e)
        }
      })
      // Entries no longer in the cache (evicted meanwhile) are not on the walk: sort instead.
      if (out.length === entries.length) return out
      for (const e of entries) e.ordering = false
    }
    return entries.slice().sort(compareSkeys)
  }

  /**
   * After `entries` were written below with `values`: those are now the store's values, and clean
   * tombstones are forgotten (they only shadowed the store below until then).
   */
  written(entries: CacheEntry[], values: Array<Buffer | null>): void {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as CacheEntry
      // `values` were written; the listener may have written the entry again meanwhile.
      e.storeKnown = true
      e.storeValue = values[i] ?? null
      if (e.value === null && !e.dirty && this.entries.get(e.skey) === e) this.remove(e)
    }
  }

  /** Entries with `from <= skey` and `skey <= to` (inclusive) or `< to`, in key order. */
  range(from: string | undefined, to: string | undefined, toInclusive: boolean): CacheRangeIterator {
    return new CacheRangeIterator(this.entries, this.entries.seek(from), to, toInclusive)
  }

  clear(): void {
    this.last = null
    this.entries.clear()
    this.oldest = null
    this.newest = null
    this.dirtyEntries = []
    this.bytes = 0
  }

  private evictOverflow(): void {
    const dirty: CacheEntry[] = []
    while (this.bytes > this.budgetBytes && this.oldest !== null) {
      const e = this.oldest
      if (e.referenced && !e.dirty && e !== this.newest) {
        // Used since it was queued: give it a second round instead of evicting it. Dirty entries get
        // none: they leave in the order they were linked, so an eviction never writes down (and
        // emits) an entry before an older dirty one, e.g. a merged session before the tombstone of
        // the session it replaced, which may map to the same output key.
        e.referenced = false
        this.unlink(e)
        this.link(e)
        continue
      }
      this.remove(e)
      this.evictions++
      if (e.dirty) {
        e.dirty = false
        dirty.push(e)
      }
    }
    if (dirty.length > 0) this.evict(dirty)
  }

  private lookup(skey: string): CacheEntry | undefined {
    const last = this.last
    if (last !== null && last.skey === skey) return last
    const entry = this.entries.get(skey)
    if (entry !== undefined) this.last = entry
    return entry
  }

  private remove(e: CacheEntry): void {
    if (this.last === e) this.last = null
    this.entries.delete(e.skey)
    this.unlink(e)
    this.bytes -= e.size
  }

  /** Marks a use; the entry moves to the new end only if it reaches the old end (second chance). */
  private touch(e: CacheEntry): void {
    e.referenced = true
  }

  private link(e: CacheEntry): void {
    e.older = this.newest
    e.newer = null
    if (this.newest !== null) this.newest.newer = e
    this.newest = e
    if (this.oldest === null) this.oldest = e
  }

  private unlink(e: CacheEntry): void {
    if (e.older !== null) e.older.newer = e.newer
    else if (this.oldest === e) this.oldest = e.newer
    if (e.newer !== null) e.newer.older = e.older
    else if (this.newest === e) this.newest = e.older
    e.newer = null
    e.older = null
  }
}

function compareSkeys(a: CacheEntry, b: CacheEntry): number {
  return a.skey < b.skey ? -1 : a.skey > b.skey ? 1 : 0
}

/** Walks cache entries in key order (tolerates writes made meanwhile). */
export class CacheRangeIterator {
  private readonly entries: SortedStringMap<CacheEntry>
  private readonly cursor: SortedCursor
  private readonly to: string | undefined
  private readonly toInclusive: boolean

  constructor(entries: SortedStringMap<CacheEntry>, cursor: SortedCursor, to: string | undefined, toInclusive: boolean) {
    this.entries = entries
    this.cursor = cursor
    this.to = to
    this.toInclusive = toInclusive
  }

  next(): CacheEntry | undefined {
    for (;;) {
      const skey = this.entries.nextKey(this.cursor)
      if (skey === undefined) return undefined
      if (this.to !== undefined && (this.toInclusive ? skey > this.to : skey >= this.to)) return undefined
      const entry = this.entries.get(skey)
      if (entry !== undefined) return entry
    }
  }
}

/**
 * Merges cache entries with the store below, both in the same order: the cache wins on equal keys,
 * and a cached tombstone hides the store's entry. `fromCache` returns undefined for entries to skip
 * (tombstones, or entries outside the requested window range).
 */
export class MergedCacheIterator<K, V> extends StoreIterator<K, V> {
  private readonly cache: { next(): CacheEntry | undefined }
  private readonly store: KeyValueIterator<K, V>
  private readonly compare: (c: CacheEntry, s: KeyValue<K, V>) => number
  private readonly fromCache: (c: CacheEntry) => KeyValue<K, V> | undefined
  private c: CacheEntry | undefined | null = null
  private s: KeyValue<K, V> | undefined | null = null

  constructor(
    cache: { next(): CacheEntry | undefined },
    store: KeyValueIterator<K, V>,
    compare: (c: CacheEntry, s: KeyValue<K, V>) => number,
    fromCache: (c: CacheEntry) => KeyValue<K, V> | undefined
  ) {
    super()
    this.cache = cache
    this.store = store
    this.compare = compare
    this.fromCache = fromCache
  }

  protected advance(): KeyValue<K, V> | undefined {
    for (;;) {
      if (this.c === null) this.c = this.cache.next()
      if (this.s === null) {
        const r = this.store.next()
        this.s = r.done === true ? undefined : r.value
      }
      const c = this.c
      const s = this.s
      if (c === undefined && s === undefined) return undefined
      if (c === undefined) {
        this.s = null
        return s
      }
      const cmp = s === undefined ? -1 : this.compare(c, s)
      if (cmp > 0) {
        this.s = null
        return s
      }
      this.c = null
      if (cmp === 0) this.s = null
      const fromCache = this.fromCache(c)
      if (fromCache !== undefined) return fromCache
    }
  }

  protected override release(): void {
    this.store.close()
  }
}

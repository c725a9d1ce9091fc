/**
 * Metered layers: the outermost store a processor sees. They turn typed keys and values into bytes
 * with the store's serdes (topic = the changelog topic, as in Kafka Streams, so Avro subjects are
 * `<changelog>-key/-value`), count operations, and expose the cache's flush listener typed.
 */
import { WrappedStore } from './wrapped-store.ts'
import type { KeyValueBytesStore, SegmentedBytesStore } from './bytes-stores.ts'
import { changelogTopicName, rootedContext } from './bytes-stores.ts'
import { StoreNotOpenError } from './errors.ts'
import { EmptyIterator, MappedIterator } from './iterators.ts'
import {
  checkSession,
  checkTimestamp,
  encodeSessionKey,
  encodeWindowKey,
  sessionEndOf,
  sessionKeySchema,
  sessionStartOf,
  windowKeySchema,
  windowSequenceOf,
  windowStartOf
} from './key-schema.ts'
import { bytesSerde, type Serde } from '../schemas/index.ts'
import type {
  CacheFlushListener,
  CachedStateStore,
  KeyValue,
  KeyValueIterator,
  KeyValueStore,
  RestoreCallback,
  SessionStore,
  StateStore,
  StateStoreContext,
  WindowStore,
  Windowed
} from './types.ts'

/** Operation counts of one store instance; the runtime turns them into metrics. */
export interface StoreOperationCounts {
  puts: number
  gets: number
  deletes: number
  /** range, prefixScan, all, fetch, fetchAll, findSessions. */
  scans: number
  flushes: number
}

/** A byte store that may cache: caching layers implement `setFlushListener` and `setCacheMaxBytes` on bytes. */
type MaybeCached<TKey> = {
  setFlushListener?: CachedStateStore<TKey, Buffer>['setFlushListener']
  setCacheMaxBytes?: (bytes: number) => void
}

/**
 * What every metered store does: serdes, counts, the lifecycle of the byte stack below, and the
 * typed view of the cache's flush listener. `TKey` is the typed key of entries and flush reports.
 */
abstract class MeteredBase<K, V, TKey, TInner extends StateStore & MaybeCached<Buffer>> extends WrappedStore<TInner> implements CachedStateStore<TKey, V> {
  /** Live operation counts (plain numbers, mutated in place: no allocation per operation). */
  readonly counts: StoreOperationCounts = { puts: 0, gets: 0, deletes: 0, scans: 0, flushes: 0 }
  protected readonly keySerde: Serde<K>
  protected readonly valueSerde: Serde<V>
  /** The changelog topic name, used as the serde topic. */
  protected topic: string

  constructor(inner: TInner, keySerde: Serde<K>, valueSerde: Serde<V>) {
    super(inner)
    this.keySerde = keySerde
    this.valueSerde = valueSerde
    this.topic = inner.name
  }

  override async init(context: StateStoreContext): Promise<void> {
    this.topic = changelogTopicName(context.applicationId, this.name)
    this.lastKeyBytes = undefined
    await this.keySerde.configure?.(this.topic, true)
    await this.valueSerde.configure?.(this.topic, false)
    await this.inner.init(rootedContext(context, this, this.restored()))
  }

  override flush(): void {
    this.counts.flushes++
    this.inner.flush()
  }

  /** Resizes the cache below, if there is one (a store without a cache ignores it). */
  setCacheMaxBytes(bytes: number): void {
    this.inner.setCacheMaxBytes?.(bytes)
  }

  setFlushListener(listener: CacheFlushListener<TKey, V>, sendOldValues: boolean): boolean {
    if (this.inner.setFlushListener === undefined) return false
    return this.inner.setFlushListener(
      (c) =>
        listener({
          key: this.typedKey(c.key),
          newValue: this.dv(c.newValue),
          oldValue: this.dv(c.oldValue),
          timestampMs: c.timestampMs
        }),
      sendOldValues
    )
  }

  /** The typed key of a key of the byte store below. */
  protected abstract typedKey(key: Buffer): TKey

  /** What to learn from restored changelog records, if anything (after the inner store applied them). */
  protected restored(): RestoreCallback | undefined {
    return undefined
  }

  protected typedEntries(it: KeyValueIterator<Buffer, Buffer>): KeyValueIterator<TKey, V> {
    return new MappedIterator(it, (e) => ({ key: this.typedKey(e.key), value: this.valueSerde.deserialize(this.topic, e.value) }))
  }

  /**
   * The last primitive key serialized and its bytes: a read-modify-write (get, then put of the same
   * key) serializes once. Objects are never reused (they could have been mutated in between).
   */
  private lastKey: unknown
  private lastKeyBytes: Buffer | undefined

  protected k(key: K): Buffer {
    if (key === this.lastKey && this.lastKeyBytes !== undefined) return this.lastKeyBytes
    const bytes = this.keySerde.serialize(this.topic, key)
    if (typeof key === 'string' || typeof key === 'number') {
      this.lastKey = key
      this.lastKeyBytes = bytes
    }
    return bytes
  }

  protected v(value: V): Buffer {
    return this.valueSerde.serialize(this.topic, value)
  }

  protected dk(data: Buffer): K {
    return this.keySerde.deserialize(this.topic, data)
  }

  protected dv(data: Buffer | undefined): V | undefined {
    return data === undefined ? undefined : this.valueSerde.deserialize(this.topic, data)
  }
}

export class MeteredKeyValueStore<K, V> extends MeteredBase<K, V, K, KeyValueBytesStore & MaybeCached<Buffer>> implements KeyValueStore<K, V> {
  get(key: K): V | undefined {
    this.counts.gets++
    return this.dv(this.inner.get(this.k(key)))
  }

  put(key: K, value: V | null): void {
    this.counts.puts++
    this.inner.put(this.k(key), value === null ? null : this.v(value))
  }

  putIfAbsent(key: K, value: V): V | undefined {
    this.counts.puts++
    return this.dv(this.inner.putIfAbsent(this.k(key), this.v(value)))
  }

  putAll(entries: ReadonlyArray<KeyValue<K, V | null>>): void {
    this.counts.puts += entries.length
    this.inner.putAll(entries.map((e) => ({ key: this.k(e.key), value: e.value === null ? null : this.v(e.value) })))
  }

  delete(key: K): V | undefined {
    this.counts.deletes++
    return this.dv(this.inner.delete(this.k(key)))
  }

  range(from?: K, to?: K): KeyValueIterator<K, V> {
    this.counts.scans++
    return this.typedEntries(this.inner.range(from === undefined ? undefined : this.k(from), to === undefined ? undefined : this.k(to)))
  }

  prefixScan<P>(prefix: P, prefixSerde: Serde<P>): KeyValueIterator<K, V> {
    this.counts.scans++
    return this.typedEntries(this.inner.prefixScan(prefixSerde.serialize(this.topic, prefix), bytesSerde))
  }

  all(): KeyValueIterator<K, V> {
    this.counts.scans++
    return this.typedEntries(this.inner.all())
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries()
  }

  protected typedKey(key: Buffer): K {
    return this.dk(key)
  }
}

/**
 * What the metered window and session stores share: the segmented byte stack below them. Each
 * encodes store keys with its key layout and decodes them back into windows (`typedKey`).
 */
abstract class MeteredSegmentedStore<K, V> extends MeteredBase<K, V, Windowed<K>, SegmentedBytesStore & MaybeCached<Buffer>> {
  readonly retentionMs: number
  /** Fixed per store: kept here so that encoding a key does not ask the layers below. */
  protected readonly segmentIntervalMs: number

  constructor(inner: SegmentedBytesStore & MaybeCached<Buffer>, keySerde: Serde<K>, valueSerde: Serde<V>) {
    super(inner, keySerde, valueSerde)
    this.retentionMs = inner.retentionMs
    this.segmentIntervalMs = inner.segmentIntervalMs
  }

  protected segmentId(timestampMs: number): number {
    return Math.floor(timestampMs / this.segmentIntervalMs)
  }

  /** Reads that ask nothing of the store below (an empty range) still fail on a closed store. */
  protected checkOpen(): void {
    if (!this.inner.isOpen) throw new StoreNotOpenError(this.name)
  }
}

/** Options of a metered window store that only the window facade needs (`Stores` validates them). */
export interface MeteredWindowOptions {
  windowSizeMs: number
  retainDuplicates: boolean
}

/** The typed window store: window keys (layout above `encodeWindowKey`) over the segmented stack. */
export class MeteredWindowStore<K, V> extends MeteredSegmentedStore<K, V> implements WindowStore<K, V> {
  readonly windowSizeMs: number
  private readonly retainDuplicates: boolean
  /** Next sequence number of a retained duplicate: puts of one key and window stay apart, in put order. */
  private seq = 0

  constructor(inner: SegmentedBytesStore & MaybeCached<Buffer>, keySerde: Serde<K>, valueSerde: Serde<V>, options: MeteredWindowOptions) {
    super(inner, keySerde, valueSerde)
    this.windowSizeMs = options.windowSizeMs
    this.retainDuplicates = options.retainDuplicates
  }

  put(key: K, value: V | null, windowStartMs: number): void {
    this.counts.puts++
    checkTimestamp(windowStartMs, `window start of store "${this.name}"`)
    let seq = 0
    if (this.retainDuplicates) {
      // Every put is a new entry; a null (delete) then means nothing (as in Kafka Streams).
      if (value === null) return this.checkOpen()
      // A window already past retention is dropped below: it takes no number.
      if (windowStartMs >= this.inner.observedStreamTimeMs - this.retentionMs + 1) seq = this.nextSeq()
    }
    const storeKey = encodeWindowKey(this.segmentId(windowStartMs), this.k(key), windowStartMs, seq)
    this.inner.put(storeKey, value === null ? null : this.v(value))
  }

  fetchWindow(key: K, windowStartMs: number): V | undefined {
    this.counts.gets++
    const k = this.k(key)
    if (windowStartMs < 0) {
      this.checkOpen()
      return undefined
    }
    if (!this.retainDuplicates) return this.dv(this.inner.get(encodeWindowKey(this.segmentId(windowStartMs), k, windowStartMs, 0)))
    const it = this.inner.fetch(k, windowStartMs, windowStartMs)
    const first = it.next()
    it.close()
    return first.done === true ? undefined : this.dv(first.value.value)
  }

  fetch(key: K, fromMs: number, toMs: number): KeyValueIterator<number, V> {
    this.counts.scans++
    return new MappedIterator(this.inner.fetch(this.k(key), fromMs, toMs), (e) => ({
      key: windowStartOf(e.key),
      value: this.valueSerde.deserialize(this.topic, e.value)
    }))
  }

  fetchAll(fromMs: number, toMs: number): KeyValueIterator<Windowed<K>, V> {
    this.counts.scans++
    return this.typedEntries(this.inner.fetchAll(fromMs, toMs))
  }

  all(): KeyValueIterator<Windowed<K>, V> {
    this.counts.scans++
    return this.typedEntries(this.inner.all())
  }

  protected typedKey(storeKey: Buffer): Windowed<K> {
    const startMs = windowStartOf(storeKey)
    return { key: this.dk(windowKeySchema.recordKey(storeKey)), window: { startMs, endMs: startMs + this.windowSizeMs } }
  }

  /** After a restore, numbering continues above the largest sequence number restored. */
  protected override restored(): RestoreCallback | undefined {
    if (!this.retainDuplicates) return undefined
    return (records) => {
      for (const r of records) {
        const seq = windowSequenceOf(r.key)
        if (seq >= this.seq) this.seq = seq + 1
      }
    }
  }

  private nextSeq(): number {
    const s = this.seq
    this.seq = (this.seq + 1) >>> 0
    return s
  }
}

/** The typed session store: session keys (layout above `encodeSessionKey`) over the segmented stack. */
export class MeteredSessionStore<K, V> extends MeteredSegmentedStore<K, V> implements SessionStore<K, V> {
  put(session: Windowed<K>, value: V): void {
    this.counts.puts++
    this.write(session, this.v(value))
  }

  remove(session: Windowed<K>): void {
    this.counts.deletes++
    this.write(session, null)
  }

  findSessions(key: K, earliestSessionEndMs: number, latestSessionStartMs: number): KeyValueIterator<Windowed<K>, V> {
    this.counts.scans++
    return this.sessions(this.k(key), earliestSessionEndMs, latestSessionStartMs)
  }

  fetchSession(key: K, sessionStartMs: number, sessionEndMs: number): V | undefined {
    this.counts.gets++
    const k = this.k(key)
    if (sessionStartMs < 0 || sessionEndMs < sessionStartMs) {
      this.checkOpen()
      return undefined
    }
    return this.dv(this.inner.get(encodeSessionKey(this.segmentId(sessionEndMs), k, sessionEndMs, sessionStartMs)))
  }

  fetch(key: K): KeyValueIterator<Windowed<K>, V> {
    this.counts.scans++
    return this.sessions(this.k(key), 0, Number.MAX_SAFE_INTEGER)
  }

  protected typedKey(storeKey: Buffer): Windowed<K> {
    return { key: this.dk(sessionKeySchema.recordKey(storeKey)), window: { startMs: sessionStartOf(storeKey), endMs: sessionEndOf(storeKey) } }
  }

  private write(session: Windowed<K>, value: Buffer | null): void {
    const { startMs, endMs } = session.window
    checkSession(this.name, startMs, endMs)
    this.inner.put(encodeSessionKey(this.segmentId(endMs), this.k(session.key), endMs, startMs), value)
  }

  /**
   * Sessions with end >= earliestEnd (the segment timestamp) and start <= latestStart, by end then
   * start. A session ends at or after it starts, and no session ends after the observed stream time.
   */
  private sessions(key: Buffer, earliestEndMs: number, latestStartMs: number): KeyValueIterator<Windowed<K>, V> {
    if (latestStartMs < 0) {
      this.checkOpen()
      return new EmptyIterator()
    }
    return new MappedIterator(this.inner.fetch(key, earliestEndMs, Number.MAX_SAFE_INTEGER), (e) =>
      sessionStartOf(e.key) > latestStartMs ? undefined : { key: this.typedKey(e.key), value: this.valueSerde.deserialize(this.topic, e.value) }
    )
  }
}

/**
 * Metered layers: the outermost store a processor sees. They turn typed keys and values into bytes
 * with the store's serdes (topic = the changelog topic, as in Kafka Streams, so Avro subjects are
 * `<changelog>-key/-value`), count operations, and expose the cache's flush listener typed.
 */
import type { KeyValueBytesStore, SessionBytesStore, WindowBytesStore } from './bytes-stores.ts'
import { changelogTopicName, rootedContext } from './bytes-stores.ts'
import { MappedIterator } from './iterators.ts'
import { bytesSerde, type Serde } from '../schemas/index.ts'
import type {
  CacheFlushListener, CachedStateStore, KeyValue, KeyValueIterator, KeyValueStore, SessionStore,
  StateStoreContext, WindowStore, Windowed
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

abstract class MeteredBase<K, V> {
  readonly name: string
  /** Live operation counts (plain numbers, mutated in place: no allocation per operation). */
  readonly counts: StoreOperationCounts = { puts: 0, gets: 0, deletes: 0, scans: 0, flushes: 0 }
  protected readonly keySerde: Serde<K>
  protected readonly valueSerde: Serde<V>
  /** The changelog topic name, used as the serde topic. */
  protected topic: string

  constructor(name: string, keySerde: Serde<K>, valueSerde: Serde<V>) {
    this.name = name
    this.keySerde = keySerde
    this.valueSerde = valueSerde
    this.topic = name
  }

  protected async configureSerdes(context: StateStoreContext): Promise<void> {
    this.topic = changelogTopicName(context.applicationId, this.name)
    this.lastKeyBytes = undefined
    await this.keySerde.configure?.(this.topic, true)
    await this.valueSerde.configure?.(this.topic, false)
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

export class MeteredKeyValueStore<K, V> extends MeteredBase<K, V> implements KeyValueStore<K, V>, CachedStateStore<K, V> {
  private readonly inner: KeyValueBytesStore & MaybeCached<Buffer>

  constructor(inner: KeyValueBytesStore & MaybeCached<Buffer>, keySerde: Serde<K>, valueSerde: Serde<V>) {
    super(inner.name, keySerde, valueSerde)
    this.inner = inner
  }

  get persistent(): boolean { return this.inner.persistent }
  get isOpen(): boolean { return this.inner.isOpen }

  async init(context: StateStoreContext): Promise<void> {
    await this.configureSerdes(context)
    await this.inner.init(rootedContext(context, this))
  }

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
    return this.typed(this.inner.range(from === undefined ? undefined : this.k(from), to === undefined ? undefined : this.k(to)))
  }

  prefixScan<P>(prefix: P, prefixSerde: Serde<P>): KeyValueIterator<K, V> {
    this.counts.scans++
    return this.typed(this.inner.prefixScan(prefixSerde.serialize(this.topic, prefix), bytesSerde))
  }

  all(): KeyValueIterator<K, V> {
    this.counts.scans++
    return this.typed(this.inner.all())
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries()
  }

  flush(): void {
    this.counts.flushes++
    this.inner.flush()
  }

  async close(): Promise<void> {
    await this.inner.close()
  }

  /** Resizes the cache below, if there is one (a store without a cache ignores it). */
  setCacheMaxBytes(bytes: number): void {
    this.inner.setCacheMaxBytes?.(bytes)
  }

  setFlushListener(listener: CacheFlushListener<K, V>, sendOldValues: boolean): boolean {
    if (this.inner.setFlushListener === undefined) return false
    return this.inner.setFlushListener((c) => listener({
      key: this.dk(c.key), newValue: this.dv(c.newValue), oldValue: this.dv(c.oldValue), timestampMs: c.timestampMs
    }), sendOldValues)
  }

  private typed(it: KeyValueIterator<Buffer, Buffer>): KeyValueIterator<K, V> {
    return new MappedIterator(it, (e) => ({ key: this.dk(e.key), value: this.valueSerde.deserialize(this.topic, e.value) }))
  }
}

export class MeteredWindowStore<K, V> extends MeteredBase<K, V> implements WindowStore<K, V>, CachedStateStore<Windowed<K>, V> {
  private readonly inner: WindowBytesStore & MaybeCached<Windowed<Buffer>>

  constructor(inner: WindowBytesStore & MaybeCached<Windowed<Buffer>>, keySerde: Serde<K>, valueSerde: Serde<V>) {
    super(inner.name, keySerde, valueSerde)
    this.inner = inner
  }

  get persistent(): boolean { return this.inner.persistent }
  get isOpen(): boolean { return this.inner.isOpen }
  get windowSizeMs(): number { return this.inner.windowSizeMs }
  get retentionMs(): number { return this.inner.retentionMs }

  async init(context: StateStoreContext): Promise<void> {
    await this.configureSerdes(context)
    await this.inner.init(rootedContext(context, this))
  }

  put(key: K, value: V | null, windowStartMs: number): void {
    this.counts.puts++
    this.inner.put(this.k(key), value === null ? null : this.v(value), windowStartMs)
  }

  fetchWindow(key: K, windowStartMs: number): V | undefined {
    this.counts.gets++
    return this.dv(this.inner.fetchWindow(this.k(key), windowStartMs))
  }

  fetch(key: K, fromMs: number, toMs: number): KeyValueIterator<number, V> {
    this.counts.scans++
    return new MappedIterator(this.inner.fetch(this.k(key), fromMs, toMs),
      (e) => ({ key: e.key, value: this.valueSerde.deserialize(this.topic, e.value) }))
  }

  fetchAll(fromMs: number, toMs: number): KeyValueIterator<Windowed<K>, V> {
    this.counts.scans++
    return this.typedWindowed(this.inner.fetchAll(fromMs, toMs))
  }

  all(): KeyValueIterator<Windowed<K>, V> {
    this.counts.scans++
    return this.typedWindowed(this.inner.all())
  }

  flush(): void {
    this.counts.flushes++
    this.inner.flush()
  }

  async close(): Promise<void> {
    await this.inner.close()
  }

  /** Resizes the cache below, if there is one (a store without a cache ignores it). */
  setCacheMaxBytes(bytes: number): void {
    this.inner.setCacheMaxBytes?.(bytes)
  }

  setFlushListener(listener: CacheFlushListener<Windowed<K>, V>, sendOldValues: boolean): boolean {
    if (this.inner.setFlushListener === undefined) return false
    return this.inner.setFlushListener((c) => listener({
      key: { key: this.dk(c.key.key), window: c.key.window },
      newValue: this.dv(c.newValue), oldValue: this.dv(c.oldValue), timestampMs: c.timestampMs
    }), sendOldValues)
  }

  private typedWindowed(it: KeyValueIterator<Windowed<Buffer>, Buffer>): KeyValueIterator<Windowed<K>, V> {
    return new MappedIterator(it, (e) => ({
      key: { key: this.dk(e.key.key), window: e.key.window }, value: this.valueSerde.deserialize(this.topic, e.value)
    }))
  }
}

export class MeteredSessionStore<K, V> extends MeteredBase<K, V> implements SessionStore<K, V>, CachedStateStore<Windowed<K>, V> {
  private readonly inner: SessionBytesStore & MaybeCached<Windowed<Buffer>>

  constructor(inner: SessionBytesStore & MaybeCached<Windowed<Buffer>>, keySerde: Serde<K>, valueSerde: Serde<V>) {
    super(inner.name, keySerde, valueSerde)
    this.inner = inner
  }

  get persistent(): boolean { return this.inner.persistent }
  get isOpen(): boolean { return this.inner.isOpen }
  get retentionMs(): number { return this.inner.retentionMs }

  async init(context: StateStoreContext): Promise<void> {
    await this.configureSerdes(context)
    await this.inner.init(rootedContext(context, this))
  }

  put(session: Windowed<K>, value: V): void {
    this.counts.puts++
    this.inner.put({ key: this.k(session.key), window: session.window }, this.v(value))
  }

  remove(session: Windowed<K>): void {
    this.counts.deletes++
    this.inner.remove({ key: this.k(session.key), window: session.window })
  }

  findSessions(key: K, earliestSessionEndMs: number, latestSessionStartMs: number): KeyValueIterator<Windowed<K>, V> {
    this.counts.scans++
    return this.typedWindowed(this.inner.findSessions(this.k(key), earliestSessionEndMs, latestSessionStartMs))
  }

  fetchSession(key: K, sessionStartMs: number, sessionEndMs: number): V | undefined {
    this.counts.gets++
    return this.dv(this.inner.fetchSession(this.k(key), sessionStartMs, sessionEndMs))
  }

  fetch(key: K): KeyValueIterator<Windowed<K>, V> {
    this.counts.scans++
    return this.typedWindowed(this.inner.fetch(this.k(key)))
  }

  flush(): void {
    this.counts.flushes++
    this.inner.flush()
  }

  async close(): Promise<void> {
    await this.inner.close()
  }

  /** Resizes the cache below, if there is one (a store without a cache ignores it). */
  setCacheMaxBytes(bytes: number): void {
    this.inner.setCacheMaxBytes?.(bytes)
  }

  setFlushListener(listener: CacheFlushListener<Windowed<K>, V>, sendOldValues: boolean): boolean {
    if (this.inner.setFlushListener === undefined) return false
    return this.inner.setFlushListener((c) => listener({
      key: { key: this.dk(c.key.key), window: c.key.window },
      newValue: this.dv(c.newValue), oldValue: this.dv(c.oldValue), timestampMs: c.timestampMs
    }), sendOldValues)
  }

  private typedWindowed(it: KeyValueIterator<Windowed<Buffer>, Buffer>): KeyValueIterator<Windowed<K>, V> {
    return new MappedIterator(it, (e) => ({
      key: { key: this.dk(e.key.key), window: e.key.window }, value: this.valueSerde.deserialize(this.topic, e.value)
    }))
  }
}

/**
 * The contracts of Runnel's state stores, shared by the topology (processors see the typed stores),
 * the test driver (in-memory stores) and the runtime (RocksDB stores, changelogs, restore).
 *
 * Every operation a processor calls is synchronous, as in Kafka Streams: the per-record path never
 * awaits. Stores are stacked as decorators over one interface, outermost first:
 *   metered (typed <-> bytes, metrics) -> caching -> change-logging -> inner (RocksDB | in-memory).
 * Inner stores work on bytes, so ranges follow the lexicographic order of the serialized keys.
 */
import type { Serde } from '../schemas/index.ts'

/** One entry of a store. */
export interface KeyValue<K, V> {
  key: K
  value: V
}

/** A time window `[startMs, endMs)`; for sessions, `[startMs, endMs]` with both ends inclusive. */
export interface TimeWindow {
  startMs: number
  endMs: number
}

/** A key together with the window it belongs to (windowed and session stores). */
export interface Windowed<K> {
  key: K
  window: TimeWindow
}

/**
 * An iterator over store entries in key order. Close it when not consumed to the end (it may pin
 * a RocksDB snapshot); `using` works too.
 */
export interface KeyValueIterator<K, V> extends IterableIterator<KeyValue<K, V>>, Disposable {
  close(): void
}

/** The subset of a pino logger the state stores use. */
export interface StateLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

/** What the runtime or the test driver gives a store when a task opens it. */
export interface StateStoreContext {
  readonly applicationId: string
  /** `<sub-topology>_<partition>`, e.g. `0_3`. */
  readonly taskId: string
  readonly partition: number
  /** This task's folder: `STATE_DIR/<app id>/<task id>`. Persistent stores live below it. */
  readonly taskStateDir: string
  /** Byte budget of the record cache for this store (0 disables caching). */
  readonly cacheMaxBytes: number
  /** Timestamp (ms) of the record being processed: the timestamp of changelog records. */
  currentTimestampMs(): number
  /** Writes one changelog record to `<app id>-<store>-changelog`, partition = the task's partition. */
  logChange(storeName: string, key: Buffer, value: Buffer | null, timestampMs: number): void
  /** Registers a store so the runtime can restore it from its changelog before processing. */
  register(store: StateStore, restore: RestoreCallback): void
  /** Where stores report what fails off the per-record path (e.g. a RocksDB range deletion); default: not logged. */
  readonly logger?: StateLogger
}

/** Applies a batch of changelog records (in offset order) to an inner store during restore. */
export type RestoreCallback = (records: ReadonlyArray<{ key: Buffer; value: Buffer | null }>) => void

/** What every store is. */
export interface StateStore {
  readonly name: string
  /** True for stores that keep their data on disk between runs (RocksDB). */
  readonly persistent: boolean
  readonly isOpen: boolean
  /** Opens the store for a task and registers it for restore. */
  init(context: StateStoreContext): Promise<void>
  /** Writes everything buffered through to the next layer (cache -> changelog -> inner store). */
  flush(): void
  /** Releases the store. A caching layer drops what was not flushed: flush first to keep it. */
  close(): Promise<void>
  /** Changes the record cache budget (bytes); stores without a cache ignore it. */
  setCacheMaxBytes?(bytes: number): void
}

/** Called when a caching store evicts or flushes a dirty entry: how cached aggregates emit. */
export type CacheFlushListener<K, V> = (change: { key: K; newValue: V | undefined; oldValue: V | undefined; timestampMs: number }) => void

/** A store that can hold back writes until flush and report them then. */
export interface CachedStateStore<K, V> {
  /** Returns false when the store has no cache (the caller then forwards on every write). */
  setFlushListener(listener: CacheFlushListener<K, V>, sendOldValues: boolean): boolean
}

export interface ReadOnlyKeyValueStore<K, V> {
  get(key: K): V | undefined
  /** Entries with `from <= key <= to` (serialized order); an omitted bound is open. */
  range(from?: K, to?: K): KeyValueIterator<K, V>
  /** Entries whose serialized key starts with the serialized `prefix`. */
  prefixScan<P>(prefix: P, prefixSerde: Serde<P>): KeyValueIterator<K, V>
  all(): KeyValueIterator<K, V>
  approximateNumEntries(): number
}

export interface KeyValueStore<K, V> extends StateStore, ReadOnlyKeyValueStore<K, V> {
  /** `null` deletes. */
  put(key: K, value: V | null): void
  /** Puts when absent; returns the value that was there, if any. */
  putIfAbsent(key: K, value: V): V | undefined
  putAll(entries: ReadonlyArray<KeyValue<K, V | null>>): void
  /** Deletes and returns the old value. */
  delete(key: K): V | undefined
}

export interface ReadOnlyWindowStore<K, V> {
  /** The value of `key` in the window starting at `windowStartMs`. */
  fetchWindow(key: K, windowStartMs: number): V | undefined
  /** Windows of `key` whose start is in `[fromMs, toMs]`, by window start; the entry key is the start. */
  fetch(key: K, fromMs: number, toMs: number): KeyValueIterator<number, V>
  /** Windows of every key whose start is in `[fromMs, toMs]`. */
  fetchAll(fromMs: number, toMs: number): KeyValueIterator<Windowed<K>, V>
  all(): KeyValueIterator<Windowed<K>, V>
}

export interface WindowStore<K, V> extends StateStore, ReadOnlyWindowStore<K, V> {
  readonly windowSizeMs: number
  /** Data whose window start is older than (observed stream time - retentionMs) is dropped. */
  readonly retentionMs: number
  /** `null` deletes. Puts into windows already past retention are ignored. */
  put(key: K, value: V | null, windowStartMs: number): void
}

export interface ReadOnlySessionStore<K, V> {
  /** Sessions of `key` with `end >= earliestSessionEndMs` and `start <= latestSessionStartMs`. */
  findSessions(key: K, earliestSessionEndMs: number, latestSessionStartMs: number): KeyValueIterator<Windowed<K>, V>
  fetchSession(key: K, sessionStartMs: number, sessionEndMs: number): V | undefined
  /** Every session of `key`. */
  fetch(key: K): KeyValueIterator<Windowed<K>, V>
}

export interface SessionStore<K, V> extends StateStore, ReadOnlySessionStore<K, V> {
  readonly retentionMs: number
  put(session: Windowed<K>, value: V): void
  remove(session: Windowed<K>): void
}

/** Changelog settings of a logged store; `topicConfig` is added to the changelog topic's configs. */
export interface LoggingConfig {
  topicConfig: Record<string, string>
}

/**
 * Describes a store so a topology can name it and every task can build its own instance.
 * The DSL and the Processor API hold builders; tasks call `build()`.
 */
export interface StoreBuilder<S extends StateStore> {
  readonly name: string
  readonly loggingEnabled: boolean
  readonly loggingConfig: LoggingConfig
  readonly cachingEnabled: boolean
  /** Window and session stores: how long the changelog must keep data (adds to `retention.ms`). */
  readonly retentionMs?: number
  withCachingEnabled(): this
  withCachingDisabled(): this
  withLoggingEnabled(config?: Partial<LoggingConfig>): this
  withLoggingDisabled(): this
  /** A new store instance; `inMemory` swaps a persistent inner store for an in-memory one (test driver). */
  build(options?: { inMemory?: boolean }): S
}

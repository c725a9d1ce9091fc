/**
 * A window store that keeps, next to each window's value, the largest timestamp of the records that
 * made it (Kafka Streams' `TimestampedWindowStore` / `ValueAndTimestamp`). Sliding-window
 * aggregation needs it: a window's max record timestamp tells where the previous record of the key is
 * and whether a right window has content. Reads through the `WindowStore<K, V>` interface return the
 * plain values (as Kafka Streams' facade for interactive queries does), so queries and the test
 * driver see the aggregate type; the aggregation uses the `...Timestamped` methods.
 */
import { SerdeError, type Serde } from '../schemas/index.ts'
import type {
  CacheFlushListener,
  CachedStateStore,
  KeyValue,
  KeyValueIterator,
  LoggingConfig,
  StateStore,
  StoreBuilder,
  WindowStore,
  Windowed
} from '../state/index.ts'
import { WrappedStore } from '../state/index.ts'

/** A value with the largest timestamp (ms) of the records that produced it. */
export interface ValueAndTimestamp<V> {
  readonly value: V
  readonly timestampMs: number
}

/**
 * Serde of `ValueAndTimestamp<V>` (store values and changelog values).
 * Layout: timestamp (int64 BE, ms), then the inner serde's bytes of the value.
 */
export function valueAndTimestampSerde<V>(inner: Serde<V>): Serde<ValueAndTimestamp<V>> {
  const serde: Serde<ValueAndTimestamp<V>> = {
    serialize(topic, vt) {
      const body = inner.serialize(topic, vt.value)
      const out = Buffer.allocUnsafe(8 + body.length)
      out.writeBigInt64BE(BigInt(vt.timestampMs), 0)
      body.copy(out, 8)
      return out
    },
    deserialize(topic, data) {
      if (data.length < 8) throw new SerdeError('SERDE_VALUE_AND_TIMESTAMP', `timestamped value shorter than 8 bytes on topic ${topic}`)
      return { timestampMs: Number(data.readBigInt64BE(0)), value: inner.deserialize(topic, data.subarray(8)) }
    }
  }
  // Registry-backed serdes prepare per topic: pass their preparation through.
  if (inner.configure) serde.configure = (topic, isKey) => (inner.configure as NonNullable<Serde<V>['configure']>)(topic, isKey)
  if (inner.resolve) serde.resolve = (topic, data) => (inner.resolve as NonNullable<Serde<V>['resolve']>)(topic, data.subarray(8))
  return serde
}

/** Maps the entries of a store iterator (closing it with the outer one). */
class MappedStoreIterator<KIn, VIn, KOut, VOut> implements KeyValueIterator<KOut, VOut> {
  private readonly inner: KeyValueIterator<KIn, VIn>
  private readonly map: (entry: KeyValue<KIn, VIn>) => KeyValue<KOut, VOut>

  constructor(inner: KeyValueIterator<KIn, VIn>, map: (entry: KeyValue<KIn, VIn>) => KeyValue<KOut, VOut>) {
    this.inner = inner
    this.map = map
  }

  next(): IteratorResult<KeyValue<KOut, VOut>, undefined> {
    const r = this.inner.next()
    if (r.done === true) return { done: true, value: undefined }
    return { done: false, value: this.map(r.value) }
  }

  return(): IteratorResult<KeyValue<KOut, VOut>, undefined> {
    this.inner.close()
    return { done: true, value: undefined }
  }

  close(): void {
    this.inner.close()
  }

  [Symbol.iterator](): this {
    return this
  }

  [Symbol.dispose](): void {
    this.inner.close()
  }
}

type InnerWindowStore<K, V> = WindowStore<K, ValueAndTimestamp<V>> & Partial<CachedStateStore<Windowed<K>, ValueAndTimestamp<V>>>

/** The store a timestamped window store builder builds; see the file comment. */
export class TimestampedWindowStore<K, V> extends WrappedStore<InnerWindowStore<K, V>> implements WindowStore<K, V>, CachedStateStore<Windowed<K>, V> {
  get windowSizeMs(): number {
    return this.inner.windowSizeMs
  }
  get retentionMs(): number {
    return this.inner.retentionMs
  }
  /** Operation counts of the metered store below (for metrics), when it has them. */
  get counts(): unknown {
    return (this.inner as { counts?: unknown }).counts
  }

  /** Passes the instance's per-store cache budget to the caching layer below (if any). */
  setCacheMaxBytes(bytes: number): void {
    this.inner.setCacheMaxBytes?.(bytes)
  }

  /** Puts `value` with the timestamp of the record being processed. */
  put(key: K, value: V | null, windowStartMs: number): void {
    this.inner.put(key, value === null ? null : { value, timestampMs: this.context?.currentTimestampMs() ?? -1 }, windowStartMs)
  }

  putTimestamped(key: K, value: ValueAndTimestamp<V> | null, windowStartMs: number): void {
    this.inner.put(key, value, windowStartMs)
  }

  fetchWindow(key: K, windowStartMs: number): V | undefined {
    return this.inner.fetchWindow(key, windowStartMs)?.value
  }

  fetchWindowTimestamped(key: K, windowStartMs: number): ValueAndTimestamp<V> | undefined {
    return this.inner.fetchWindow(key, windowStartMs)
  }

  fetch(key: K, fromMs: number, toMs: number): KeyValueIterator<number, V> {
    return new MappedStoreIterator(this.inner.fetch(key, fromMs, toMs), (e) => ({ key: e.key, value: e.value.value }))
  }

  /** Windows of `key` starting in `[fromMs, toMs]`, by start, with their max record timestamps. */
  fetchTimestamped(key: K, fromMs: number, toMs: number): KeyValueIterator<number, ValueAndTimestamp<V>> {
    return this.inner.fetch(key, fromMs, toMs)
  }

  fetchAll(fromMs: number, toMs: number): KeyValueIterator<Windowed<K>, V> {
    return new MappedStoreIterator(this.inner.fetchAll(fromMs, toMs), (e) => ({ key: e.key, value: e.value.value }))
  }

  all(): KeyValueIterator<Windowed<K>, V> {
    return new MappedStoreIterator(this.inner.all(), (e) => ({ key: e.key, value: e.value.value }))
  }

  /**
   * Cached updates are reported with the window's max record timestamp, as Kafka Streams'
   * TimestampedCacheFlushListener does (deletes keep the timestamp of the write).
   */
  setFlushListener(listener: CacheFlushListener<Windowed<K>, V>, sendOldValues: boolean): boolean {
    if (typeof this.inner.setFlushListener !== 'function') return false
    return this.inner.setFlushListener(
      (change) =>
        listener({
          key: change.key,
          newValue: change.newValue?.value,
          oldValue: change.oldValue?.value,
          timestampMs: change.newValue?.timestampMs ?? change.timestampMs
        }),
      sendOldValues
    )
  }
}

/** Wraps a window store builder of `ValueAndTimestamp<V>` values so that tasks get `TimestampedWindowStore`s. */
export class TimestampedWindowStoreBuilder<K, V> implements StoreBuilder<TimestampedWindowStore<K, V>> {
  private readonly inner: StoreBuilder<WindowStore<K, ValueAndTimestamp<V>>> & { readonly retentionMs: number }

  constructor(inner: StoreBuilder<WindowStore<K, ValueAndTimestamp<V>>> & { readonly retentionMs: number }) {
    this.inner = inner
  }

  get name(): string {
    return this.inner.name
  }
  get loggingEnabled(): boolean {
    return this.inner.loggingEnabled
  }
  get loggingConfig(): LoggingConfig {
    return this.inner.loggingConfig
  }
  get cachingEnabled(): boolean {
    return this.inner.cachingEnabled
  }
  get retentionMs(): number {
    return this.inner.retentionMs
  }

  withCachingEnabled(): this {
    this.inner.withCachingEnabled()
    return this
  }

  withCachingDisabled(): this {
    this.inner.withCachingDisabled()
    return this
  }

  withLoggingEnabled(config?: Partial<LoggingConfig>): this {
    this.inner.withLoggingEnabled(config)
    return this
  }

  withLoggingDisabled(): this {
    this.inner.withLoggingDisabled()
    return this
  }

  build(options?: { inMemory?: boolean }): TimestampedWindowStore<K, V> {
    return new TimestampedWindowStore<K, V>(this.inner.build(options) as InnerWindowStore<K, V>)
  }
}

/** True for stores built by `TimestampedWindowStoreBuilder`. */
export function isTimestampedWindowStore(store: StateStore): store is TimestampedWindowStore<unknown, unknown> {
  return store instanceof TimestampedWindowStore
}

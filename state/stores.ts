/**
 * `Stores`: the factory a topology uses to describe its state stores, as in Kafka Streams.
 * A supplier says what inner store a task gets (RocksDB or in-memory key-value, window, session);
 * a builder adds serdes, caching and change-logging and builds one stack per task:
 *   metered (typed) -> caching (optional) -> change-logging (optional) -> inner.
 * Window and session stores share one segmented stack; only their key schemas and their typed
 * (metered) facades differ.
 */
import type { KeyValueBytesStore, SegmentedBytesStore } from './bytes-stores.ts'
import { CachingSegmentedStore } from './caching-segmented-store.ts'
import { CachingKeyValueStore } from './caching-stores.ts'
import { ChangeLoggingKeyValueStore, ChangeLoggingSegmentedStore } from './change-logging-stores.ts'
import { StateStoreError } from './errors.ts'
import { sessionKeySchema, windowKeySchema, type SegmentedKeySchema } from './key-schema.ts'
import { KeyspaceKeyValueStore } from './key-value-bytes-store.ts'
import { memoryKeyspaceSupplier, type KeyspaceSupplier } from './keyspace.ts'
import { MeteredKeyValueStore, MeteredSessionStore, MeteredWindowStore } from './metered-stores.ts'
import { rocksKeyspaceSupplier } from './rocksdb-keyspace.ts'
import { KeyspaceSegmentedStore } from './segmented-bytes-store.ts'
import type { Serde } from '../schemas/index.ts'
import type { LoggingConfig, StateStore, StoreBuilder } from './types.ts'

/** Where an inner store keeps its data. */
export const StoreKind = { persistent: 'persistent', inMemory: 'in-memory' } as const
export type StoreKind = (typeof StoreKind)[keyof typeof StoreKind]

/** Supplies the inner key-value store of each task. */
export interface KeyValueBytesStoreSupplier {
  readonly name: string
  readonly kind: StoreKind
  /** A new inner store; `inMemory` forces an in-memory one (the test driver). */
  get(inMemory: boolean): KeyValueBytesStore
}

/** Supplies the inner (segmented) store of each task of a window or session store. */
interface SegmentedBytesStoreSupplier {
  readonly name: string
  readonly kind: StoreKind
  readonly retentionMs: number
  readonly segmentIntervalMs: number
  get(inMemory: boolean): SegmentedBytesStore
}

/** Supplies the inner window store of each task. */
export interface WindowBytesStoreSupplier extends SegmentedBytesStoreSupplier {
  readonly windowSizeMs: number
  readonly retainDuplicates: boolean
}

/** Supplies the inner session store of each task. */
export type SessionBytesStoreSupplier = SegmentedBytesStoreSupplier

/** Window store options; `segmentIntervalMs` defaults to max(retention / 2, 60 s) as in Kafka Streams. */
export interface WindowStoreSupplierOptions {
  retentionMs: number
  windowSizeMs: number
  retainDuplicates?: boolean
  segmentIntervalMs?: number
}

/** Session store options; `segmentIntervalMs` defaults to max(retention / 2, 60 s). */
export interface SessionStoreSupplierOptions {
  retentionMs: number
  segmentIntervalMs?: number
}

const STORE_NAME = /^[A-Za-z0-9._-]{1,200}$/

function checkName(name: string): void {
  if (typeof name !== 'string' || !STORE_NAME.test(name)) {
    throw new StateStoreError(
      'STATE_BAD_STORE_NAME',
      `store name must be 1-200 characters of [A-Za-z0-9._-] (it names the changelog topic), got ${JSON.stringify(name)}`
    )
  }
}

function checkPositiveMs(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new StateStoreError('STATE_BAD_OPTION', `${option} must be a positive integer of milliseconds, got ${String(value)}`)
  }
  return value
}

function keyspaceFor(kind: StoreKind, inMemory: boolean): KeyspaceSupplier {
  return inMemory || kind === StoreKind.inMemory ? memoryKeyspaceSupplier : rocksKeyspaceSupplier
}

function keyValueSupplier(name: string, kind: StoreKind): KeyValueBytesStoreSupplier {
  checkName(name)
  return { name, kind, get: (inMemory) => new KeyspaceKeyValueStore(name, keyspaceFor(kind, inMemory)) }
}

function windowSupplier(name: string, kind: StoreKind, options: WindowStoreSupplierOptions): WindowBytesStoreSupplier {
  checkName(name)
  if (typeof options !== 'object' || options === null)
    throw new StateStoreError('STATE_BAD_OPTION', `window store "${name}" needs options { retentionMs, windowSizeMs }`)
  const retentionMs = checkPositiveMs(options.retentionMs, `retentionMs of window store "${name}"`)
  const windowSizeMs = checkPositiveMs(options.windowSizeMs, `windowSizeMs of window store "${name}"`)
  if (retentionMs < windowSizeMs) {
    throw new StateStoreError('STATE_BAD_OPTION', `retentionMs (${retentionMs}) of window store "${name}" must be at least its windowSizeMs (${windowSizeMs})`)
  }
  const retainDuplicates = options.retainDuplicates ?? false
  if (typeof retainDuplicates !== 'boolean') throw new StateStoreError('STATE_BAD_OPTION', `retainDuplicates of window store "${name}" must be a boolean`)
  const segmentIntervalMs =
    options.segmentIntervalMs === undefined
      ? Math.max(Math.floor(retentionMs / 2), 60_000)
      : checkPositiveMs(options.segmentIntervalMs, `segmentIntervalMs of window store "${name}"`)
  return { ...segmentedSupplier(name, kind, windowKeySchema, { retentionMs, segmentIntervalMs }), windowSizeMs, retainDuplicates }
}

function sessionSupplier(name: string, kind: StoreKind, options: SessionStoreSupplierOptions): SessionBytesStoreSupplier {
  checkName(name)
  if (typeof options !== 'object' || options === null) throw new StateStoreError('STATE_BAD_OPTION', `session store "${name}" needs options { retentionMs }`)
  const retentionMs = checkPositiveMs(options.retentionMs, `retentionMs of session store "${name}"`)
  const segmentIntervalMs =
    options.segmentIntervalMs === undefined
      ? Math.max(Math.floor(retentionMs / 2), 60_000)
      : checkPositiveMs(options.segmentIntervalMs, `segmentIntervalMs of session store "${name}"`)
  return segmentedSupplier(name, kind, sessionKeySchema, { retentionMs, segmentIntervalMs })
}

function segmentedSupplier(
  name: string,
  kind: StoreKind,
  schema: SegmentedKeySchema,
  options: { retentionMs: number; segmentIntervalMs: number }
): SegmentedBytesStoreSupplier {
  return { name, kind, ...options, get: (inMemory) => new KeyspaceSegmentedStore(name, keyspaceFor(kind, inMemory), schema, options) }
}

function checkSerdes(name: string, keySerde: Serde<unknown>, valueSerde: Serde<unknown>): void {
  for (const [serde, what] of [
    [keySerde, 'keySerde'],
    [valueSerde, 'valueSerde']
  ] as const) {
    if (typeof serde?.serialize !== 'function' || typeof serde.deserialize !== 'function') {
      throw new StateStoreError('STATE_BAD_OPTION', `${what} of store "${name}" must be a Serde (serialize and deserialize functions)`)
    }
  }
}

/**
 * What the three builders share: the supplier, the serdes, and the logging/caching switches.
 * Logging is on and caching off by default.
 */
abstract class BaseStoreBuilder<K, V, TSupplier extends { readonly name: string }, S extends StateStore> implements StoreBuilder<S> {
  readonly name: string
  readonly supplier: TSupplier
  loggingEnabled = true
  loggingConfig: LoggingConfig = { topicConfig: {} }
  cachingEnabled = false
  protected readonly keySerde: Serde<K>
  protected readonly valueSerde: Serde<V>

  constructor(supplier: TSupplier, keySerde: Serde<K>, valueSerde: Serde<V>) {
    checkSerdes(supplier.name, keySerde as Serde<unknown>, valueSerde as Serde<unknown>)
    this.name = supplier.name
    this.supplier = supplier
    this.keySerde = keySerde
    this.valueSerde = valueSerde
  }

  withCachingEnabled(): this {
    this.cachingEnabled = true
    return this
  }

  withCachingDisabled(): this {
    this.cachingEnabled = false
    return this
  }

  withLoggingEnabled(config?: Partial<LoggingConfig>): this {
    this.loggingEnabled = true
    this.loggingConfig = { topicConfig: { ...(config?.topicConfig ?? {}) } }
    return this
  }

  withLoggingDisabled(): this {
    this.loggingEnabled = false
    return this
  }

  abstract build(options?: { inMemory?: boolean }): S
}

/** Builds typed key-value stores (see `Stores.keyValueStoreBuilder`). */
export class KeyValueStoreBuilder<K, V> extends BaseStoreBuilder<K, V, KeyValueBytesStoreSupplier, MeteredKeyValueStore<K, V>> {
  build(options?: { inMemory?: boolean }): MeteredKeyValueStore<K, V> {
    let store: KeyValueBytesStore = this.supplier.get(options?.inMemory === true)
    if (this.loggingEnabled) store = new ChangeLoggingKeyValueStore(store)
    if (this.cachingEnabled) store = new CachingKeyValueStore(store)
    return new MeteredKeyValueStore(store, this.keySerde, this.valueSerde)
  }
}

/** Builds the one segmented stack of window and session stores; subclasses add the typed facade. */
abstract class SegmentedStoreBuilder<K, V, TSupplier extends SegmentedBytesStoreSupplier, S extends StateStore> extends BaseStoreBuilder<K, V, TSupplier, S> {
  get retentionMs(): number {
    return this.supplier.retentionMs
  }

  build(options?: { inMemory?: boolean }): S {
    let store: SegmentedBytesStore = this.supplier.get(options?.inMemory === true)
    if (this.loggingEnabled) store = new ChangeLoggingSegmentedStore(store)
    if (this.cachingEnabled && this.cacheable()) store = new CachingSegmentedStore(store)
    return this.facade(store)
  }

  /** False where a cache cannot serve the store. */
  protected cacheable(): boolean {
    return true
  }

  /** The typed, metered store over the segmented stack. */
  protected abstract facade(store: SegmentedBytesStore): S
}

/** Builds typed window stores (see `Stores.windowStoreBuilder`). */
export class WindowStoreBuilder<K, V> extends SegmentedStoreBuilder<K, V, WindowBytesStoreSupplier, MeteredWindowStore<K, V>> {
  /**
   * A cache keeps one value per key and window: with duplicates retained it cannot (Kafka Streams
   * disables it there too), so caching is skipped for such stores.
   */
  protected override cacheable(): boolean {
    return !this.supplier.retainDuplicates
  }

  protected facade(store: SegmentedBytesStore): MeteredWindowStore<K, V> {
    const { windowSizeMs, retainDuplicates } = this.supplier
    return new MeteredWindowStore(store, this.keySerde, this.valueSerde, { windowSizeMs, retainDuplicates })
  }
}

/** Builds typed session stores (see `Stores.sessionStoreBuilder`). */
export class SessionStoreBuilder<K, V> extends SegmentedStoreBuilder<K, V, SessionBytesStoreSupplier, MeteredSessionStore<K, V>> {
  protected facade(store: SegmentedBytesStore): MeteredSessionStore<K, V> {
    return new MeteredSessionStore(store, this.keySerde, this.valueSerde)
  }
}

/** Factory of store suppliers and builders (Kafka Streams `Stores`). */
export const Stores = {
  /** A RocksDB key-value store in the task's database. */
  persistentKeyValueStore: (name: string): KeyValueBytesStoreSupplier => keyValueSupplier(name, StoreKind.persistent),
  /** An in-memory key-value store (restored from its changelog in full on every start). */
  inMemoryKeyValueStore: (name: string): KeyValueBytesStoreSupplier => keyValueSupplier(name, StoreKind.inMemory),
  /** A RocksDB window store. */
  persistentWindowStore: (name: string, options: WindowStoreSupplierOptions): WindowBytesStoreSupplier => windowSupplier(name, StoreKind.persistent, options),
  /** An in-memory window store. */
  inMemoryWindowStore: (name: string, options: WindowStoreSupplierOptions): WindowBytesStoreSupplier => windowSupplier(name, StoreKind.inMemory, options),
  /** A RocksDB session store. */
  persistentSessionStore: (name: string, options: SessionStoreSupplierOptions): SessionBytesStoreSupplier =>
    sessionSupplier(name, StoreKind.persistent, options),
  /** An in-memory session store. */
  inMemorySessionStore: (name: string, options: SessionStoreSupplierOptions): SessionBytesStoreSupplier => sessionSupplier(name, StoreKind.inMemory, options),
  keyValueStoreBuilder: <K, V>(supplier: KeyValueBytesStoreSupplier, keySerde: Serde<K>, valueSerde: Serde<V>): KeyValueStoreBuilder<K, V> =>
    new KeyValueStoreBuilder(supplier, keySerde, valueSerde),
  windowStoreBuilder: <K, V>(supplier: WindowBytesStoreSupplier, keySerde: Serde<K>, valueSerde: Serde<V>): WindowStoreBuilder<K, V> =>
    new WindowStoreBuilder(supplier, keySerde, valueSerde),
  sessionStoreBuilder: <K, V>(supplier: SessionBytesStoreSupplier, keySerde: Serde<K>, valueSerde: Serde<V>): SessionStoreBuilder<K, V> =>
    new SessionStoreBuilder(supplier, keySerde, valueSerde)
} as const

export type {
  KeyValue, TimeWindow, Windowed, KeyValueIterator, StateStoreContext, RestoreCallback, StateStore,
  CacheFlushListener, CachedStateStore, ReadOnlyKeyValueStore, KeyValueStore, ReadOnlyWindowStore,
  WindowStore, ReadOnlySessionStore, SessionStore, LoggingConfig, StoreBuilder
} from './types.ts'
export {
  Stores, StoreKind, KeyValueStoreBuilder, WindowStoreBuilder, SessionStoreBuilder,
  type KeyValueBytesStoreSupplier, type WindowBytesStoreSupplier, type SessionBytesStoreSupplier,
  type WindowStoreSupplierOptions, type SessionStoreSupplierOptions
} from './stores.ts'
export { MeteredKeyValueStore, MeteredWindowStore, MeteredSessionStore, type StoreOperationCounts } from './metered-stores.ts'
export { changelogTopicName } from './bytes-stores.ts'
export { StateStoreError, StoreNotOpenError } from './errors.ts'

export type {
  KeyValue, TimeWindow, Windowed, KeyValueIterator, StateStoreContext, RestoreCallback, StateStore,
  CacheFlushListener, CachedStateStore, ReadOnlyKeyValueStore, KeyValueStore, ReadOnlyWindowStore,
  WindowStore, ReadOnlySessionStore, SessionStore, LoggingConfig, StoreBuilder
} from './types.ts'

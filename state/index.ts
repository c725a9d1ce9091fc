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
export { readOnlyKeyValueStore, readOnlyWindowStore, readOnlySessionStore } from './read-only.ts'
export {
  openTaskState, STATE_FORMAT_VERSION, MARKER_FILE,
  type OpenTaskStateOptions, type TaskState, type TaskStateMarker, type StateLogger
} from './task-state.ts'
export {
  readCheckpoint, writeCheckpoint, deleteCheckpoint, CheckpointCorruptError, CHECKPOINT_FILE, type ChangelogOffset
} from './checkpoint.ts'
export {
  restoreChangelog, createRestoreConsumer, changelogOffsets,
  type RestoreChangelogOptions, type RestoreProgress, type RestoreResult
} from './changelog-reader.ts'
export { createChangelogCollector, sendChangelogRecords, type ChangelogCollector } from './changelog-writer.ts'

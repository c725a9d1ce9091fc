/**
 * State stores (Kafka Streams semantics): key-value, window and session stores, RocksDB or
 * in-memory, stacked metered -> caching -> change-logging -> inner, all operations synchronous.
 *
 * What the runtime does with a task, in order:
 *  1. `openTaskState({ taskStateDir, applicationId, taskId, persistentStoreNames, exactlyOnce, logger })`:
 *     checks the marker, wipes a foreign/corrupt/untrusted folder (warning), opens the task's RocksDB
 *     database and returns the checkpoint.
 *  2. `builder.build()` and `store.init(context)` for every store; the context's `logChange` is the
 *     changelog sink (e.g. `createChangelogCollector(appId, partition).logChange`, drained into the
 *     producer at commit) and `register(store, restore)` hands over each store's RestoreCallback.
 *  3. For each logged store: `restoreChangelog({ consumer, topic: changelogTopicName(appId, store),
 *     partition, fromOffset, restore })` with `fromOffset` from the checkpoint for persistent stores,
 *     0 for in-memory ones.
 *  4. Per commit: `store.flush()` on every store (cache -> changelog records + one RocksDB batch),
 *     produce and commit, then `writeCheckpoint(taskStateDir, offsets)` for persistent logged stores.
 *  5. On close: flush, commit, checkpoint, `store.close()`, then `taskState.close()`.
 */
export type {
  KeyValue,
  TimeWindow,
  Windowed,
  KeyValueIterator,
  StateStoreContext,
  RestoreCallback,
  StateStore,
  CacheFlushListener,
  CachedStateStore,
  ReadOnlyKeyValueStore,
  KeyValueStore,
  ReadOnlyWindowStore,
  WindowStore,
  ReadOnlySessionStore,
  SessionStore,
  LoggingConfig,
  StoreBuilder
} from './types.ts'
export {
  Stores,
  StoreKind,
  KeyValueStoreBuilder,
  WindowStoreBuilder,
  SessionStoreBuilder,
  type KeyValueBytesStoreSupplier,
  type WindowBytesStoreSupplier,
  type SessionBytesStoreSupplier,
  type WindowStoreSupplierOptions,
  type SessionStoreSupplierOptions
} from './stores.ts'
export { MeteredKeyValueStore, MeteredWindowStore, MeteredSessionStore, type StoreOperationCounts } from './metered-stores.ts'
export { WrappedStore } from './wrapped-store.ts'
export { changelogTopicName } from './bytes-stores.ts'
export { CheckpointAheadError, StateStoreError, StoreNotOpenError, StateErrorCodes, type StateErrorCode } from './errors.ts'
export { readOnlyKeyValueStore, readOnlyWindowStore, readOnlySessionStore } from './read-only.ts'
export {
  openTaskState,
  STATE_FORMAT_VERSION,
  MARKER_FILE,
  type OpenTaskStateOptions,
  type TaskState,
  type TaskStateMarker,
  type StateLogger
} from './task-state.ts'
export { readCheckpoint, writeCheckpoint, deleteCheckpoint, CheckpointCorruptError, CHECKPOINT_FILE, type ChangelogOffset } from './checkpoint.ts'
export {
  restoreChangelog,
  createRestoreConsumer,
  changelogOffsets,
  type RestoreChangelogOptions,
  type RestoreProgress,
  type RestoreResult
} from './changelog-reader.ts'
export { createChangelogCollector, sendChangelogRecords, type ChangelogCollector } from './changelog-writer.ts'

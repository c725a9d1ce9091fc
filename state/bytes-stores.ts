/**
 * Byte-level store interfaces shared by the layers below the metered (typed) store:
 * caching -> change-logging -> inner. They add what the layers need from each other: batched writes
 * that carry each record's timestamp (the cache's flush), and for window and session stores, keys
 * in the store layout, so that every layer can work from the key schema alone.
 */
import type { SegmentedKeySchema } from './key-schema.ts'
import type { KeyValueIterator, KeyValueStore, StateStoreContext, StateStore, RestoreCallback } from './types.ts'

/** A key-value write handed down by the cache at flush; `value: null` deletes. */
export interface KeyValueWrite {
  key: Buffer
  value: Buffer | null
  timestampMs: number
}

export interface KeyValueBytesStore extends KeyValueStore<Buffer, Buffer> {
  /** Writes a batch in one inner write; the logging layer logs each record with its timestamp. */
  writeBatch(writes: ReadonlyArray<KeyValueWrite>): void
}

/**
 * A write to a window or session store handed down by the cache at flush: a key-value write whose
 * `key` is a store key (segment id, record key, schema suffix; see `SegmentedKeySchema`).
 */
export type SegmentedWrite = KeyValueWrite

/**
 * The byte-level window or session store below the metered facades. One interface (and one class
 * per layer) serves both: the key schema says where the segment timestamp and the record key are.
 * Reads yield store keys; the facades decode them into windows and sessions.
 */
export interface SegmentedBytesStore extends StateStore {
  readonly schema: SegmentedKeySchema
  /** Data whose segment timestamp is older than (observed stream time - retentionMs) is dropped. */
  readonly retentionMs: number
  readonly segmentIntervalMs: number
  /** Largest segment timestamp written so far (-1 before the first): retention counts back from it. */
  readonly observedStreamTimeMs: number
  /** Writes (`null` deletes) unless the key's segment timestamp is already past retention; returns whether it did. */
  put(storeKey: Buffer, value: Buffer | null): boolean
  /** Writes a batch; returns for each write whether it was taken (false where dropped as expired). */
  writeBatch(writes: ReadonlyArray<SegmentedWrite>): boolean[]
  /** The value of a store key, undefined when absent or past retention. */
  get(storeKey: Buffer): Buffer | undefined
  /** Entries of record key `key` whose segment timestamp is in `[fromMs, toMs]`, by segment timestamp. */
  fetch(key: Buffer, fromMs: number, toMs: number): KeyValueIterator<Buffer, Buffer>
  /** Entries of every record key whose segment timestamp is in `[fromMs, toMs]`, segment by segment. */
  fetchAll(fromMs: number, toMs: number): KeyValueIterator<Buffer, Buffer>
  /** Every entry still within retention, in store key order. */
  all(): KeyValueIterator<Buffer, Buffer>
}

/**
 * The context inner layers get: the same as the task's, except that `register` names the outermost
 * store (the one the runtime holds and flushes), whichever layer registers the restore callback.
 * `restored`, when given, sees each restored batch after the inner store applied it.
 */
export function rootedContext(context: StateStoreContext, root: StateStore, restored?: RestoreCallback): StateStoreContext {
  return {
    get applicationId() {
      return context.applicationId
    },
    get taskId() {
      return context.taskId
    },
    get partition() {
      return context.partition
    },
    get taskStateDir() {
      return context.taskStateDir
    },
    get cacheMaxBytes() {
      return context.cacheMaxBytes
    },
    currentTimestampMs: () => context.currentTimestampMs(),
    logChange: (storeName, key, value, timestampMs) => context.logChange(storeName, key, value, timestampMs),
    register: (_store: StateStore, restore: RestoreCallback) =>
      context.register(
        root,
        restored === undefined
          ? restore
          : (records) => {
              restore(records)
              restored(records)
            }
      )
  }
}

/** `<application id>-<store name>-changelog`: the compacted topic a logged store writes to. */
export function changelogTopicName(applicationId: string, storeName: string): string {
  return `${applicationId}-${storeName}-changelog`
}

/**
 * Byte-level store interfaces shared by the layers below the metered (typed) store:
 * caching -> change-logging -> inner. They extend the public contracts with what the layers need
 * from each other: batched writes that carry each record's timestamp (the cache's flush), and the
 * changelog key of each window/session write (which only the inner store knows, e.g. its sequence).
 */
import type { KeyValueStore, SessionStore, StateStoreContext, StateStore, RestoreCallback, WindowStore, Windowed } from './types.ts'

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

/** A window write handed down by the cache at flush. */
export interface WindowWrite {
  key: Buffer
  windowStartMs: number
  value: Buffer | null
  timestampMs: number
}

export interface WindowBytesStore extends WindowStore<Buffer, Buffer> {
  readonly retainDuplicates: boolean
  readonly segmentIntervalMs: number
  /** Largest window start written so far (-1 before the first): retention counts back from it. */
  readonly observedStreamTimeMs: number
  /** Returns the changelog key written, or null when the window was already past retention. */
  put(key: Buffer, value: Buffer | null, windowStartMs: number): Buffer | null
  /** Returns the changelog key of each write (null where dropped as expired). */
  writeBatch(writes: ReadonlyArray<WindowWrite>): Array<Buffer | null>
}

/** A session write handed down by the cache at flush; `value: null` removes the session. */
export interface SessionWrite {
  key: Buffer
  startMs: number
  endMs: number
  value: Buffer | null
  timestampMs: number
}

export interface SessionBytesStore extends SessionStore<Buffer, Buffer> {
  readonly segmentIntervalMs: number
  /** Largest session end written so far (-1 before the first). */
  readonly observedStreamTimeMs: number
  /** Returns the changelog key written, or null when the session was already past retention. */
  put(session: Windowed<Buffer>, value: Buffer): Buffer | null
  remove(session: Windowed<Buffer>): Buffer | null
  writeBatch(writes: ReadonlyArray<SessionWrite>): Array<Buffer | null>
}

/**
 * The context inner layers get: the same as the task's, except that `register` names the outermost
 * store (the one the runtime holds and flushes), whichever layer registers the restore callback.
 */
export function rootedContext(context: StateStoreContext, root: StateStore): StateStoreContext {
  return {
    get applicationId() { return context.applicationId },
    get taskId() { return context.taskId },
    get partition() { return context.partition },
    get taskStateDir() { return context.taskStateDir },
    get cacheMaxBytes() { return context.cacheMaxBytes },
    currentTimestampMs: () => context.currentTimestampMs(),
    logChange: (storeName, key, value, timestampMs) => context.logChange(storeName, key, value, timestampMs),
    register: (_store: StateStore, restore: RestoreCallback) => context.register(root, restore)
  }
}

/** `<application id>-<store name>-changelog`: the compacted topic a logged store writes to. */
export function changelogTopicName(applicationId: string, storeName: string): string {
  return `${applicationId}-${storeName}-changelog`
}

/**
 * Opening a task's state folder (`STATE_DIR/<app id>/<task id>`) before its stores init: the runtime
 * calls `openTaskState` and gets the checkpoint to restore from. The folder carries a marker file
 * naming the application, task, persistent stores and format version. A folder that is foreign
 * (other application, task, store set or format), corrupt (unreadable marker or RocksDB), or whose
 * local state cannot be trusted (data without a checkpoint) is wiped with a warning and the task
 * restores from the beginning of its changelogs: local state is never used silently.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { CheckpointCorruptError, CHECKPOINT_FILE, deleteCheckpoint, readCheckpoint, writeFileAtomic, type ChangelogOffset } from './checkpoint.ts'
import { StateStoreError } from './errors.ts'
import { acquireTaskDatabase, isTaskDatabaseOpen, taskDatabaseDir, type TaskDatabase } from './rocksdb-keyspace.ts'
import type { StateLogger } from './types.ts'

/** Bumped whenever the on-disk layout (key layouts, registry, marker) changes incompatibly. */
export const STATE_FORMAT_VERSION = 1
export const MARKER_FILE = '.runnel-state.json'

/** Contents of the marker file. */
export interface TaskStateMarker {
  formatVersion: number
  applicationId: string
  taskId: string
  /** Names of the task's persistent stores, sorted. */
  stores: string[]
}

/** The subset of a pino logger used here (declared with the store contracts). */
export type { StateLogger } from './types.ts'

export interface OpenTaskStateOptions {
  taskStateDir: string
  applicationId: string
  taskId: string
  /** Names of the task's persistent (RocksDB) stores. In-memory stores keep nothing on disk. */
  persistentStoreNames: ReadonlyArray<string>
  /**
   * Exactly-once: delete the checkpoint once read, as Kafka Streams does, so that a crash before the
   * next commit (local state possibly ahead of the committed changelog) forces a full restore.
   */
  exactlyOnce?: boolean
  logger?: StateLogger
}

/** An opened task folder. Keep it open while the task runs; `close` after the stores closed. */
export interface TaskState {
  readonly taskStateDir: string
  /**
   * Where to resume each changelog of a persistent store. Changelogs not listed (and every
   * changelog of an in-memory store) restore from the beginning.
   */
  readonly checkpoint: ReadonlyArray<ChangelogOffset>
  /** Why the folder was wiped, when it was. */
  readonly wipedReason: string | undefined
  close(): Promise<void>
}

function isLockError(err: unknown): boolean {
  const text = `${(err as Error)?.message ?? ''} ${(err as { cause?: Error })?.cause?.message ?? ''}`
  return /\block\b/i.test(text)
}

function readMarker(taskStateDir: string): { marker?: TaskStateMarker; problem?: string } {
  let text: string
  try {
    text = readFileSync(join(taskStateDir, MARKER_FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    return { problem: `marker file unreadable: ${(err as Error).message}` }
  }
  try {
    const m = JSON.parse(text) as Partial<TaskStateMarker>
    if (
      typeof m.formatVersion !== 'number' ||
      typeof m.applicationId !== 'string' ||
      typeof m.taskId !== 'string' ||
      !Array.isArray(m.stores) ||
      !m.stores.every((s) => typeof s === 'string')
    ) {
      return { problem: 'marker file malformed' }
    }
    return { marker: m as TaskStateMarker }
  } catch {
    return { problem: 'marker file is not JSON' }
  }
}

/** Why an existing folder cannot be used as is, or undefined when it can. */
function distrust(taskStateDir: string, expected: TaskStateMarker): string | undefined {
  const entries = readdirSync(taskStateDir)
  if (entries.length === 0) return undefined
  const { marker, problem } = readMarker(taskStateDir)
  if (problem !== undefined) return problem
  if (marker === undefined) return `folder has content (${entries.slice(0, 3).join(', ')}) but no ${MARKER_FILE}`
  if (marker.formatVersion !== expected.formatVersion) return `format version ${marker.formatVersion}, expected ${expected.formatVersion}`
  if (marker.applicationId !== expected.applicationId) return `belongs to application "${marker.applicationId}", not "${expected.applicationId}"`
  if (marker.taskId !== expected.taskId) return `belongs to task ${marker.taskId}, not ${expected.taskId}`
  if (marker.stores.join('\n') !== expected.stores.join('\n')) {
    return `holds stores [${marker.stores.join(', ')}], expected [${expected.stores.join(', ')}]`
  }
  const hasData = entries.includes('rocksdb')
  if (hasData && !entries.includes(CHECKPOINT_FILE) && expected.stores.length > 0) {
    return 'local state has no checkpoint (unclean shutdown): it may not match the changelog'
  }
  return undefined
}

function wipe(taskStateDir: string): void {
  for (const entry of readdirSync(taskStateDir)) rmSync(join(taskStateDir, entry), { recursive: true, force: true })
}

/**
 * Opens a task's state folder: validates or wipes it, opens its RocksDB database (when the task has
 * persistent stores; the stores then share this open database), writes the marker and returns the
 * checkpoint. Throws when the database is locked by another process (never wipes a live folder).
 */
export async function openTaskState(options: OpenTaskStateOptions): Promise<TaskState> {
  const { taskStateDir, applicationId, taskId, logger } = options
  if (typeof taskStateDir !== 'string' || taskStateDir === '') throw new StateStoreError('STATE_BAD_OPTION', 'taskStateDir must be a non-empty path')
  if (typeof applicationId !== 'string' || applicationId === '') throw new StateStoreError('STATE_BAD_OPTION', 'applicationId must be a non-empty string')
  if (typeof taskId !== 'string' || taskId === '') throw new StateStoreError('STATE_BAD_OPTION', 'taskId must be a non-empty string')
  if (!Array.isArray(options.persistentStoreNames)) throw new StateStoreError('STATE_BAD_OPTION', 'persistentStoreNames must be an array of store names')
  const dbDir = taskDatabaseDir(taskStateDir)
  if (isTaskDatabaseOpen(dbDir)) {
    throw new StateStoreError('STATE_TASK_OPEN', `task state ${taskStateDir} is already open in this process`)
  }
  const expected: TaskStateMarker = {
    formatVersion: STATE_FORMAT_VERSION,
    applicationId,
    taskId,
    stores: [...options.persistentStoreNames].sort()
  }
  mkdirSync(taskStateDir, { recursive: true })

  let wipedReason = distrust(taskStateDir, expected)
  let checkpoint: ChangelogOffset[] = []
  if (wipedReason === undefined) {
    try {
      checkpoint = readCheckpoint(taskStateDir) ?? []
    } catch (err) {
      if (!(err instanceof CheckpointCorruptError)) throw err
      wipedReason = err.message
    }
  }
  if (wipedReason !== undefined) {
    logger?.warn(
      { taskStateDir, applicationId, taskId, reason: wipedReason },
      'task state folder not trusted: wiping it, the task restores from its changelogs'
    )
    wipe(taskStateDir)
    checkpoint = []
  }

  let database: TaskDatabase | undefined
  if (expected.stores.length > 0) {
    try {
      database = await acquireTaskDatabase(dbDir)
    } catch (err) {
      if (isLockError(err)) {
        throw new StateStoreError('STATE_TASK_LOCKED', `task state ${taskStateDir} is locked by another process`, { cause: err })
      }
      wipedReason = `RocksDB cannot open it: ${((err as { cause?: Error }).cause ?? (err as Error)).message}`
      logger?.warn({ taskStateDir, applicationId, taskId, reason: wipedReason }, 'task state folder corrupt: wiping it, the task restores from its changelogs')
      wipe(taskStateDir)
      checkpoint = []
      database = await acquireTaskDatabase(dbDir)
    }
  }
  writeFileAtomic(join(taskStateDir, MARKER_FILE), JSON.stringify(expected))
  if (options.exactlyOnce === true) deleteCheckpoint(taskStateDir)
  logger?.info({ taskStateDir, taskId, checkpoint, wiped: wipedReason !== undefined }, 'task state opened')

  let closed = false
  return {
    taskStateDir,
    checkpoint,
    wipedReason,
    close: async () => {
      if (closed) return
      closed = true
      await database?.release()
    }
  }
}

/**
 * One task as the runtime runs it: the `StreamTask` core plus its state folder, changelog restore,
 * checkpoint, its input positions and bookkeeping. Lifecycle: `open()` (state folder, stores) ->
 * `restore()` (every logged store from its checkpoint, or from the start, to the changelog end) ->
 * `start(positions)` (processors; input positions and stream time from the committed offsets) ->
 * processing -> `close(clean)`. A clean close flushes and writes the checkpoint; a dirty close
 * abandons the uncommitted work (see runtime/README.md, "Task life cycle").
 *
 * The task owns its consumed offsets: what was committed, what was handed to it, and what to commit
 * next (`offsetsToCommit`), with its stream time as commit metadata.
 */
import { join } from 'node:path'
import type { Logger } from 'pino'
import {
  StreamTask,
  type ErrorHandlerResponse,
  type FailedRecord,
  type ProcessingError,
  type RawRecord,
  type RecordMetadata,
  type SubtopologyPlan
} from '../processors/index.ts'
import {
  deleteCheckpoint,
  openTaskState,
  restoreChangelog,
  writeCheckpoint,
  type ChangelogOffset,
  type RestoreCallback,
  type RestoreProgress,
  type StateStore,
  type TaskState
} from '../state/index.ts'
import type { TopicPartition } from './assignor.ts'
import type { ByteConsumer, PartitionPosition } from '../kafka/index.ts'
import { encodeCommitMetadata } from './commit-metadata.ts'
import type { OutputCollector } from './output.ts'
import type { CommitOffset } from './streams-producer.ts'

/** Map key of a topic-partition. */
export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`

/** Where a task starts reading an input partition: the committed offset and its stream time. */
export interface StartPosition {
  readonly offset: number
  readonly streamTimeMs: number | undefined
}

export interface ActiveTaskOptions {
  readonly id: string
  readonly applicationId: string
  readonly subtopology: SubtopologyPlan
  readonly partition: number
  /** The input partitions of the task. */
  readonly inputs: readonly TopicPartition[]
  /** `<stateDir>/<applicationId>`; the task folder is `<appDir>/<task id>`. */
  readonly appStateDir: string
  readonly exactlyOnce: boolean
  readonly cacheMaxBytesPerStore: number
  /** Transient restore errors are retried this long (ms) before the restore fails. */
  readonly taskTimeoutMs: number
  readonly collector: OutputCollector
  readonly clock: () => number
  readonly logger: Logger
  readonly globalStores: ReadonlyMap<string, StateStore>
  readonly onDeserializationError: (record: FailedRecord, error: unknown) => ErrorHandlerResponse
  readonly onProcessingError?: (error: ProcessingError, record: RecordMetadata | null) => ErrorHandlerResponse
}

export type TaskPhase = 'created' | 'restoring' | 'running' | 'closed'

/** Changelog offsets a task must have written since its last checkpoint before a commit writes a new one. */
const CHECKPOINT_OFFSET_DELTA = 10_000

export class ActiveTask {
  readonly id: string
  readonly partition: number
  readonly inputs: readonly TopicPartition[]
  readonly subtopology: SubtopologyPlan
  readonly taskStateDir: string
  phase: TaskPhase = 'created'
  /** Records taken since the last commit / in total. */
  processedSinceCommit = 0
  processedTotal = 0
  /** Whether the task produced output or processed records since the last commit (uncommitted work). */
  dirty = false
  /** Next offset committed (or started from) per input partition. */
  private readonly committed = new Map<string, { offset: number; leaderEpoch: number }>()
  /** Next offset after the last record handed to the task, per input partition. */
  private readonly added = new Map<string, number>()
  /** Restore progress per changelog topic. */
  readonly restoreProgress = new Map<string, RestoreProgress>()
  restoredRecords = 0
  private readonly options: ActiveTaskOptions
  private readonly logger: Logger
  private streamTask: StreamTask | undefined
  private taskState: TaskState | undefined
  private readonly restorers = new Map<string, { store: StateStore; restore: RestoreCallback }>()
  /** Next changelog offset the local state reflects, per changelog topic (from restore). */
  private readonly restoredTo = new Map<string, number>()
  private lastCheckpoint: string | undefined
  private lastCheckpointOffsets: Map<string, number> | undefined

  constructor(options: ActiveTaskOptions) {
    this.options = options
    this.id = options.id
    this.partition = options.partition
    this.inputs = options.inputs
    this.subtopology = options.subtopology
    this.taskStateDir = join(options.appStateDir, options.id)
    this.logger = options.logger.child({ taskId: options.id })
  }

  /** The task core; throws before `open()`. */
  get task(): StreamTask {
    if (!this.streamTask) throw new Error(`task ${this.id} is not open`)
    return this.streamTask
  }

  get isOpen(): boolean {
    return this.streamTask !== undefined && this.phase !== 'closed'
  }

  /** Changelog topics of the task's logged stores, by store name. */
  get changelogTopics(): ReadonlyMap<string, string> {
    return this.subtopology.changelogTopics
  }

  /** Creates the task core, opens (validates or wipes) the state folder and initializes the stores. */
  async open(): Promise<void> {
    const o = this.options
    const streamTask = new StreamTask({
      applicationId: o.applicationId,
      subtopology: o.subtopology,
      partition: o.partition,
      collector: o.collector,
      clock: o.clock,
      globalStores: o.globalStores,
      storeContext: {
        taskStateDir: this.taskStateDir,
        cacheMaxBytes: o.cacheMaxBytesPerStore,
        logger: this.logger,
        register: (store, restore) => {
          this.restorers.set(store.name, { store, restore })
        }
      },
      onDeserializationError: o.onDeserializationError,
      ...(o.onProcessingError ? { onProcessingError: o.onProcessingError } : {})
    })
    const persistent = streamTask.storeNames.filter((name) => streamTask.getStore(name)?.persistent === true)
    this.taskState = await openTaskState({
      taskStateDir: this.taskStateDir,
      applicationId: o.applicationId,
      taskId: this.id,
      persistentStoreNames: persistent,
      exactlyOnce: o.exactlyOnce,
      logger: this.logger
    })
    try {
      await streamTask.initializeStores()
    } catch (err) {
      await streamTask.close({ dirty: true }).catch((closeErr: unknown) => this.logger.warn({ err: closeErr }, 'closing a task that failed to open failed'))
      await this.taskState.close()
      this.taskState = undefined
      throw err
    }
    this.streamTask = streamTask
    this.phase = 'restoring'
  }

  /**
   * Restores every logged store from its changelog: persistent stores from the checkpoint (when the
   * folder was trusted), in-memory stores from the start, to the changelog's end (last stable offset).
   */
  async restore(consumer: ByteConsumer, signal?: AbortSignal): Promise<void> {
    const checkpoint = new Map((this.taskState?.checkpoint ?? []).map((c) => [`${c.topic}\u0000${c.partition}`, c.offset]))
    for (const [storeName, topic] of this.subtopology.changelogTopics) {
      const restorer = this.restorers.get(storeName)
      if (!restorer) continue
      const fromOffset = restorer.store.persistent ? (checkpoint.get(`${topic}\u0000${this.partition}`) ?? 0) : 0
      const result = await restoreChangelog({
        // 4 MiB per fetch: each response is applied synchronously, and a long block would delay
        // the group heartbeats (the session timeout may be a few seconds).
        consumer,
        topic,
        partition: this.partition,
        fromOffset,
        restore: restorer.restore,
        maxBytes: 4 * 1024 * 1024,
        ...(signal ? { signal } : {}),
        logger: this.logger,
        taskTimeoutMs: this.options.taskTimeoutMs,
        onProgress: (progress) => {
          this.restoreProgress.set(topic, progress)
        }
      })
      this.restoredRecords += result.restoredRecords
      this.restoredTo.set(topic, result.nextOffset)
    }
  }

  /**
   * Initializes the processors with the committed input positions; stream time resumes from the
   * highest committed stream time of its inputs. The task may process from now on.
   */
  start(positions: ReadonlyMap<string, StartPosition>): void {
    this.task.initializeProcessors()
    let streamTimeMs = -1
    for (const tp of this.inputs) {
      const position = positions.get(tpKey(tp.topic, tp.partition))
      this.committed.set(tpKey(tp.topic, tp.partition), { offset: position?.offset ?? 0, leaderEpoch: -1 })
      streamTimeMs = Math.max(streamTimeMs, position?.streamTimeMs ?? -1)
    }
    this.task.initializeStreamTime(streamTimeMs)
    this.phase = 'running'
    this.processedSinceCommit = 0
    this.dirty = false
  }

  /** Work not committed yet: records taken or output produced (punctuation) since the last commit. */
  get hasUncommittedWork(): boolean {
    return this.dirty || this.processedSinceCommit > 0
  }

  /** Hands fetched records of an input partition to the task. */
  addRecords(topic: string, partition: number, records: RawRecord[]): void {
    this.task.addRecords(topic, partition, records)
    const last = records[records.length - 1]
    if (last) this.added.set(tpKey(topic, partition), last.offset + 1)
  }

  /** Next offset the task will take from an input partition (consumed, else committed). */
  position(topic: string, partition: number): number {
    const k = tpKey(topic, partition)
    for (const o of this.task.offsetsToCommit()) if (o.topic === topic && o.partition === partition) return o.offset
    return this.committed.get(k)?.offset ?? 0
  }

  /** Next offset after the last record handed to the task from an input partition, if any. */
  addedUpTo(topic: string, partition: number): number | undefined {
    return this.added.get(tpKey(topic, partition))
  }

  /** The committed position of an input partition (-1 before `start`). */
  committedOffset(topic: string, partition: number): number {
    return this.committed.get(tpKey(topic, partition))?.offset ?? -1
  }

  /**
   * Offsets to commit, each with the task's stream time as metadata: per input partition, the offset
   * after the last record the task took; when it took every record handed to it, the fetch position
   * (as Kafka Streams does: past transaction markers and aborted records, so that a drained partition
   * shows no lag). `all`: also partitions that did not move (exactly-once commits every input of a
   * task with work in the transaction, so that the generation check fences a zombie's output).
   */
  offsetsToCommit(fetched: (topic: string, partition: number) => PartitionPosition | undefined, all: boolean): CommitOffset[] {
    const out: CommitOffset[] = []
    const consumed = new Map(this.task.offsetsToCommit().map((o) => [tpKey(o.topic, o.partition), o.offset]))
    const metadata = encodeCommitMetadata(Math.max(0, this.task.streamTimeMs))
    for (const tp of this.inputs) {
      const k = tpKey(tp.topic, tp.partition)
      const committed = this.committed.get(k)
      if (!committed) continue
      let offset = Math.max(consumed.get(k) ?? committed.offset, committed.offset)
      const position = fetched(tp.topic, tp.partition)
      const added = this.added.get(k)
      if (position && (added === undefined || offset >= added)) offset = Math.max(offset, position.position)
      if (offset <= committed.offset && !all) continue
      out.push({ topic: tp.topic, partition: tp.partition, offset, leaderEpoch: position?.leaderEpoch ?? -1, metadata })
    }
    return out
  }

  /** Records a successful commit: the offsets are the task's new committed positions. */
  markCommitted(offsets: readonly CommitOffset[]): void {
    for (const o of offsets) {
      const k = tpKey(o.topic, o.partition)
      if (this.committed.has(k)) this.committed.set(k, { offset: o.offset, leaderEpoch: o.leaderEpoch })
    }
    this.processedSinceCommit = 0
    this.dirty = false
  }

  /** Resizes the task's store caches (the instance budget is shared by every store it owns). */
  setCacheMaxBytesPerStore(bytes: number): void {
    if (this.isOpen) this.task.setCacheMaxBytesPerStore(bytes)
  }

  /** Next changelog offsets the local persistent state reflects (for the checkpoint). */
  checkpointOffsets(): ChangelogOffset[] {
    const offsets: ChangelogOffset[] = []
    for (const [storeName, topic] of this.subtopology.changelogTopics) {
      if (this.streamTask?.getStore(storeName)?.persistent !== true) continue
      const acked = this.options.collector.ackedOffset(topic, this.partition)
      const restored = this.restoredTo.get(topic)
      const offset = Math.max(acked ?? -1, restored ?? -1)
      if (offset >= 0) offsets.push({ topic, partition: this.partition, offset })
    }
    return offsets
  }

  /**
   * Writes the checkpoint (after a successful commit; under exactly-once only on a clean close),
   * unless it would not change: each write is an fsync.
   */
  writeCheckpoint(force = false): void {
    if (!this.taskState) return
    const offsets = this.checkpointOffsets()
    const text = JSON.stringify(offsets)
    if (text === this.lastCheckpoint) return
    // As Kafka Streams: a commit writes the checkpoint only when the changelogs moved on by at
    // least CHECKPOINT_OFFSET_DELTA (a stale checkpoint only makes a restore read more); close always does.
    if (!force && this.lastCheckpointOffsets !== undefined) {
      const previous = this.lastCheckpointOffsets
      const moved = offsets.reduce((n, o) => n + o.offset - (previous.get(`${o.topic}\u0000${o.partition}`) ?? 0), 0)
      if (moved < CHECKPOINT_OFFSET_DELTA) return
    }
    writeCheckpoint(this.taskStateDir, offsets)
    this.lastCheckpoint = text
    this.lastCheckpointOffsets = new Map(offsets.map((o) => [`${o.topic}\u0000${o.partition}`, o.offset]))
  }

  /**
   * Closes the task. `clean`: its work is committed, so the checkpoint is written and the local state
   * stays trusted. Dirty: its uncommitted work is abandoned: caches are dropped, nothing more is sent
   * or written; under exactly-once the checkpoint is deleted, so the next open wipes the folder and
   * restores from the changelog.
   */
  async close(clean: boolean): Promise<void> {
    if (this.phase === 'closed') return
    const wasRunning = this.phase === 'running'
    this.phase = 'closed'
    try {
      await this.streamTask?.close({ dirty: !clean })
    } finally {
      if (this.taskState) {
        if (clean && wasRunning) this.writeCheckpoint(true)
        else if (!clean && this.options.exactlyOnce) deleteCheckpoint(this.taskStateDir)
        await this.taskState.close()
        this.taskState = undefined
      }
      for (const topic of this.subtopology.changelogTopics.values()) this.options.collector.forgetOffsets(topic, this.partition)
    }
  }
}

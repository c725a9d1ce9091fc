/**
 * The tasks of one instance (Kafka Streams' `TaskManager`): which it owns and under which group
 * generation, how an assignment is applied, how all tasks commit, and how a task closes clean or
 * dirty. The rules of runtime/README.md ("Task life cycle") live here and nowhere else.
 *
 * Commit, in this order (`commit()`):
 *   1. flush every running task: caches emit downstream and write down, changelog records are sent;
 *   2. wait until every record sent was acknowledged (the collector's flush);
 *   3. at-least-once: commit the input offsets (with stream time as metadata) under the generation
 *      the tasks are owned in; exactly-once: add the offsets to the transaction with the generation
 *      and member id (KIP-447) and commit the transaction;
 *   4. mark the tasks committed; at-least-once: write checkpoints (every 10,000 changelog offsets).
 * A failure at 2 or 3 (exactly-once) aborts the transaction. If it means the tasks moved
 * (`TaskMigratedError`: lost generation, fenced producer) every task closes dirty and the member must
 * rejoin; otherwise (`TaskCorruptedError`) the tasks with uncommitted work close dirty and are
 * created again from their last committed state. At-least-once: a lost generation closes every task
 * dirty too; another failed offset commit keeps the tasks (their records will be processed again)
 * and writes no checkpoint.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { FetchIsolationLevels, findErrorBy, ListOffsetTimestamps, type Admin, type GroupAssignment } from '@platformatic/kafka'
import type { Logger } from 'pino'
import type { ErrorHandlerResponse, FailedRecord, ProcessingError, RecordMetadata, TopologyPlan } from '../processors/index.ts'
import { CheckpointAheadError, type StateStore } from '../state/index.ts'
import { ActiveTask, tpKey, type ActiveTaskOptions, type StartPosition } from './active-task.ts'
import { parseTaskId, partitionsOfTask, tasksOfPartitions, type TopicPartition } from './assignor.ts'
import type { ByteConsumer, PartitionReader } from '../kafka/index.ts'
import { decodeCommitMetadata } from './commit-metadata.ts'
import type { ResolvedConfig } from './config.ts'
import { errorSummary, migrationCause, RuntimeError, TaskCorruptedError, TaskMigratedError, withDeadline } from './errors.ts'
import type { OutputCollector } from './output.ts'
import type { CommitOffset, GroupMembership, StreamsProducer } from './streams-producer.ts'

export { tpKey }

export interface TaskManagerOptions {
  readonly config: ResolvedConfig
  readonly plan: TopologyPlan
  readonly partitionCounts: ReadonlyMap<string, number>
  readonly admin: Admin
  /** The group member: offsets are committed through it (at-least-once) or for it (exactly-once). */
  readonly consumer: ByteConsumer
  readonly restoreConsumer: ByteConsumer
  readonly fetchConsumer: ByteConsumer
  readonly fetcher: PartitionReader
  readonly collector: OutputCollector
  readonly producer: StreamsProducer
  readonly globalStores: ReadonlyMap<string, StateStore>
  readonly logger: Logger
  readonly onDeserializationError: (record: FailedRecord, error: unknown) => ErrorHandlerResponse
  readonly onProcessingError?: (error: ProcessingError, record: RecordMetadata | null) => ErrorHandlerResponse
  /** State changes caused by task work (REBALANCING while tasks are created, RUNNING after). */
  readonly onState: (state: 'REBALANCING' | 'RUNNING') => void
  /** Aborts restores when the instance closes. */
  readonly signal: AbortSignal
}

/** An assignment from the group, as the consumer reported it. */
export interface Assignment extends GroupMembership {
  readonly assignments: readonly GroupAssignment[]
}

/** What a commit did: `migrated` means every task was closed dirty and the member must rejoin. */
export type CommitResult = 'ok' | 'failed' | 'migrated'

export class TaskManager {
  readonly tasks = new Map<string, ActiveTask>()
  /** Input partition -> task. */
  readonly byInput = new Map<string, ActiveTask>()
  /** The generation and member id under which the tasks are owned. */
  membership: GroupMembership = { generationId: -1, memberId: '' }
  /** Set when a commit found that the tasks moved: every task was closed dirty; the member must rejoin. */
  needsRejoin = false
  private readonly options: TaskManagerOptions
  private readonly appStateDir: string
  private readonly optionsOf = new Map<string, ActiveTaskOptions>()

  constructor(options: TaskManagerOptions) {
    this.options = options
    this.appStateDir = join(options.config.stateDir, options.config.applicationId)
  }

  /** Running tasks, in id order. */
  running(): ActiveTask[] {
    return [...this.tasks.values()].filter((t) => t.phase === 'running')
  }

  /** `<stateDir>/<applicationId>`: the folder of this application's task folders. */
  get stateDir(): string {
    return this.appStateDir
  }

  /** Whether anything would be lost if the tasks moved now: an open transaction, unacknowledged sends, unprocessed commits. */
  get hasUncommittedWork(): boolean {
    return this.options.producer.transactionInFlight || this.options.collector.pendingCount > 0 || this.running().some((t) => t.hasUncommittedWork)
  }

  /** Commits every running task (see the file comment for the steps and the failure rules). */
  async commit(): Promise<CommitResult> {
    const { config, collector, producer, consumer } = this.options
    const running = this.running()
    for (const task of running) task.task.flush()
    const fetched = (topic: string, partition: number): ReturnType<PartitionReader['get']> => this.options.fetcher.get(topic, partition)
    if (config.exactlyOnce) {
      // Every input of every task with work in the transaction goes in, moved or not: the offsets
      // carry the generation, so output of a member that lost its tasks can never be committed.
      const offsets = running.flatMap((t) => t.offsetsToCommit(fetched, t.hasUncommittedWork))
      if (!producer.transactionInFlight && collector.pendingCount === 0 && offsets.length === 0) return 'ok'
      try {
        await collector.flush()
        await producer.commitTransaction(offsets, this.membership, consumer)
      } catch (err) {
        return this.onCommitFailure(err)
      }
      this.markCommitted(running, offsets)
      return 'ok'
    }
    // A produce failure is fatal under at-least-once (Kafka Streams' default production handler).
    await collector.flush()
    const offsets = running.flatMap((t) => t.offsetsToCommit(fetched, false))
    if (offsets.length > 0) {
      try {
        await withDeadline(
          consumer.commit({
            // Patched @platformatic/kafka (patches/): `metadata` per offset, and `rejoin: false` reports
            // a lost generation instead of rejoining and committing again under the new one.
            offsets: offsets.map((o) => ({
              topic: o.topic,
              partition: o.partition,
              offset: BigInt(o.offset),
              leaderEpoch: o.leaderEpoch,
              metadata: o.metadata
            })),
            rejoin: false
          }),
          config.apiTimeoutMs,
          'RUNTIME_COMMIT_TIMEOUT',
          'the offset commit'
        )
      } catch (err) {
        const migrated = migrationCause(err)
        if (migrated !== undefined) return this.onCommitFailure(new TaskMigratedError(`the offset commit was refused (${migrated})`, { cause: err }))
        this.options.logger.warn(
          { err, reason: errorSummary(err) },
          'offset commit failed; under at-least-once the uncommitted records will be processed again'
        )
        return 'failed'
      }
    }
    this.markCommitted(running, offsets)
    for (const task of running) task.writeCheckpoint()
    return 'ok'
  }

  private markCommitted(running: readonly ActiveTask[], offsets: readonly CommitOffset[]): void {
    for (const task of running) task.markCommitted(offsets.filter((o) => this.byInput.get(tpKey(o.topic, o.partition)) === task))
  }

  private async onCommitFailure(err: unknown): Promise<CommitResult> {
    const { config, collector, producer, logger } = this.options
    const migrated = err instanceof TaskMigratedError
    const what = config.exactlyOnce ? 'transaction failed' : 'offset commit refused'
    logger.warn(
      { err, reason: errorSummary(err) },
      migrated
        ? `${what}: the tasks moved to other members; closing every task dirty and rejoining`
        : `${what}: tasks with uncommitted work restart from their last committed state`
    )
    await collector.discard()
    // A new producer after any failed commit: the failure may have been a send, after which the
    // client's sequence numbers for that partition are broken.
    if (config.exactlyOnce) await producer.abortTransaction({ replace: true })
    if (migrated) {
      await this.closeDirty([...this.tasks.keys()])
      this.needsRejoin = true
      return 'migrated'
    }
    const corrupted = new TaskCorruptedError(
      this.running()
        .filter((t) => t.hasUncommittedWork)
        .map((t) => t.id),
      'commit failed',
      { cause: err }
    )
    await this.recreate(corrupted.taskIds)
    return 'failed'
  }

  /** Closes tasks dirty and creates them again: state from the changelog, inputs from the committed offsets. */
  private async recreate(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    this.options.onState('REBALANCING')
    await this.closeDirty(ids)
    await this.createTasks(ids)
    this.options.onState('RUNNING')
  }

  /**
   * Applies an assignment. Tasks that stay are kept; revoked ones close clean when they hold no
   * uncommitted work (the member committed before it rejoined), else dirty; new ones are created.
   * A generation this member did not see (its membership lapsed) may have given its tasks to others,
   * who processed and committed them: every task kept across such a gap closes dirty and is created
   * again. Exactly-once: a transaction still open cannot be committed under the new generation, so
   * it is aborted and the kept tasks whose work it held are created again.
   */
  async handleAssignment(assignment: Assignment): Promise<void> {
    const { config, plan, logger } = this.options
    const assigned = new Set(tasksOfPartitions(plan, assignment.assignments))
    const owned = [...this.tasks.keys()]
    const continuous =
      this.membership.generationId < 0 || (assignment.memberId === this.membership.memberId && assignment.generationId === this.membership.generationId + 1)
    const revoked = continuous ? owned.filter((id) => !assigned.has(id)) : owned
    const added = [...assigned].filter((id) => revoked.includes(id) || !this.tasks.has(id))
    logger.info({ generationId: assignment.generationId, assigned: [...assigned], revoked, added, continuous }, 'assignment received')
    if (revoked.length > 0 || added.length > 0) this.options.onState('REBALANCING')
    if (config.exactlyOnce && this.options.producer.transactionInFlight) {
      logger.info({ revoked }, 'an open transaction at a new generation: aborting it (it cannot be committed under the new generation)')
      const sendFailed = await this.options.collector.discard()
      await this.options.producer.abortTransaction({ replace: sendFailed })
      const retainedDirty = this.running()
        .filter((t) => !revoked.includes(t.id) && t.hasUncommittedWork)
        .map((t) => t.id)
      await this.closeDirty(retainedDirty)
      added.push(...retainedDirty)
    }
    const revokedTasks = revoked.map((id) => this.tasks.get(id)).filter((t) => t !== undefined)
    // A task without uncommitted work closes clean even across a gap: its checkpoint is where its
    // state stands, and restoring from there reads whatever another owner wrote meanwhile.
    await this.closeClean(revokedTasks.filter((t) => !t.hasUncommittedWork).map((t) => t.id))
    await this.closeDirty(revoked)
    this.membership = { generationId: assignment.generationId, memberId: assignment.memberId }
    // Kept tasks commit under the new generation before new tasks restore, so that no transaction
    // stays open during restores.
    if (added.length > 0 && this.running().some((t) => t.hasUncommittedWork) && (await this.commit()) === 'migrated') return
    await this.createTasks(added)
    this.rebudgetCaches()
    this.options.onState('RUNNING')
  }

  /** The membership is gone (the consumer gave up rejoining): every task closes dirty. */
  async handleLostAll(): Promise<void> {
    if (this.options.config.exactlyOnce) {
      await this.options.collector.discard()
      await this.options.producer.abortTransaction()
    }
    await this.closeDirty([...this.tasks.keys()])
    this.membership = { generationId: -1, memberId: '' }
  }

  /** Final step of a clean shutdown: commit, then close every task clean (dirty if the commit failed). */
  async shutdown(clean: boolean): Promise<void> {
    let committed = false
    if (clean) {
      try {
        committed = (await this.commit()) === 'ok'
      } catch (err) {
        this.options.logger.warn({ err, reason: errorSummary(err) }, 'final commit failed: closing the tasks dirty')
      }
    }
    if (!committed && this.options.config.exactlyOnce) {
      await this.options.collector.discard()
      await this.options.producer
        .abortTransaction()
        .catch((err: unknown) => this.options.logger.warn({ err, reason: errorSummary(err) }, 'abort at shutdown failed'))
    }
    const ids = [...this.tasks.keys()]
    if (committed) await this.closeClean(ids)
    else await this.closeDirty(ids)
  }

  /**
   * Creates, restores and starts `ids`: open the state folder, read the committed input offsets
   * (stable: a transaction still open on them is waited for, so a new owner never starts before the
   * previous owner's last transaction is decided), under exactly-once wait until no transaction is
   * open on the changelogs, restore every logged store, start with the committed positions and stream
   * time, and only then fetch the inputs.
   */
  async createTasks(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    const { config, plan } = this.options
    const created: ActiveTask[] = []
    for (const id of ids) {
      const parsed = parseTaskId(id)
      const sub = plan.subtopologies.find((s) => s.id === parsed?.subtopology)
      if (!parsed || !sub) throw new RuntimeError('RUNTIME_UNKNOWN_TASK', `assigned task ${id} is not a task of this topology`)
      const options: ActiveTaskOptions = {
        id,
        applicationId: config.applicationId,
        subtopology: sub,
        partition: parsed.partition,
        inputs: partitionsOfTask(plan, (t) => this.options.partitionCounts.get(t), id),
        appStateDir: this.appStateDir,
        exactlyOnce: config.exactlyOnce,
        taskTimeoutMs: config.taskTimeoutMs,
        cacheMaxBytesPerStore: this.cacheMaxBytesPerStore([...this.tasks.keys(), ...ids]),
        collector: this.options.collector,
        clock: config.clock,
        logger: this.options.logger,
        globalStores: this.options.globalStores,
        onDeserializationError: this.options.onDeserializationError,
        ...(this.options.onProcessingError ? { onProcessingError: this.options.onProcessingError } : {})
      }
      created.push(this.register(new ActiveTask(options), options))
    }
    for (const task of created) await task.open()
    const positions = await this.committedPositions(created.flatMap((t) => t.inputs))
    if (config.exactlyOnce) await this.waitForSettledChangelogs(created)
    for (const created1 of created) {
      const task = await this.restore(created1)
      task.start(positions)
      for (const tp of task.inputs) this.options.fetcher.assign(tp.topic, tp.partition, positions.get(tpKey(tp.topic, tp.partition))?.offset ?? 0)
      this.options.logger.info(
        {
          taskId: task.id,
          restoredRecords: task.restoredRecords,
          streamTimeMs: task.task.streamTimeMs,
          inputs: task.inputs.map((tp) => `${tp.topic}-${tp.partition}@${positions.get(tpKey(tp.topic, tp.partition))?.offset}`)
        },
        'task running'
      )
    }
  }

  /** The instance's cache budget per store, shared by every store of `ids` (Kafka Streams shares one cache per thread). */
  private cacheMaxBytesPerStore(ids: readonly string[]): number {
    const storesOf = (id: string): number => this.options.plan.subtopologies.find((s) => s.id === parseTaskId(id)?.subtopology)?.storeBuilders.length ?? 0
    const total = ids.reduce((n, id) => n + storesOf(id), 0)
    return total === 0 ? 0 : Math.floor(this.options.config.cacheMaxBytes / total)
  }

  /** Gives every owned store its share of `cacheMaxBytes` again (after tasks came or went). */
  private rebudgetCaches(): void {
    const perStore = this.cacheMaxBytesPerStore([...this.tasks.keys()])
    for (const task of this.tasks.values()) task.setCacheMaxBytesPerStore(perStore)
  }

  private register(task: ActiveTask, options: ActiveTaskOptions): ActiveTask {
    this.tasks.set(task.id, task)
    this.optionsOf.set(task.id, options)
    for (const tp of task.inputs) this.byInput.set(tpKey(tp.topic, tp.partition), task)
    return task
  }

  /**
   * Restores a task. A checkpoint past the changelog end (the topic was recreated) wipes the folder
   * and restores a fresh task from the start; the fresh task is returned in that case.
   */
  private async restore(task: ActiveTask): Promise<ActiveTask> {
    try {
      await task.restore(this.options.restoreConsumer, this.options.signal)
      return task
    } catch (err) {
      if (!(err instanceof CheckpointAheadError)) throw err
      this.options.logger.warn({ taskId: task.id, err }, 'checkpoint is past the changelog end: wiping the task state and restoring from the start')
      await task.close(false)
      rmSync(task.taskStateDir, { recursive: true, force: true })
      const options = this.optionsOf.get(task.id) as ActiveTaskOptions
      const fresh = this.register(new ActiveTask(options), options)
      await fresh.open()
      await fresh.restore(this.options.restoreConsumer, this.options.signal)
      return fresh
    }
  }

  /** Clean close: the tasks' work is committed; stores flush (nothing is left) and checkpoints are written. */
  async closeClean(ids: readonly string[]): Promise<void> {
    await this.close(ids, true)
  }

  /** Dirty close: uncommitted work is abandoned (caches dropped, nothing sent); exactly-once wipes the state. */
  async closeDirty(ids: readonly string[]): Promise<void> {
    await this.close(ids, false)
  }

  /** Inputs stop being fetched first, so nothing buffered or in flight for a closed task is processed or committed. */
  private async close(ids: readonly string[], clean: boolean): Promise<void> {
    for (const id of ids) {
      const task = this.tasks.get(id)
      if (!task) continue
      for (const tp of task.inputs) {
        this.options.fetcher.unassign(tp.topic, tp.partition)
        this.byInput.delete(tpKey(tp.topic, tp.partition))
      }
      this.tasks.delete(id)
      this.optionsOf.delete(id)
      try {
        await task.close(clean)
      } catch (err) {
        this.options.logger.warn({ taskId: id, err, clean }, 'task close failed')
      }
    }
  }

  /**
   * Exactly-once: waits until no transaction is open on the changelog partitions about to be
   * restored (last stable offset = end offset). The previous owner's last commit makes its input
   * offsets readable (the stable read) possibly a moment before its commit marker reaches a
   * changelog partition; restoring in that moment would stop short of the committed state. An open
   * transaction of an owner that died is aborted by the broker within the transaction timeout; past
   * that bound the restore proceeds to the last stable offset.
   */
  private async waitForSettledChangelogs(tasks: readonly ActiveTask[]): Promise<void> {
    const partitions: Record<string, number[]> = {}
    for (const task of tasks) for (const topic of task.changelogTopics.values()) (partitions[topic] ??= []).push(task.partition)
    const topics = Object.keys(partitions)
    if (topics.length === 0) return
    const deadline = Date.now() + this.options.config.transactionTimeoutMs + 5_000
    for (let attempt = 0; ; attempt++) {
      const [stable, end] = await Promise.all(
        [FetchIsolationLevels.READ_COMMITTED, FetchIsolationLevels.READ_UNCOMMITTED].map((isolationLevel) =>
          this.options.restoreConsumer.listOffsets({ topics, partitions, timestamp: ListOffsetTimestamps.LATEST, isolationLevel })
        )
      )
      const open = topics.flatMap((topic) =>
        (partitions[topic] ?? []).filter((p) => (stable?.get(topic)?.[p] ?? 0n) < (end?.get(topic)?.[p] ?? 0n)).map((p) => `${topic}-${p}`)
      )
      if (open.length === 0) return
      if (Date.now() > deadline || this.options.signal.aborted) {
        this.options.logger.warn({ open }, 'changelog partitions still have an open transaction: restoring to their last stable offset')
        return
      }
      if (attempt === 0) this.options.logger.info({ open }, 'waiting for open transactions on changelogs to complete before restoring')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /**
   * Where to start per input partition: the group's committed offset and stream time (commit
   * metadata), read with `requireStable` (a pending transactional commit on the partition is waited
   * for), else the partition's log start (Kafka Streams' `auto.offset.reset=earliest`).
   */
  async committedPositions(tps: readonly TopicPartition[]): Promise<Map<string, StartPosition>> {
    const out = new Map<string, StartPosition>()
    if (tps.length === 0) return out
    const { config, admin } = this.options
    const byTopic = new Map<string, number[]>()
    for (const tp of tps) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition])
    const deadline = Date.now() + config.transactionTimeoutMs * 3 + 30_000
    for (;;) {
      try {
        const groups = await admin.listConsumerGroupOffsets({
          groups: [{ groupId: config.applicationId, topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })) }],
          requireStable: true
        })
        for (const group of groups) {
          for (const topic of group.topics) {
            for (const p of topic.partitions) {
              if (p.committedOffset >= 0n) {
                out.set(tpKey(topic.name, p.partitionIndex), { offset: Number(p.committedOffset), streamTimeMs: decodeCommitMetadata(p.metadata) })
              }
            }
          }
        }
        break
      } catch (err) {
        if (!findErrorBy(err as Error, 'apiId', 'UNSTABLE_OFFSET_COMMIT') || Date.now() > deadline || this.options.signal.aborted) throw err
        this.options.logger.info('committed offsets are unstable (a transaction on them is still open): waiting')
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
    }
    const missing = tps.filter((tp) => !out.has(tpKey(tp.topic, tp.partition)))
    if (missing.length > 0) {
      const partitions: Record<string, number[]> = {}
      for (const tp of missing) (partitions[tp.topic] ??= []).push(tp.partition)
      const earliest = await this.options.fetchConsumer.listOffsets({ topics: Object.keys(partitions), partitions, timestamp: ListOffsetTimestamps.EARLIEST })
      for (const tp of missing)
        out.set(tpKey(tp.topic, tp.partition), { offset: Number(earliest.get(tp.topic)?.[tp.partition] ?? 0n), streamTimeMs: undefined })
    }
    return out
  }
}

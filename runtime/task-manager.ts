/**
 * The tasks of one instance: which it owns, which input partition feeds which task, and the steps
 * that bring a task from assigned to processing: open its state, read the committed input offsets
 * (stable: a transaction still open on them is waited for, so a new owner never starts before the
 * previous owner's last transaction is decided), restore its stores to the changelog end, start it,
 * and only then fetch its inputs from the committed offsets.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { FetchIsolationLevels, findErrorBy, ListOffsetTimestamps, type Admin } from '@platformatic/kafka'
import type { Logger } from 'pino'
import type { ErrorHandlerResponse, FailedRecord, ProcessingError, RecordMetadata, TopologyPlan } from '../processors/index.ts'
import type { StateStore } from '../state/index.ts'
import { ActiveTask, type ActiveTaskOptions } from './active-task.ts'
import { parseTaskId, partitionsOfTask, type TopicPartition } from './assignor.ts'
import type { ByteConsumer } from './client-supplier.ts'
import type { ResolvedConfig } from './config.ts'
import { RuntimeError } from './errors.ts'
import type { Fetcher } from './fetcher.ts'
import type { OutputCollector } from './output.ts'

export interface TaskManagerOptions {
  readonly config: ResolvedConfig
  readonly plan: TopologyPlan
  readonly partitionCounts: ReadonlyMap<string, number>
  readonly admin: Admin
  readonly restoreConsumer: ByteConsumer
  readonly fetchConsumer: ByteConsumer
  readonly fetcher: Fetcher
  readonly collector: OutputCollector
  readonly globalStores: ReadonlyMap<string, StateStore>
  readonly logger: Logger
  readonly onDeserializationError: (record: FailedRecord, error: unknown) => ErrorHandlerResponse
  readonly onProcessingError?: (error: ProcessingError, record: RecordMetadata | null) => ErrorHandlerResponse
  /** Aborts restores when the instance closes. */
  readonly signal: AbortSignal
}

export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`

export class TaskManager {
  readonly tasks = new Map<string, ActiveTask>()
  /** Input partition -> task. */
  readonly byInput = new Map<string, ActiveTask>()
  /** Next offset committed (or to start from) per owned input partition. */
  readonly committed = new Map<string, { topic: string; partition: number; offset: number; leaderEpoch: number }>()
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

  /**
   * Creates, restores and starts `ids`. Each budgets `cacheMaxBytes / stores` per store, counting
   * the stores of every task in `allOwned`.
   */
  async createTasks(ids: readonly string[], allOwned: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    const { config, plan } = this.options
    const storesOf = (id: string): number => plan.subtopologies.find((s) => s.id === parseTaskId(id)?.subtopology)?.storeBuilders.length ?? 0
    const totalStores = allOwned.reduce((n, id) => n + storesOf(id), 0)
    const cacheMaxBytesPerStore = totalStores === 0 ? 0 : Math.floor(config.cacheMaxBytes / totalStores)
    const created: ActiveTask[] = []
    for (const id of ids) {
      const parsed = parseTaskId(id)
      const sub = plan.subtopologies.find((s) => s.id === parsed?.subtopology)
      if (!parsed || !sub) throw new RuntimeError('RUNTIME_UNKNOWN_TASK', `assigned task ${id} is not a task of this topology`)
      const options: ActiveTaskOptions = {
        id, applicationId: config.applicationId, subtopology: sub, partition: parsed.partition,
        inputs: partitionsOfTask(plan, (t) => this.options.partitionCounts.get(t), id),
        appStateDir: this.appStateDir, exactlyOnce: config.exactlyOnce, cacheMaxBytesPerStore,
        collector: this.options.collector, clock: config.clock, logger: this.options.logger,
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
      task.start()
      for (const tp of task.inputs) {
        const k = tpKey(tp.topic, tp.partition)
        const start = positions.get(k) ?? 0
        this.committed.set(k, { topic: tp.topic, partition: tp.partition, offset: start, leaderEpoch: -1 })
        this.options.fetcher.assign(tp.topic, tp.partition, start)
      }
      this.options.logger.info({
        taskId: task.id, restoredRecords: task.restoredRecords,
        inputs: task.inputs.map((tp) => `${tp.topic}-${tp.partition}@${positions.get(tpKey(tp.topic, tp.partition))}`)
      }, 'task running')
    }
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
      if ((err as { code?: string }).code !== 'STATE_CHECKPOINT_AHEAD') throw err
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

  /**
   * Closes tasks: their inputs stop being fetched first, so nothing buffered or in flight for them is
   * ever processed or committed. `clean` per task decides whether its checkpoint is written.
   */
  async closeTasks(ids: readonly string[], clean: (task: ActiveTask) => boolean): Promise<void> {
    for (const id of ids) {
      const task = this.tasks.get(id)
      if (!task) continue
      for (const tp of task.inputs) {
        const k = tpKey(tp.topic, tp.partition)
        this.options.fetcher.unassign(tp.topic, tp.partition)
        this.byInput.delete(k)
        this.committed.delete(k)
      }
      this.tasks.delete(id)
      this.optionsOf.delete(id)
      try {
        await task.close(clean(task))
      } catch (err) {
        this.options.logger.warn({ taskId: id, err }, 'task close failed')
      }
    }
  }

  /**
   * Exactly-once: waits until no transaction is open on the changelog partitions about to be
   * restored (last stable offset = end offset). The previous owner's last commit makes its input
   * offsets readable (the stable read above) possibly a moment before its commit marker reaches a
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
      const [stable, end] = await Promise.all([FetchIsolationLevels.READ_COMMITTED, FetchIsolationLevels.READ_UNCOMMITTED].map((isolationLevel) =>
        this.options.restoreConsumer.listOffsets({ topics, partitions, timestamp: ListOffsetTimestamps.LATEST, isolationLevel })))
      const open = topics.flatMap((topic) => (partitions[topic] ?? []).filter((p) => (stable?.get(topic)?.[p] ?? 0n) < (end?.get(topic)?.[p] ?? 0n)).map((p) => `${topic}-${p}`))
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
   * Next offset to read per input partition: the group's committed offset, read with
   * `requireStable` (a pending transactional commit on the partition is waited for), else the
   * partition's log start (Kafka Streams' `auto.offset.reset=earliest`).
   */
  async committedPositions(tps: readonly TopicPartition[]): Promise<Map<string, number>> {
    const out = new Map<string, number>()
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
              if (p.committedOffset >= 0n) out.set(tpKey(topic.name, p.partitionIndex), Number(p.committedOffset))
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
      for (const tp of missing) out.set(tpKey(tp.topic, tp.partition), Number(earliest.get(tp.topic)?.[tp.partition] ?? 0n))
    }
    return out
  }
}

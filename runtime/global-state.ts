/**
 * Global stores (GlobalKTable, `addGlobalStore`): every instance keeps a full copy, filled from all
 * partitions of each global topic. At start the instance reads every global topic to its end before
 * its stream tasks run (bootstrap); afterwards new records are applied as they are fetched, between
 * processing rounds. Global stores are kept in memory and rebuilt from their topics at every start.
 */
import { FetchIsolationLevels, ListOffsetTimestamps } from '@platformatic/kafka'
import type { Logger } from 'pino'
import { GlobalTask, type ErrorHandlerResponse, type FailedRecord, type TopologyPlan } from '../processors/index.ts'
import type { StateStore } from '../state/index.ts'
import { PartitionReader, type ByteConsumer } from '../kafka/index.ts'
import { fetchRetryBudget } from './errors.ts'

export interface GlobalStateOptions {
  readonly plan: TopologyPlan
  readonly applicationId: string
  readonly consumer: ByteConsumer
  readonly partitionCounts: ReadonlyMap<string, number>
  readonly fetchMaxWaitMs: number
  /** How long a streak of fetch failures may last before the instance fails (`fetchRetryBudget`). */
  readonly taskTimeoutMs: number
  readonly clock: () => number
  readonly logger: Logger
  readonly onDeserializationError: (record: FailedRecord, error: unknown) => ErrorHandlerResponse
  /** A global record could not be applied (fatal for the instance). */
  readonly onError: (error: unknown) => void
}

export class GlobalState {
  private readonly task: GlobalTask
  private readonly fetcher: PartitionReader
  private readonly options: GlobalStateOptions

  constructor(options: GlobalStateOptions) {
    this.options = options
    this.task = new GlobalTask({
      applicationId: options.applicationId,
      globalStores: options.plan.globalStores,
      inMemoryStores: true,
      clock: options.clock,
      onDeserializationError: options.onDeserializationError
    })
    this.fetcher = new PartitionReader({
      consumer: options.consumer,
      maxWaitMs: options.fetchMaxWaitMs,
      logger: options.logger,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      onFetched: ({ topic, partition }, records) => {
        try {
          for (const record of records) this.task.update(topic, partition, record)
        } catch (err) {
          options.onError(err)
        }
      },
      retry: fetchRetryBudget('fetching global topics', options.taskTimeoutMs, options.logger),
      onFailed: (err) => options.onError(err)
    })
  }

  /** The global stores by name, for stream tasks. */
  get stores(): ReadonlyMap<string, StateStore> {
    return this.task.stores
  }

  /** Opens the stores and reads every global topic to its current end. */
  async bootstrap(signal: AbortSignal): Promise<void> {
    await this.task.initialize()
    const topics = this.task.topics
    if (topics.length === 0) return
    const [earliest, latest] = await Promise.all(
      [ListOffsetTimestamps.EARLIEST, ListOffsetTimestamps.LATEST].map((timestamp) =>
        this.options.consumer.listOffsets({ topics, timestamp, isolationLevel: FetchIsolationLevels.READ_COMMITTED })
      )
    )
    const ends: Array<{ topic: string; partition: number; end: number }> = []
    for (const topic of topics) {
      const count = this.options.partitionCounts.get(topic) ?? latest?.get(topic)?.length ?? 0
      for (let p = 0; p < count; p++) {
        this.fetcher.assign(topic, p, Number(earliest?.get(topic)?.[p] ?? 0n))
        ends.push({ topic, partition: p, end: Number(latest?.get(topic)?.[p] ?? 0n) })
      }
    }
    const started = Date.now()
    while (ends.some(({ topic, partition, end }) => (this.fetcher.get(topic, partition)?.position ?? 0) < end)) {
      if (signal.aborted) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    this.options.logger.info({ topics, elapsedMs: Date.now() - started }, 'global stores bootstrapped')
  }

  async close(): Promise<void> {
    await this.fetcher.close()
    await this.task.close()
  }
}

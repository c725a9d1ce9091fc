/**
 * `KafkaStreams`: runs a topology against a real Kafka cluster. Start as many instances (processes)
 * as needed with one `applicationId`: they form one consumer group and share the topology's tasks.
 *
 * `start()` checks the source topics and co-partitioning, creates the internal topics, fences an
 * earlier incarnation (exactly-once), bootstraps global stores, joins the group and starts the
 * processing loop (see `StreamThread`). `close()` commits, closes tasks (writing checkpoints) and
 * leaves the group. A fatal error moves the instance to ERROR and releases everything; it never
 * restarts by itself.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { compatibilityPartitioner, FetchIsolationLevels, type Admin } from '@platformatic/kafka'
import { pino, type Logger } from 'pino'
import type { TopologyPlan } from '../processors/index.ts'
import { deadLetterTopic } from '../schemas/index.ts'
import type { Topology } from '../topology/index.ts'
import { createPartitionAssigner } from './assignor.ts'
import { defaultKafkaClientSupplier, PartitionReader, type ByteConsumer, type ByteProducer, type KafkaClientSupplier } from '../kafka/index.ts'
import { resolveConfig, type ResolvedConfig, type StreamsConfig } from './config.ts'
import { createDeserializationHandler } from './dead-letters.ts'
import { fetchRetryBudget, IllegalStateError, RuntimeError } from './errors.ts'
import { GlobalState } from './global-state.ts'
import { createInternalTopics, existingPartitionCounts, planTopics, type TopicSpec } from './internal-topics.ts'
import { RuntimeMetrics, startMetricsServer } from './metrics.ts'
import { OutputCollector } from './output.ts'
import { buildStatus } from './status-snapshot.ts'
import { StreamsStates, type InstanceStatus, type StreamsState } from './status.ts'
import { StreamsProducer } from './streams-producer.ts'
import { StreamThread } from './stream-thread.ts'
import { TaskManager } from './task-manager.ts'

/** Called on every state change. */
export type StateListener = (newState: StreamsState, oldState: StreamsState) => void

const TRANSITIONS: Record<StreamsState, readonly StreamsState[]> = {
  CREATED: ['REBALANCING', 'PENDING_SHUTDOWN', 'ERROR'],
  REBALANCING: ['RUNNING', 'PENDING_SHUTDOWN', 'ERROR'],
  RUNNING: ['REBALANCING', 'PENDING_SHUTDOWN', 'ERROR'],
  PENDING_SHUTDOWN: ['NOT_RUNNING'],
  NOT_RUNNING: [],
  ERROR: []
}

function isPlan(value: Topology | TopologyPlan): value is TopologyPlan {
  return Array.isArray((value as TopologyPlan).subtopologies) && typeof (value as Topology).build !== 'function'
}

export class KafkaStreams {
  readonly config: ResolvedConfig
  readonly plan: TopologyPlan
  readonly metrics: RuntimeMetrics
  private readonly logger: Logger
  private readonly supplier: KafkaClientSupplier
  private current: StreamsState = StreamsStates.CREATED
  private listener: StateListener | undefined
  private readonly abort = new AbortController()
  private admin: Admin | undefined
  private consumer: ByteConsumer | undefined
  private fetchConsumer: ByteConsumer | undefined
  private restoreConsumer: ByteConsumer | undefined
  private globalConsumer: ByteConsumer | undefined
  private producer: StreamsProducer | undefined
  private statusProducer: ByteProducer | undefined
  private fetcher: PartitionReader | undefined
  private collector: OutputCollector | undefined
  private tasks: TaskManager | undefined
  private thread: StreamThread | undefined
  private global: GlobalState | undefined
  private metricsServer: { port: number; close(): Promise<void> } | undefined
  private statusTimer: NodeJS.Timeout | undefined
  private statusTopic: string | undefined
  private starting: Promise<void> | undefined
  private loop: Promise<void> | undefined
  private teardownDone: Promise<void> | undefined
  /** What the teardown is waiting on (named when a close times out). */
  private teardownStep = 'not started'
  private closing: Promise<boolean> | undefined
  private startedAtMs: number | null = null
  private failure: Error | undefined

  /** Validates `config` (throws `StreamsConfigError` naming the option) and builds the topology. */
  constructor(topology: Topology | TopologyPlan, config: StreamsConfig) {
    this.config = resolveConfig(config)
    const { applicationId, instanceId } = this.config
    if (topology === null || typeof topology !== 'object') throw new RuntimeError('RUNTIME_BAD_TOPOLOGY', 'topology must be a Topology or a TopologyPlan')
    this.plan = isPlan(topology) ? topology : topology.build({ applicationId })
    if (this.plan.applicationId !== applicationId) {
      throw new RuntimeError('RUNTIME_BAD_TOPOLOGY', `the topology plan was built for application ${this.plan.applicationId}, not ${applicationId}`)
    }
    if (this.plan.subtopologies.length === 0 && this.plan.globalStores.length === 0) {
      throw new RuntimeError('RUNTIME_BAD_TOPOLOGY', 'the topology has no sources: nothing to run')
    }
    this.supplier = this.config.clientSupplier ?? defaultKafkaClientSupplier
    this.logger = (this.config.logger ?? pino({ name: 'runnel', level: this.config.logLevel })).child({ applicationId, instanceId })
    this.metrics = new RuntimeMetrics(
      { applicationId, instanceId },
      {
        tasks: () => this.tasks?.tasks.values() ?? [],
        lags: () =>
          [...(this.fetcher?.positions() ?? [])].map((p) => {
            const end = p.lastStableOffset >= 0 ? p.lastStableOffset : p.highWatermark
            return { topic: p.topic, partition: p.partition, lag: end < 0 ? 0 : Math.max(0, end - p.position) }
          }),
        state: () => this.current
      }
    )
  }

  get state(): StreamsState {
    return this.current
  }

  /** The error that moved the instance to ERROR. */
  get error(): Error | undefined {
    return this.failure
  }

  /** Port of the `/metrics` endpoint when it listens. */
  get metricsPort(): number | undefined {
    return this.metricsServer?.port
  }

  setStateListener(listener: StateListener | undefined): void {
    this.listener = listener
  }

  /** A snapshot of the instance: state, tasks, per-partition positions and lag, throughput. */
  status(): InstanceStatus {
    return buildStatus({
      config: this.config,
      state: this.current,
      startedAtMs: this.startedAtMs,
      error: this.failure,
      tasks: this.tasks,
      fetcher: this.fetcher,
      thread: this.thread,
      metricsPort: this.metricsServer?.port
    })
  }

  /**
   * Prepares topics and clients, joins the group and starts processing. Resolves once the instance
   * is a member of the group (tasks restore and start in the background). Rejects (state ERROR) on a
   * missing source topic, topics that are not co-partitioned, or a cluster it cannot reach.
   */
  async start(): Promise<void> {
    if (this.current !== StreamsStates.CREATED) throw new IllegalStateError(`start() needs state CREATED, the instance is ${this.current}`)
    this.transition(StreamsStates.REBALANCING)
    this.startedAtMs = this.config.clock()
    this.starting = this.startClients()
    try {
      await this.starting
    } catch (err) {
      if (this.abort.signal.aborted) return
      await this.fail(err)
      throw err
    }
  }

  private async startClients(): Promise<void> {
    const c = this.config
    const brokers = c.bootstrapServers
    const admin = (this.admin = this.supplier.getAdmin({ clientId: `${c.clientId}-admin`, bootstrapBrokers: brokers }))
    const internal = new Set(this.plan.internalTopics.map((t) => t.name))
    const userTopics = [
      ...this.plan.subtopologies.flatMap((s) => s.sourceTopics),
      ...this.plan.globalStores.map((g) => g.topic),
      ...this.plan.sinkTopics
    ].filter((t) => !internal.has(t))
    const dlq = deadLetterTopic(c.applicationId)
    this.statusTopic = c.statusIntervalMs > 0 ? `${c.applicationId}-status` : undefined
    const existing = await existingPartitionCounts(admin, [...userTopics, dlq, ...(this.statusTopic ? [this.statusTopic] : [])])
    const extra: TopicSpec[] = [{ name: dlq, partitions: existing.get(dlq) ?? 1, configs: { 'cleanup.policy': 'delete' } }]
    if (this.statusTopic) extra.push({ name: this.statusTopic, partitions: existing.get(this.statusTopic) ?? 1, configs: { 'cleanup.policy': 'compact' } })
    const layout = planTopics(this.plan, existing, extra)
    const missingSinks = this.plan.sinkTopics.filter((t) => !internal.has(t) && !existing.has(t))
    if (missingSinks.length > 0) {
      throw new RuntimeError('RUNTIME_MISSING_SINK_TOPIC', `sink topic(s) ${missingSinks.join(', ')} do not exist: create them before starting the application`)
    }
    await createInternalTopics(admin, layout.internalTopics, c.replicationFactor, this.logger)
    mkdirSync(join(c.stateDir, c.applicationId), { recursive: true })

    const producer = (this.producer = new StreamsProducer({
      exactlyOnce: c.exactlyOnce,
      groupId: c.applicationId,
      transactionalId: `${c.applicationId}-${c.instanceId}`,
      create: () => this.createProducer(),
      logger: this.logger,
      clock: c.clock,
      apiTimeoutMs: c.apiTimeoutMs
    }))
    await producer.init()
    if (this.statusTopic) {
      this.statusProducer = this.supplier.getProducer({ clientId: `${c.clientId}-status`, bootstrapBrokers: brokers, acks: -1, autocreateTopics: false })
    }
    const consumerOptions = (suffix: string): { clientId: string; bootstrapBrokers: string[]; groupId: string } => ({
      clientId: `${c.clientId}-${suffix}`,
      bootstrapBrokers: brokers,
      groupId: `${c.clientId}-${suffix}-no-group`
    })
    this.restoreConsumer = this.supplier.getRestoreConsumer({ ...consumerOptions('restore'), isolationLevel: FetchIsolationLevels.READ_COMMITTED })
    this.fetchConsumer = this.supplier.getRestoreConsumer(consumerOptions('fetch'))

    const changelogs = new Set(this.plan.subtopologies.flatMap((s) => [...s.changelogTopics.values()]))
    const collector = (this.collector = new OutputCollector({
      partitionCounts: layout.partitionCounts,
      trackedTopics: changelogs,
      // One produce request in flight, under both guarantees. With several in flight, a batch that
      // times out and is retried by @platformatic/kafka's idempotent producer can land after a later
      // batch of the same partition: seen as OUT_OF_ORDER_SEQUENCE_NUMBER errors and as compacted
      // outputs and changelogs going backwards under load (a later value overwritten by an older one).
      // Processing still overlaps the send in flight: the next batch fills meanwhile.
      serialize: true,
      deliveryTimeoutMs: c.deliveryTimeoutMs,
      sender: () => (messages) => producer.send(messages)
    }))
    const onDeserializationError = createDeserializationHandler({
      plan: this.plan,
      applicationId: c.applicationId,
      policy: c.deserializationErrorPolicy,
      collector,
      deadLetterTopic: dlq,
      deadLetterPartitions: layout.partitionCounts.get(dlq) ?? 1,
      logger: this.logger,
      onFail: (error) => this.thread?.setDeserializationFailure(error)
    })

    if (this.plan.globalStores.length > 0) {
      this.globalConsumer = this.supplier.getRestoreConsumer({ ...consumerOptions('global'), isolationLevel: FetchIsolationLevels.READ_COMMITTED })
      this.global = new GlobalState({
        plan: this.plan,
        applicationId: c.applicationId,
        consumer: this.globalConsumer,
        partitionCounts: layout.partitionCounts,
        fetchMaxWaitMs: c.fetchMaxWaitMs,
        taskTimeoutMs: c.taskTimeoutMs,
        clock: c.clock,
        logger: this.logger,
        onDeserializationError,
        onError: (err) => {
          void this.fail(err)
        }
      })
      await this.global.bootstrap(this.abort.signal)
    }

    const fetcher = (this.fetcher = new PartitionReader({
      consumer: this.fetchConsumer,
      maxWaitMs: c.fetchMaxWaitMs,
      logger: this.logger,
      // Half the buffer per fetch: the next fetch is under way while the task works through the last one.
      targetRecordsPerPartition: Math.max(1, Math.floor(c.maxBufferedRecordsPerPartition / 2)),
      // Kafka Streams reads uncommitted data under at-least-once and committed data under exactly-once.
      isolationLevel: c.exactlyOnce ? FetchIsolationLevels.READ_COMMITTED : FetchIsolationLevels.READ_UNCOMMITTED,
      canFetch: (topic, partition) => this.thread?.canFetch(topic, partition) ?? false,
      onFetched: (p, records) => {
        if (records.length > 0) this.thread?.onRecords(p.topic, p.partition, records)
      },
      retry: fetchRetryBudget('fetching input', c.taskTimeoutMs, this.logger),
      onFailed: (err) => {
        void this.fail(err)
      }
    }))
    const consumer = (this.consumer = this.supplier.getConsumer({
      clientId: `${c.clientId}-group`,
      bootstrapBrokers: brokers,
      groupId: c.applicationId,
      autocommit: false,
      sessionTimeout: c.sessionTimeoutMs,
      heartbeatInterval: c.heartbeatIntervalMs,
      rebalanceTimeout: c.rebalanceTimeoutMs,
      protocols: [{ name: 'runnel-tasks', version: 1 }],
      protocolsMetadata: () => this.thread?.memberInfo() ?? Buffer.alloc(0),
      partitionAssigner: createPartitionAssigner(this.plan, (assignment) => {
        this.logger.info({ assignment: Object.fromEntries([...assignment.values()].map((a) => [a.instanceId, a.tasks])) }, 'tasks assigned (leader)')
      })
    }))
    this.tasks = new TaskManager({
      config: c,
      plan: this.plan,
      partitionCounts: layout.partitionCounts,
      admin,
      consumer,
      restoreConsumer: this.restoreConsumer,
      fetchConsumer: this.fetchConsumer,
      fetcher,
      collector,
      producer,
      globalStores: this.global?.stores ?? new Map(),
      logger: this.logger,
      onDeserializationError,
      onState: (state) => this.transition(state),
      signal: this.abort.signal
    })
    this.thread = new StreamThread({
      config: c,
      plan: this.plan,
      consumer,
      tasks: this.tasks,
      fetcher,
      collector,
      metrics: this.metrics,
      logger: this.logger,
      onState: (state) => this.transition(state)
    })
    this.thread.attach()
    if (c.metricsPort > 0) this.metricsServer = await startMetricsServer(this.metrics.registry, c.metricsPort, c.metricsHost)
    const sourceTopics = [...new Set(this.plan.subtopologies.flatMap((s) => s.sourceTopics))]
    if (sourceTopics.length > 0) {
      consumer.topics.trackAll(...sourceTopics)
      await consumer.joinGroup({})
    }
    if (this.abort.signal.aborted) return
    // Not awaited here: the teardown that fail() starts waits for this loop promise to settle.
    this.loop = this.thread.run().catch((err: unknown) => {
      if (!this.abort.signal.aborted) void this.fail(err)
      else this.logger.debug({ err }, 'processing loop stopped during shutdown')
    })
    if (this.statusTopic) {
      this.statusTimer = setInterval(() => {
        void this.publishStatus()
      }, c.statusIntervalMs)
      this.statusTimer.unref()
    }
    this.logger.info({ guarantee: c.processingGuarantee, sourceTopics }, 'instance started')
  }

  private async createProducer(): Promise<ByteProducer> {
    const c = this.config
    const producer = this.supplier.getProducer({
      clientId: `${c.clientId}-producer`,
      bootstrapBrokers: c.bootstrapServers,
      idempotent: true,
      autocreateTopics: false,
      partitioner: compatibilityPartitioner,
      // producerId/epoch -1 make InitProducerId a fresh registration of the transactional id: the
      // client would otherwise send 0/0, which the coordinator rejects as fenced once the id exists.
      ...(c.exactlyOnce ? { transactionalId: `${c.applicationId}-${c.instanceId}`, timeout: c.transactionTimeoutMs, producerId: -1n, producerEpoch: -1 } : {})
    })
    if (c.exactlyOnce) {
      // Initializing the transactional id fences an earlier incarnation and aborts its open transaction.
      const txn = await producer.beginTransaction()
      await txn.cancel()
    }
    return producer
  }

  private async publishStatus(): Promise<void> {
    if (!this.statusProducer || !this.statusTopic) return
    try {
      await this.statusProducer.send({
        messages: [{ topic: this.statusTopic, partition: 0, key: Buffer.from(this.config.instanceId), value: Buffer.from(JSON.stringify(this.status())) }]
      })
    } catch (err) {
      this.logger.debug({ err }, 'status publication failed')
    }
  }

  private transition(next: StreamsState): void {
    const previous = this.current
    if (previous === next) return
    if (!TRANSITIONS[previous].includes(next)) {
      // Late events of the loop (REBALANCING/RUNNING) after shutdown started are ignored.
      return
    }
    this.current = next
    this.logger.info({ from: previous, to: next }, 'state changed')
    try {
      this.listener?.(next, previous)
    } catch (err) {
      this.logger.warn({ err }, 'state listener threw')
    }
    if (next === StreamsStates.RUNNING || next === StreamsStates.ERROR || next === StreamsStates.NOT_RUNNING) void this.publishStatus()
  }

  private async fail(err: unknown): Promise<void> {
    if (this.current === StreamsStates.ERROR || this.current === StreamsStates.NOT_RUNNING) return
    this.failure = err instanceof Error ? err : new Error(String(err))
    this.logger.error({ err }, 'instance failed: stopping (state ERROR)')
    this.transition(StreamsStates.ERROR)
    await this.teardown(false)
  }

  /**
   * Commits, closes tasks (checkpoints), leaves the group and closes every client. Resolves true
   * when done within `timeoutMs` (default 30 s); otherwise clients are closed forcibly and it
   * resolves false.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<boolean> {
    const timeoutMs = options.timeoutMs ?? 30_000
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0)
      throw new RuntimeError('RUNTIME_BAD_OPTION', `close: timeoutMs must be a non-negative number, got ${timeoutMs}`)
    if (this.closing) return this.closing
    if (this.current === StreamsStates.CREATED) {
      this.transition(StreamsStates.PENDING_SHUTDOWN)
      this.transition(StreamsStates.NOT_RUNNING)
      return true
    }
    if (this.current === StreamsStates.ERROR || this.current === StreamsStates.NOT_RUNNING) {
      await this.teardownDone
      return true
    }
    this.transition(StreamsStates.PENDING_SHUTDOWN)
    this.closing = (async () => {
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs)
      })
      const done = await Promise.race([this.teardown(true).then(() => true as const), timedOut])
      clearTimeout(timer)
      if (!done) {
        this.logger.error({ timeoutMs, step: this.teardownStep, stalled: this.status().stalled }, 'close timed out: closing clients forcibly')
        await this.closeClients(true)
      }
      this.transition(StreamsStates.NOT_RUNNING)
      return done
    })()
    return this.closing
  }

  private teardown(clean: boolean): Promise<void> {
    this.teardownDone ??= (async () => {
      this.abort.abort()
      this.thread?.stop()
      if (this.statusTimer) clearInterval(this.statusTimer)
      this.teardownStep = 'stopping the processing loop'
      await this.starting?.catch(() => {})
      await this.loop
      this.teardownStep = 'closing the fetcher'
      await this.fetcher?.close()
      if (this.thread) {
        this.teardownStep = clean ? 'the final commit and closing the tasks' : 'closing the tasks'
        try {
          await this.thread.shutdown(clean && this.failure === undefined)
        } catch (err) {
          this.logger.warn({ err }, 'closing tasks failed')
        }
      }
      this.teardownStep = 'closing the global stores'
      await this.global?.close().catch((err: unknown) => this.logger.warn({ err }, 'closing the global stores failed'))
      this.teardownStep = 'publishing the last status'
      await this.publishStatus()
      this.teardownStep = 'leaving the group and closing the clients'
      await this.closeClients(false)
      await this.metricsServer?.close()
    })()
    return this.teardownDone
  }

  private async closeClients(force: boolean): Promise<void> {
    const close = async (name: string, client: { close(force?: boolean): Promise<void> } | undefined): Promise<void> => {
      if (!client) return
      try {
        await client.close(force)
      } catch (err) {
        this.logger.debug({ err, client: name }, 'client close failed')
      }
    }
    // Leaving the group first lets the other members take the tasks over at once.
    await close('consumer', this.consumer)
    await Promise.all([
      close('producer', this.producer),
      close('status producer', this.statusProducer),
      close('fetch consumer', this.fetchConsumer),
      close('restore consumer', this.restoreConsumer),
      close('global consumer', this.globalConsumer)
    ])
    await close('admin', this.admin as { close(): Promise<void> } | undefined)
  }
}

/**
 * The commerce worker: runs the commerce topology (seed bridge and analytics, one topology) with one
 * `KafkaStreams` instance. Start as many as needed with the same application id (each with its own
 * `INSTANCE_ID` and `STATE_DIR`): they share the tasks.
 *
 * One topology rather than two instances: the bridge and the analytics are separate sub-topologies
 * (they meet only through the typed topics), so they already get their own tasks and scale apart,
 * while one instance means one consumer group, one producer (one transaction under exactly-once),
 * one metrics endpoint and one set of variables. `COMMERCE_BRIDGE=false` leaves the bridge out for
 * deployments whose producers write the typed topics themselves.
 *
 * It creates the input topics (`analytics`, the typed topics; 6 partitions by default),
 * `analytics.dlq` and the typed dead-letter topic (`<APPLICATION_ID>-dlq`, where the runtime also puts
 * records it cannot deserialize), and the three output topics compacted and deleted after their
 * retention (`cleanup.policy=compact,delete`, `retention.ms` 2 days by default). Configured by
 * environment variables (`npm run worker -- commerce --help` lists them).
 */
import type { Logger } from 'pino'
import { KafkaStreams, type ProcessingGuarantee } from '../../runtime/index.ts'
import { DEFAULT_SCHEMA_REGISTRY_URL, SchemaRegistryClient } from '../../schemas/index.ts'
import { ensureTopics, envReader, helpTable, parseBrokers, parseRegistryUrl, untilSignal } from '../cli.ts'
import { resolveCommerceSettings, type CommerceSettings, type CommerceTopics, type ResolvedCommerceSettings } from './config.ts'
import { buildCommerceTopology } from './topology.ts'

/** Options of a commerce worker (what the environment variables set). */
export interface CommerceWorkerOptions extends CommerceSettings {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[]
  /** Schema registry base URL. */
  readonly registryUrl: string
  /** Consumer group and prefix of internal topics. Default `runnel-commerce`. */
  readonly applicationId?: string
  /** Stable instance name. Default `<hostname>-<pid>` (the runtime's). */
  readonly instanceId?: string
  /** Root of the task state folders. Default `./.state`. */
  readonly stateDir?: string
  /** Port of the Prometheus `/metrics` endpoint; undefined: none. */
  readonly metricsPort?: number
  /** How often tasks commit, ms: the latency of output updates. Default 1,000. */
  readonly commitIntervalMs?: number
  readonly processingGuarantee?: ProcessingGuarantee
  /** Record-cache budget of the instance, bytes. Default the runtime's (10 MiB). */
  readonly cacheMaxBytes?: number
  /** Replication factor of the topics the worker and the runtime create. Default 1. */
  readonly replicationFactor?: number
  /** Run the seed bridge (`analytics` -> typed topics). Default true. */
  readonly bridge?: boolean
  /** Logger of the runtime. Default: pino at `$LOG_LEVEL` or `info`. */
  readonly logger?: Logger
}

/** Default application id of the commerce worker. */
export const COMMERCE_APPLICATION_ID = 'runnel-commerce'
/** Default commit interval of the commerce worker, ms. */
export const COMMERCE_COMMIT_INTERVAL_MS = 1_000

/** A started worker. */
export interface RunningCommerceWorker {
  readonly streams: KafkaStreams
  readonly settings: ResolvedCommerceSettings
  /** Commits, closes the tasks and leaves the group. */
  close(): Promise<void>
}

/** Settings of a worker: the typed dead-letter topic defaults to `<application id>-dlq`. */
function workerSettings(options: CommerceWorkerOptions): ResolvedCommerceSettings {
  const typedDeadLetterTopic = options.typedDeadLetterTopic ?? `${options.applicationId ?? COMMERCE_APPLICATION_ID}-dlq`
  return resolveCommerceSettings({ ...options, typedDeadLetterTopic })
}

/**
 * Creates the commerce topics that do not exist: inputs with `inputPartitions`; the dead-letter
 * topics and the outputs with `outputPartitions`, outputs compacted and deleted after `outputRetentionMs`.
 */
export async function ensureCommerceTopics(brokers: readonly string[], settings: ResolvedCommerceSettings, replicationFactor = 1): Promise<void> {
  const { topics } = settings
  const compacted = [{ name: 'cleanup.policy', value: 'compact,delete' }, { name: 'retention.ms', value: String(settings.outputRetentionMs) }]
  await ensureTopics(brokers, [
    ...[topics.analytics, topics.productSold, topics.productRated].map((name) => ({ name, partitions: settings.inputPartitions, configs: [] })),
    ...[topics.analyticsDlq, settings.typedDeadLetterTopic].map((name) => ({ name, partitions: settings.outputPartitions, configs: [] })),
    ...[topics.sales1h, topics.productRatings, topics.categoryRatings].map((name) => ({ name, partitions: settings.outputPartitions, configs: compacted }))
  ], replicationFactor, 'runnel-commerce-admin')
}

/** Creates the topics, builds the topology and starts a `KafkaStreams` instance. */
export async function startCommerceWorker(options: CommerceWorkerOptions): Promise<RunningCommerceWorker> {
  const settings = workerSettings(options)
  const replicationFactor = options.replicationFactor ?? 1
  await ensureCommerceTopics(options.brokers, settings, replicationFactor)
  const registry = new SchemaRegistryClient({ url: options.registryUrl })
  const topology = buildCommerceTopology({ ...options, typedDeadLetterTopic: settings.typedDeadLetterTopic, registry, bridge: options.bridge ?? true })
  const streams = new KafkaStreams(topology, {
    applicationId: options.applicationId ?? COMMERCE_APPLICATION_ID,
    bootstrapServers: options.brokers,
    commitIntervalMs: options.commitIntervalMs ?? COMMERCE_COMMIT_INTERVAL_MS,
    replicationFactor,
    ...(options.instanceId !== undefined ? { instanceId: options.instanceId } : {}),
    ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}),
    ...(options.metricsPort !== undefined ? { metricsPort: options.metricsPort } : {}),
    ...(options.processingGuarantee !== undefined ? { processingGuarantee: options.processingGuarantee } : {}),
    ...(options.cacheMaxBytes !== undefined ? { cacheMaxBytes: options.cacheMaxBytes } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {})
  })
  await streams.start()
  return { streams, settings, close: async () => { await streams.close() } }
}

/** Topic variables and the topic role each one sets. */
const TOPIC_VARIABLES = {
  COMMERCE_ANALYTICS_TOPIC: 'analytics',
  COMMERCE_ANALYTICS_DLQ_TOPIC: 'analyticsDlq',
  COMMERCE_PRODUCT_SOLD_TOPIC: 'productSold',
  COMMERCE_PRODUCT_RATED_TOPIC: 'productRated',
  COMMERCE_SALES_TOPIC: 'sales1h',
  COMMERCE_PRODUCT_RATINGS_TOPIC: 'productRatings',
  COMMERCE_CATEGORY_RATINGS_TOPIC: 'categoryRatings'
} as const satisfies Record<string, keyof CommerceTopics>

/** Environment variables of the worker, with what they set. */
export const COMMERCE_WORKER_ENV = {
  KAFKA_BROKERS: 'bootstrap brokers, comma-separated host:port (default 127.0.0.1:9092)',
  SCHEMA_REGISTRY_URL: `schema registry URL (default ${DEFAULT_SCHEMA_REGISTRY_URL})`,
  STATE_DIR: 'root of the task state folders (default ./.state)',
  INSTANCE_ID: 'stable name of this instance (default <hostname>-<pid>)',
  METRICS_PORT: 'port of the Prometheus /metrics endpoint (default: none)',
  APPLICATION_ID: `consumer group and internal topic prefix (default ${COMMERCE_APPLICATION_ID})`,
  COMMIT_INTERVAL_MS: `commit interval, ms: how often outputs update (default ${COMMERCE_COMMIT_INTERVAL_MS})`,
  PROCESSING_GUARANTEE: 'at_least_once (default) or exactly_once_v2',
  CACHE_MAX_BYTES: 'record-cache budget of the instance, bytes (default 10 MiB)',
  REPLICATION_FACTOR: 'replication factor of created topics (default 1)',
  COMMERCE_BRIDGE: 'run the seed bridge analytics -> typed topics: true (default) or false',
  COMMERCE_ANALYTICS_TOPIC: 'seed JSON input (default analytics)',
  COMMERCE_ANALYTICS_DLQ_TOPIC: 'rejected seed events (default analytics.dlq)',
  COMMERCE_PRODUCT_SOLD_TOPIC: 'typed input (default commerce.product-sold)',
  COMMERCE_PRODUCT_RATED_TOPIC: 'typed input (default commerce.product-rated)',
  COMMERCE_SALES_TOPIC: 'output topic (default commerce.sales.1h)',
  COMMERCE_PRODUCT_RATINGS_TOPIC: 'output topic (default commerce.product-ratings)',
  COMMERCE_CATEGORY_RATINGS_TOPIC: 'output topic (default commerce.category-ratings)',
  COMMERCE_TYPED_DLQ_TOPIC: 'rejected typed events (default <APPLICATION_ID>-dlq)',
  COMMERCE_GRACE_MS: 'grace of the 1-hour sales windows, ms (default 60000)',
  COMMERCE_RETENTION_MS: 'retention.ms of the output topics (default 172800000: 2 days)',
  COMMERCE_STORE_RETENTION_MS: 'retention of the sales window store, ms (default 86400000)',
  COMMERCE_INPUT_PARTITIONS: 'partitions of the input topics when created (default 6)',
  COMMERCE_OUTPUT_PARTITIONS: 'partitions of the output and dead-letter topics when created (default 6)'
} as const

type WorkerVariable = keyof typeof COMMERCE_WORKER_ENV

/** The variable behind each setting, to name it when the setting is bad. */
const SETTING_VARIABLES: Readonly<Record<string, WorkerVariable>> = {
  graceMs: 'COMMERCE_GRACE_MS', outputRetentionMs: 'COMMERCE_RETENTION_MS', storeRetentionMs: 'COMMERCE_STORE_RETENTION_MS',
  inputPartitions: 'COMMERCE_INPUT_PARTITIONS', outputPartitions: 'COMMERCE_OUTPUT_PARTITIONS', typedDeadLetterTopic: 'COMMERCE_TYPED_DLQ_TOPIC',
  ...Object.fromEntries(Object.entries(TOPIC_VARIABLES).map(([variable, role]) => [`topics.${role}`, variable]))
}

/** Reads worker options from the environment; a bad value throws an error naming the variable. */
export function commerceWorkerOptionsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): CommerceWorkerOptions {
  const read = envReader<WorkerVariable>(env)
  const guarantee = read.text('PROCESSING_GUARANTEE')
  if (guarantee !== undefined && guarantee !== 'at_least_once' && guarantee !== 'exactly_once_v2') {
    throw new Error(`PROCESSING_GUARANTEE must be at_least_once or exactly_once_v2, got ${JSON.stringify(guarantee)}`)
  }
  const topics: Partial<Record<keyof CommerceTopics, string>> = {}
  for (const [variable, role] of Object.entries(TOPIC_VARIABLES) as Array<[WorkerVariable, keyof CommerceTopics]>) {
    const value = read.text(variable)
    if (value !== undefined) topics[role] = value
  }
  const options: Record<string, unknown> = {
    brokers: parseBrokers(read.text('KAFKA_BROKERS'), 'KAFKA_BROKERS'),
    registryUrl: parseRegistryUrl(read.text('SCHEMA_REGISTRY_URL'), 'SCHEMA_REGISTRY_URL'),
    topics,
    applicationId: read.text('APPLICATION_ID'),
    instanceId: read.text('INSTANCE_ID'),
    stateDir: read.text('STATE_DIR'),
    metricsPort: read.integer('METRICS_PORT'),
    commitIntervalMs: read.integer('COMMIT_INTERVAL_MS'),
    processingGuarantee: guarantee,
    cacheMaxBytes: read.integer('CACHE_MAX_BYTES'),
    replicationFactor: read.integer('REPLICATION_FACTOR'),
    bridge: read.boolean('COMMERCE_BRIDGE'),
    typedDeadLetterTopic: read.text('COMMERCE_TYPED_DLQ_TOPIC'),
    graceMs: read.integer('COMMERCE_GRACE_MS'),
    outputRetentionMs: read.integer('COMMERCE_RETENTION_MS'),
    storeRetentionMs: read.integer('COMMERCE_STORE_RETENTION_MS'),
    inputPartitions: read.integer('COMMERCE_INPUT_PARTITIONS'),
    outputPartitions: read.integer('COMMERCE_OUTPUT_PARTITIONS')
  }
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key]
  // Settings are checked now, so that a bad variable fails before any connection.
  try {
    workerSettings(options as unknown as CommerceWorkerOptions)
  } catch (err) {
    const option = (err as { option?: string }).option ?? ''
    throw new Error(`${SETTING_VARIABLES[option] ?? option}: ${(err as Error).message}`, { cause: err })
  }
  return options as unknown as CommerceWorkerOptions
}

/** The `--help` text. */
export function commerceWorkerUsage(): string {
  return [
    'npm run worker -- commerce: runs the commerce topology, seed bridge and analytics (several instances may run at once).',
    '',
    'Environment:',
    ...helpTable(COMMERCE_WORKER_ENV),
    ''
  ].join('\n')
}

/** Entry point of `npm run worker -- commerce`: runs until SIGINT/SIGTERM, then closes cleanly. */
export async function main(args: readonly string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(commerceWorkerUsage())
    return
  }
  if (args.length > 0) throw new Error(`unknown argument ${JSON.stringify(args[0])}: the commerce worker is configured by environment variables (see --help)`)
  const worker = await startCommerceWorker(commerceWorkerOptionsFromEnv())
  await untilSignal((stop) => worker.streams.setStateListener((state) => { if (state === 'ERROR') stop() }))
  await worker.close()
  if (worker.streams.error !== undefined) throw worker.streams.error
}

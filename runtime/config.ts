/**
 * The configuration of a `KafkaStreams` instance: one options object, validated at construction
 * with errors naming the option, defaults as Kafka Streams' where they exist. Units are in the names.
 */
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import type { Logger } from 'pino'
import { DEFAULT_DESERIALIZATION_ERROR_POLICY, DeserializationErrorPolicies, type DeserializationErrorPolicy } from '../schemas/index.ts'
import type { KafkaClientSupplier } from './client-supplier.ts'
import { StreamsConfigError } from './errors.ts'

/** Processing guarantees (Kafka Streams' `processing.guarantee`). */
export const ProcessingGuarantees = {
  AT_LEAST_ONCE: 'at_least_once',
  EXACTLY_ONCE_V2: 'exactly_once_v2'
} as const

/** One of `ProcessingGuarantees`. */
export type ProcessingGuarantee = (typeof ProcessingGuarantees)[keyof typeof ProcessingGuarantees]

/** What the user gives `new KafkaStreams(topology, config)`. Only the first two are required. */
export interface StreamsConfig {
  /** Consumer group id, prefix of internal topics and of the state folder. */
  readonly applicationId: string
  /** `host:port` list, or one comma-separated string. */
  readonly bootstrapServers: string | readonly string[]
  /**
   * Stable name of this instance (default `<hostname>-<pid>`). Under exactly-once it is part of the
   * transactional id (`<applicationId>-<instanceId>`): restarting with the same id fences the previous
   * process and aborts its open transaction at once instead of after `transactionTimeoutMs`.
   */
  readonly instanceId?: string
  /** Root of task state folders `<stateDir>/<applicationId>/<task id>` (default `$STATE_DIR` or `./.state`). */
  readonly stateDir?: string
  /** Default `at_least_once`. */
  readonly processingGuarantee?: ProcessingGuarantee
  /** How often tasks commit (default 30,000 ms; 100 ms under exactly-once, as Kafka Streams). */
  readonly commitIntervalMs?: number
  /** Record-cache budget of the instance in bytes, shared by the stores of its tasks (default 10 MiB; 0 disables caching). */
  readonly cacheMaxBytes?: number
  /**
   * How long a task with several input partitions waits for data on an empty one before processing
   * the others out of timestamp order: 0 (default) waits only while that partition has fetched lag,
   * a positive value also waits that long for new data, -1 never waits.
   */
  readonly maxTaskIdleMs?: number
  /** Records buffered per input partition before its fetching pauses (default 1000). */
  readonly maxBufferedRecordsPerPartition?: number
  /** Consumer group session timeout (default 45,000 ms; the broker bounds it). */
  readonly sessionTimeoutMs?: number
  /** Heartbeat interval (default min(3,000, sessionTimeoutMs / 3)). */
  readonly heartbeatIntervalMs?: number
  /** How long the group waits for members to rejoin in a rebalance (default max(sessionTimeoutMs, 30,000)). */
  readonly rebalanceTimeoutMs?: number
  /** Longest wait of one fetch for new data (default 500 ms). */
  readonly fetchMaxWaitMs?: number
  /** Exactly-once: transaction timeout; an instance that dies mid-transaction blocks readers at most this long (default 10,000 ms). */
  readonly transactionTimeoutMs?: number
  /**
   * How long a batch of output may wait for its acknowledgement (the client retries meanwhile) before
   * the send fails (default 120,000 ms, as Kafka's delivery.timeout.ms). A failed send fails the commit.
   */
  readonly deliveryTimeoutMs?: number
  /**
   * How long an offset commit or a transaction commit or abort may take before it fails (default
   * 60,000 ms, as Kafka's default.api.timeout.ms and max.block.ms).
   */
  readonly apiTimeoutMs?: number
  /**
   * How long a task may keep failing on transient broker errors (a leader move during restore) before
   * the error is raised (default 300,000 ms, as Kafka Streams' task.timeout.ms; 0: fail on the first error).
   */
  readonly taskTimeoutMs?: number
  /** Port of the Prometheus `/metrics` endpoint; 0 or undefined: no endpoint. */
  readonly metricsPort?: number
  /** Interface of the `/metrics` endpoint (default 127.0.0.1: this machine only; 0.0.0.0 for every interface). */
  readonly metricsHost?: string
  /** What happens to records that cannot be deserialized (default `log-and-continue`: dead-letter topic `<applicationId>-dlq`). */
  readonly deserializationErrorPolicy?: DeserializationErrorPolicy
  /** How often the instance publishes its status to `<applicationId>-status` (default 5,000 ms; 0: never). */
  readonly statusIntervalMs?: number
  /** Replication factor of the topics the runtime creates: changelogs, repartitions, dead letters, status (default 1). */
  readonly replicationFactor?: number
  /** Prefix of client ids (default `<applicationId>-<instanceId>`). */
  readonly clientId?: string
  /** Creates the Kafka clients (default: @platformatic/kafka clients with the options given). */
  readonly clientSupplier?: KafkaClientSupplier
  /** Wall clock in epoch ms (default `Date.now`): drives commits and wall-clock punctuation. */
  readonly clock?: () => number
  /** Structured logger (default: pino at `$LOG_LEVEL` or `info`). */
  readonly logger?: Logger
}

/** The configuration with every default applied. */
export interface ResolvedConfig {
  readonly applicationId: string
  readonly bootstrapServers: string[]
  readonly instanceId: string
  readonly stateDir: string
  readonly processingGuarantee: ProcessingGuarantee
  readonly exactlyOnce: boolean
  readonly commitIntervalMs: number
  readonly cacheMaxBytes: number
  readonly maxTaskIdleMs: number
  readonly maxBufferedRecordsPerPartition: number
  readonly sessionTimeoutMs: number
  readonly heartbeatIntervalMs: number
  readonly rebalanceTimeoutMs: number
  readonly fetchMaxWaitMs: number
  readonly transactionTimeoutMs: number
  readonly taskTimeoutMs: number
  readonly deliveryTimeoutMs: number
  readonly apiTimeoutMs: number
  readonly metricsPort: number
  readonly metricsHost: string
  readonly deserializationErrorPolicy: DeserializationErrorPolicy
  readonly statusIntervalMs: number
  readonly replicationFactor: number
  readonly clientId: string
  readonly clientSupplier: KafkaClientSupplier | undefined
  readonly clock: () => number
  readonly logger: Logger | undefined
}

const KNOWN_OPTIONS = new Set([
  'applicationId', 'bootstrapServers', 'instanceId', 'stateDir', 'processingGuarantee', 'commitIntervalMs', 'cacheMaxBytes',
  'maxTaskIdleMs', 'maxBufferedRecordsPerPartition', 'sessionTimeoutMs', 'heartbeatIntervalMs', 'rebalanceTimeoutMs',
  'fetchMaxWaitMs', 'transactionTimeoutMs', 'taskTimeoutMs', 'deliveryTimeoutMs', 'apiTimeoutMs', 'metricsPort', 'metricsHost', 'deserializationErrorPolicy', 'statusIntervalMs',
  'replicationFactor', 'clientId', 'clientSupplier', 'clock', 'logger'
])

// Kafka topic names: the application id prefixes internal topics and names the group.
const NAME = /^[A-Za-z0-9._-]{1,200}$/
const BROKER = /^[^\s:,]+:\d{1,5}$/

function integer(config: StreamsConfig, option: keyof StreamsConfig, min: number, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = config[option]
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`
    throw new StreamsConfigError(option, `must be an integer ${range}, got ${JSON.stringify(value)}`)
  }
  return value
}

/** Validates `config` and applies defaults. Throws `StreamsConfigError` naming the first bad option. */
export function resolveConfig(config: StreamsConfig): ResolvedConfig {
  if (config === null || typeof config !== 'object') throw new StreamsConfigError('config', 'must be an object')
  for (const key of Object.keys(config)) {
    if (!KNOWN_OPTIONS.has(key)) throw new StreamsConfigError(key, `is not a known option (known: ${[...KNOWN_OPTIONS].join(', ')})`)
  }
  const { applicationId } = config
  if (typeof applicationId !== 'string' || !NAME.test(applicationId)) {
    throw new StreamsConfigError('applicationId', `must be 1-200 characters of [A-Za-z0-9._-], got ${JSON.stringify(applicationId)}`)
  }
  const rawBrokers = config.bootstrapServers
  const brokers = typeof rawBrokers === 'string'
    ? rawBrokers.split(',').map((b) => b.trim()).filter((b) => b !== '')
    : Array.isArray(rawBrokers) ? [...(rawBrokers as unknown[])] : undefined
  if (brokers === undefined || brokers.length === 0 || !brokers.every((b) => typeof b === 'string' && BROKER.test(b))) {
    throw new StreamsConfigError('bootstrapServers', `must be a non-empty list of host:port, got ${JSON.stringify(rawBrokers)}`)
  }
  const instanceId = config.instanceId ?? `${hostname()}-${process.pid}`
  if (typeof instanceId !== 'string' || !NAME.test(instanceId)) {
    throw new StreamsConfigError('instanceId', `must be 1-200 characters of [A-Za-z0-9._-], got ${JSON.stringify(config.instanceId)}`)
  }
  const stateDir = config.stateDir ?? process.env.STATE_DIR ?? './.state'
  if (typeof stateDir !== 'string' || stateDir.trim() === '') throw new StreamsConfigError('stateDir', `must be a non-empty path, got ${JSON.stringify(config.stateDir)}`)
  const guarantee = config.processingGuarantee ?? ProcessingGuarantees.AT_LEAST_ONCE
  const guarantees = Object.values(ProcessingGuarantees) as string[]
  if (!guarantees.includes(guarantee)) {
    throw new StreamsConfigError('processingGuarantee', `must be one of ${guarantees.map((g) => `'${g}'`).join(', ')}, got ${JSON.stringify(guarantee)}`)
  }
  const exactlyOnce = guarantee === ProcessingGuarantees.EXACTLY_ONCE_V2
  const policies = Object.values(DeserializationErrorPolicies) as string[]
  const policy = config.deserializationErrorPolicy ?? DEFAULT_DESERIALIZATION_ERROR_POLICY
  if (!policies.includes(policy)) {
    throw new StreamsConfigError('deserializationErrorPolicy', `must be one of ${policies.map((p) => `'${p}'`).join(', ')}, got ${JSON.stringify(policy)}`)
  }
  const sessionTimeoutMs = integer(config, 'sessionTimeoutMs', 1, 45_000)
  const heartbeatIntervalMs = integer(config, 'heartbeatIntervalMs', 1, Math.max(1, Math.min(3_000, Math.floor(sessionTimeoutMs / 3))))
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new StreamsConfigError('heartbeatIntervalMs', `must be lower than sessionTimeoutMs (${sessionTimeoutMs}), got ${heartbeatIntervalMs}`)
  }
  const rebalanceTimeoutMs = integer(config, 'rebalanceTimeoutMs', 1, Math.max(sessionTimeoutMs, 30_000))
  if (rebalanceTimeoutMs < sessionTimeoutMs) {
    throw new StreamsConfigError('rebalanceTimeoutMs', `must be at least sessionTimeoutMs (${sessionTimeoutMs}), got ${rebalanceTimeoutMs}`)
  }
  const maxTaskIdleMs = integer(config, 'maxTaskIdleMs', -1, 0)
  const clock = config.clock ?? Date.now
  if (typeof clock !== 'function') throw new StreamsConfigError('clock', 'must be a function returning epoch milliseconds')
  const supplier = config.clientSupplier
  if (supplier !== undefined && (typeof supplier !== 'object' || supplier === null ||
    typeof supplier.getAdmin !== 'function' || typeof supplier.getConsumer !== 'function' ||
    typeof supplier.getProducer !== 'function' || typeof supplier.getRestoreConsumer !== 'function')) {
    throw new StreamsConfigError('clientSupplier', 'must implement getAdmin, getConsumer, getProducer and getRestoreConsumer')
  }
  const logger = config.logger
  if (logger !== undefined && (typeof logger !== 'object' || logger === null || typeof logger.child !== 'function')) {
    throw new StreamsConfigError('logger', 'must be a pino logger')
  }
  const metricsHost = config.metricsHost ?? '127.0.0.1'
  if (typeof metricsHost !== 'string' || metricsHost.trim() === '') {
    throw new StreamsConfigError('metricsHost', `must be a non-empty host name or address, got ${JSON.stringify(config.metricsHost)}`)
  }
  const clientId = config.clientId ?? `${applicationId}-${instanceId}`
  if (typeof clientId !== 'string' || clientId === '') throw new StreamsConfigError('clientId', `must be a non-empty string, got ${JSON.stringify(config.clientId)}`)
  return {
    applicationId,
    bootstrapServers: brokers as string[],
    instanceId,
    stateDir: resolve(stateDir),
    processingGuarantee: guarantee as ProcessingGuarantee,
    exactlyOnce,
    commitIntervalMs: integer(config, 'commitIntervalMs', 0, exactlyOnce ? 100 : 30_000),
    cacheMaxBytes: integer(config, 'cacheMaxBytes', 0, 10 * 1024 * 1024),
    maxTaskIdleMs,
    maxBufferedRecordsPerPartition: integer(config, 'maxBufferedRecordsPerPartition', 1, 1000),
    sessionTimeoutMs,
    heartbeatIntervalMs,
    rebalanceTimeoutMs,
    fetchMaxWaitMs: integer(config, 'fetchMaxWaitMs', 0, 500, 60_000),
    transactionTimeoutMs: integer(config, 'transactionTimeoutMs', 1_000, 10_000),
    taskTimeoutMs: integer(config, 'taskTimeoutMs', 0, 300_000),
    deliveryTimeoutMs: integer(config, 'deliveryTimeoutMs', 1_000, 120_000),
    apiTimeoutMs: integer(config, 'apiTimeoutMs', 1_000, 60_000),
    metricsPort: integer(config, 'metricsPort', 0, 0, 65_535),
    metricsHost,
    deserializationErrorPolicy: policy as DeserializationErrorPolicy,
    statusIntervalMs: integer(config, 'statusIntervalMs', 0, 5_000),
    replicationFactor: integer(config, 'replicationFactor', 1, 1, 32),
    clientId,
    clientSupplier: supplier,
    clock,
    logger
  }
}

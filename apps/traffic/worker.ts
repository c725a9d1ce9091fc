/**
 * The traffic worker: runs the traffic topology with `KafkaStreams`. Start as many as needed with the
 * same application id (each with its own `INSTANCE_ID` and `STATE_DIR`): they share the tasks.
 *
 * It creates `traffic.observations` when missing (6 partitions by default) and the three output
 * topics compacted and deleted after their retention (`cleanup.policy=compact,delete`,
 * `retention.ms` 7 days by default), then starts the topology. Configured by environment variables
 * (`npm run worker -- traffic --help` lists them).
 */
import { Admin } from '@platformatic/kafka'
import type { Logger } from 'pino'
import { KafkaStreams, type ProcessingGuarantee } from '../../runtime/index.ts'
import { DEFAULT_SCHEMA_REGISTRY_URL, SchemaRegistryClient } from '../../schemas/index.ts'
import { resolveTrafficSettings, type ResolvedTrafficSettings, type TrafficSettings, type TrafficTopics } from './config.ts'
import { buildTrafficTopology } from './topology.ts'

/** Options of a traffic worker (what the environment variables set). */
export interface TrafficWorkerOptions extends TrafficSettings {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[]
  /** Schema registry base URL. */
  readonly registryUrl: string
  /** Consumer group and prefix of internal topics. Default `runnel-traffic`. */
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
  /** Logger of the runtime. Default: pino at `$LOG_LEVEL` or `info`. */
  readonly logger?: Logger
}

/** Default application id of the traffic worker. */
export const TRAFFIC_APPLICATION_ID = 'runnel-traffic'
/** Default commit interval of the traffic worker, ms. */
export const TRAFFIC_COMMIT_INTERVAL_MS = 1_000

/** A started worker. */
export interface RunningTrafficWorker {
  readonly streams: KafkaStreams
  readonly settings: ResolvedTrafficSettings
  /** Commits, closes the tasks and leaves the group. */
  close(): Promise<void>
}

/**
 * Creates the traffic topics that do not exist: the input with `inputPartitions`, the outputs
 * compacted and deleted after `outputRetentionMs`. Existing topics are left as they are (a
 * concurrent creation by another worker is fine). Waits until every partition has a leader.
 */
export async function ensureTrafficTopics(brokers: readonly string[], settings: ResolvedTrafficSettings, replicationFactor = 1): Promise<void> {
  const admin = new Admin({ clientId: 'runnel-traffic-admin', bootstrapBrokers: [...brokers] })
  const outputConfigs = [
    { name: 'cleanup.policy', value: 'compact,delete' },
    { name: 'retention.ms', value: String(settings.outputRetentionMs) }
  ]
  const { topics } = settings
  const wanted: Array<{ name: string; partitions: number; configs: Array<{ name: string; value: string }> }> = [
    { name: topics.observations, partitions: settings.inputPartitions, configs: [] },
    ...[topics.stats1m, topics.stats5m, topics.sessions].map((name) => ({ name, partitions: settings.outputPartitions, configs: outputConfigs }))
  ]
  try {
    const existing = new Set(await admin.listTopics())
    for (const topic of wanted) {
      if (existing.has(topic.name)) continue
      try {
        await admin.createTopics({ topics: [topic.name], partitions: topic.partitions, replicas: replicationFactor, configs: topic.configs })
      } catch (err) {
        if (!mentions(err, 'TOPIC_ALREADY_EXISTS')) throw new Error(`cannot create topic ${topic.name}: ${(err as Error).message}`, { cause: err })
      }
    }
    const names = wanted.map((t) => t.name)
    const deadline = Date.now() + 30_000
    for (;;) {
      const metadata = await admin.metadata({ topics: names, forceUpdate: true })
      if (names.every((n) => metadata.topics.get(n)?.partitions.every((p) => p.leader >= 0) === true)) return
      if (Date.now() > deadline) throw new Error(`topics ${names.join(', ')} have no leaders after 30 s`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  } finally {
    await admin.close()
  }
}

function mentions(err: unknown, apiId: string): boolean {
  if (err === null || typeof err !== 'object') return false
  if ((err as { apiId?: string }).apiId === apiId) return true
  const nested = (err as { errors?: unknown[] }).errors
  return Array.isArray(nested) && nested.some((e) => mentions(e, apiId))
}

/** Creates the topics, builds the topology and starts a `KafkaStreams` instance. */
export async function startTrafficWorker(options: TrafficWorkerOptions): Promise<RunningTrafficWorker> {
  const settings = resolveTrafficSettings(options)
  const replicationFactor = options.replicationFactor ?? 1
  await ensureTrafficTopics(options.brokers, settings, replicationFactor)
  const registry = new SchemaRegistryClient({ url: options.registryUrl })
  const topology = buildTrafficTopology({ ...options, registry })
  const streams = new KafkaStreams(topology, {
    applicationId: options.applicationId ?? TRAFFIC_APPLICATION_ID,
    bootstrapServers: options.brokers,
    commitIntervalMs: options.commitIntervalMs ?? TRAFFIC_COMMIT_INTERVAL_MS,
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

/** Environment variables of the worker, with what they set. */
export const TRAFFIC_WORKER_ENV = {
  KAFKA_BROKERS: 'bootstrap brokers, comma-separated host:port (default 127.0.0.1:9092)',
  SCHEMA_REGISTRY_URL: `schema registry URL (default ${DEFAULT_SCHEMA_REGISTRY_URL})`,
  STATE_DIR: 'root of the task state folders (default ./.state)',
  INSTANCE_ID: 'stable name of this instance (default <hostname>-<pid>)',
  METRICS_PORT: 'port of the Prometheus /metrics endpoint (default: none)',
  APPLICATION_ID: `consumer group and internal topic prefix (default ${TRAFFIC_APPLICATION_ID})`,
  COMMIT_INTERVAL_MS: `commit interval, ms: how often outputs update (default ${TRAFFIC_COMMIT_INTERVAL_MS})`,
  PROCESSING_GUARANTEE: 'at_least_once (default) or exactly_once_v2',
  CACHE_MAX_BYTES: 'record-cache budget of the instance, bytes (default 10 MiB)',
  REPLICATION_FACTOR: 'replication factor of created topics (default 1)',
  TRAFFIC_OBSERVATIONS_TOPIC: 'input topic (default traffic.observations)',
  TRAFFIC_STATS_1M_TOPIC: 'output topic (default traffic.stats.1m)',
  TRAFFIC_STATS_5M_TOPIC: 'output topic (default traffic.stats.5m)',
  TRAFFIC_SESSIONS_TOPIC: 'output topic (default traffic.traveler-sessions)',
  TRAFFIC_GRACE_MS: 'grace of the 1-minute and 5-minute windows, ms (default 30000)',
  TRAFFIC_SESSION_GRACE_MS: 'grace of sessions, ms (default 30000)',
  TRAFFIC_RETENTION_MS: 'retention.ms of the output topics (default 604800000: 7 days)',
  TRAFFIC_STORE_RETENTION_MS: 'retention of window and session stores, ms (default 86400000)',
  TRAFFIC_INPUT_PARTITIONS: 'partitions of the input topic when created (default 6)',
  TRAFFIC_OUTPUT_PARTITIONS: 'partitions of each output topic when created (default 6)'
} as const

/** Reads worker options from the environment; a bad value throws an error naming the variable. */
export function trafficWorkerOptionsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): TrafficWorkerOptions {
  const text = (name: keyof typeof TRAFFIC_WORKER_ENV): string | undefined => {
    const value = env[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }
  const integer = (name: keyof typeof TRAFFIC_WORKER_ENV): number | undefined => {
    const value = text(name)
    if (value === undefined) return undefined
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`)
    return Number(value)
  }
  const brokers = (text('KAFKA_BROKERS') ?? '127.0.0.1:9092').split(',').map((b) => b.trim()).filter((b) => b !== '')
  if (brokers.length === 0 || !brokers.every((b) => /^[^\s:]+:\d{1,5}$/.test(b))) {
    throw new Error(`KAFKA_BROKERS must be comma-separated host:port, got ${JSON.stringify(env.KAFKA_BROKERS)}`)
  }
  const registryUrl = text('SCHEMA_REGISTRY_URL') ?? DEFAULT_SCHEMA_REGISTRY_URL
  if (!/^https?:\/\/./.test(registryUrl)) throw new Error(`SCHEMA_REGISTRY_URL must be an http(s) URL, got ${JSON.stringify(registryUrl)}`)
  const guarantee = text('PROCESSING_GUARANTEE')
  if (guarantee !== undefined && guarantee !== 'at_least_once' && guarantee !== 'exactly_once_v2') {
    throw new Error(`PROCESSING_GUARANTEE must be at_least_once or exactly_once_v2, got ${JSON.stringify(guarantee)}`)
  }
  const topics: Partial<Record<keyof TrafficTopics, string>> = {}
  const topicVars = {
    observations: 'TRAFFIC_OBSERVATIONS_TOPIC', stats1m: 'TRAFFIC_STATS_1M_TOPIC', stats5m: 'TRAFFIC_STATS_5M_TOPIC', sessions: 'TRAFFIC_SESSIONS_TOPIC'
  } as const
  for (const [role, name] of Object.entries(topicVars) as Array<[keyof TrafficTopics, keyof typeof TRAFFIC_WORKER_ENV]>) {
    const value = text(name)
    if (value !== undefined) topics[role] = value
  }
  const options: Record<string, unknown> = {
    brokers,
    registryUrl,
    topics,
    applicationId: text('APPLICATION_ID'),
    instanceId: text('INSTANCE_ID'),
    stateDir: text('STATE_DIR'),
    metricsPort: integer('METRICS_PORT'),
    commitIntervalMs: integer('COMMIT_INTERVAL_MS'),
    processingGuarantee: guarantee,
    cacheMaxBytes: integer('CACHE_MAX_BYTES'),
    replicationFactor: integer('REPLICATION_FACTOR'),
    graceMs: integer('TRAFFIC_GRACE_MS'),
    sessionGraceMs: integer('TRAFFIC_SESSION_GRACE_MS'),
    outputRetentionMs: integer('TRAFFIC_RETENTION_MS'),
    storeRetentionMs: integer('TRAFFIC_STORE_RETENTION_MS'),
    inputPartitions: integer('TRAFFIC_INPUT_PARTITIONS'),
    outputPartitions: integer('TRAFFIC_OUTPUT_PARTITIONS')
  }
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key]
  // Settings are checked now, so that a bad variable fails before any connection.
  try {
    resolveTrafficSettings(options as TrafficSettings)
  } catch (err) {
    const option = (err as { option?: string }).option ?? ''
    const variable = Object.entries({
      graceMs: 'TRAFFIC_GRACE_MS', sessionGraceMs: 'TRAFFIC_SESSION_GRACE_MS', outputRetentionMs: 'TRAFFIC_RETENTION_MS',
      storeRetentionMs: 'TRAFFIC_STORE_RETENTION_MS', inputPartitions: 'TRAFFIC_INPUT_PARTITIONS', outputPartitions: 'TRAFFIC_OUTPUT_PARTITIONS',
      'topics.observations': 'TRAFFIC_OBSERVATIONS_TOPIC', 'topics.stats1m': 'TRAFFIC_STATS_1M_TOPIC', 'topics.stats5m': 'TRAFFIC_STATS_5M_TOPIC',
      'topics.sessions': 'TRAFFIC_SESSIONS_TOPIC'
    }).find(([opt]) => opt === option)?.[1]
    throw new Error(`${variable ?? option}: ${(err as Error).message}`, { cause: err })
  }
  return options as unknown as TrafficWorkerOptions
}

function usage(): string {
  const width = Math.max(...Object.keys(TRAFFIC_WORKER_ENV).map((k) => k.length))
  return [
    'npm run worker -- traffic: runs the traffic topology (several instances may run at once).',
    '',
    'Environment:',
    ...Object.entries(TRAFFIC_WORKER_ENV).map(([name, what]) => `  ${name.padEnd(width)}  ${what}`),
    ''
  ].join('\n')
}

/** Entry point of `npm run worker -- traffic`: runs until SIGINT/SIGTERM, then closes cleanly. */
export async function main(args: readonly string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(usage())
    return
  }
  if (args.length > 0) throw new Error(`unknown argument ${JSON.stringify(args[0])}: the traffic worker is configured by environment variables (see --help)`)
  const worker = await startTrafficWorker(trafficWorkerOptionsFromEnv())
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    worker.streams.setStateListener((state) => { if (state === 'ERROR') stop() })
  })
  await worker.close()
  if (worker.streams.error !== undefined) throw worker.streams.error
}

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
import { SchemaRegistryClient } from '../../schemas/index.ts'
import {
  appWorkerOptionsFromEnv,
  ensureTopics,
  settingsHelp,
  settingVariables,
  startStreams,
  streamsWorkerEnv,
  workerMain,
  workerUsage,
  type AppVariables,
  type Environment,
  type RunningWorker,
  type StreamsWorkerOptions
} from '../shared/index.ts'
import { commerceSettingsSchema, resolveCommerceSettings, type CommerceSettings, type ResolvedCommerceSettings } from './config.ts'
import { buildCommerceTopology } from './topology.ts'

/** Options of a commerce worker (what the environment variables set). */
export interface CommerceWorkerOptions extends CommerceSettings, StreamsWorkerOptions {
  /** Run the seed bridge (`analytics` -> typed topics). Default true. */
  readonly bridge?: boolean
}

/** Default application id of the commerce worker. */
export const COMMERCE_APPLICATION_ID = 'runnel-commerce'
/** Default commit interval of the commerce worker, ms. */
export const COMMERCE_COMMIT_INTERVAL_MS = 1_000

const DEFAULTS = { applicationId: COMMERCE_APPLICATION_ID, commitIntervalMs: COMMERCE_COMMIT_INTERVAL_MS }

/** A started worker. */
export interface RunningCommerceWorker extends RunningWorker {
  readonly settings: ResolvedCommerceSettings
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
  const compacted = [
    { name: 'cleanup.policy', value: 'compact,delete' },
    { name: 'retention.ms', value: String(settings.outputRetentionMs) }
  ]
  await ensureTopics(
    brokers,
    [
      ...[topics.analytics, topics.productSold, topics.productRated].map((name) => ({ name, partitions: settings.inputPartitions, configs: [] })),
      ...[topics.analyticsDlq, settings.typedDeadLetterTopic].map((name) => ({ name, partitions: settings.outputPartitions, configs: [] })),
      ...[topics.sales1h, topics.productRatings, topics.categoryRatings].map((name) => ({ name, partitions: settings.outputPartitions, configs: compacted }))
    ],
    replicationFactor,
    'runnel-commerce-admin'
  )
}

/** Creates the topics, builds the topology and starts a `KafkaStreams` instance. */
export async function startCommerceWorker(options: CommerceWorkerOptions): Promise<RunningCommerceWorker> {
  const settings = workerSettings(options)
  await ensureCommerceTopics(options.brokers, settings, options.replicationFactor ?? 1)
  const registry = new SchemaRegistryClient({ url: options.registryUrl, ...(options.registryAuth === undefined ? {} : { auth: options.registryAuth }) })
  const topology = buildCommerceTopology({ ...options, typedDeadLetterTopic: settings.typedDeadLetterTopic, registry, bridge: options.bridge ?? true })
  return { ...(await startStreams(topology, options, DEFAULTS)), settings }
}

/** Environment variables of the worker, with what they set (the settings' rows come from their schema). */
export const COMMERCE_WORKER_ENV = {
  ...streamsWorkerEnv(DEFAULTS),
  COMMERCE_BRIDGE: 'run the seed bridge analytics -> typed topics: true (default) or false',
  ...settingsHelp(commerceSettingsSchema)
}

/** The variable of each setting, and of the worker's `bridge`. */
const SETTING_VARIABLES: AppVariables = { ...settingVariables(commerceSettingsSchema), booleans: { bridge: 'COMMERCE_BRIDGE' } }

/** Reads worker options from the environment; a bad value throws an error naming the variable. */
export function commerceWorkerOptionsFromEnv(env: Environment = process.env): CommerceWorkerOptions {
  return appWorkerOptionsFromEnv<CommerceWorkerOptions>(env, SETTING_VARIABLES, workerSettings)
}

/** The `--help` text. */
export function commerceWorkerUsage(): string {
  return workerUsage(
    'npm run worker -- commerce: runs the commerce topology, seed bridge and analytics (several instances may run at once).',
    COMMERCE_WORKER_ENV
  )
}

/** Entry point of `npm run worker -- commerce`: runs until SIGINT/SIGTERM, then closes cleanly. */
export async function main(args: readonly string[]): Promise<void> {
  await workerMain(args, { app: 'commerce', usage: commerceWorkerUsage, start: () => startCommerceWorker(commerceWorkerOptionsFromEnv()) })
}

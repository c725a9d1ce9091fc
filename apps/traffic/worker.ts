/**
 * The traffic worker: runs the traffic topology with `KafkaStreams`. Start as many as needed with the
 * same application id (each with its own `INSTANCE_ID` and `STATE_DIR`): they share the tasks.
 *
 * It creates `traffic.observations` when missing (6 partitions by default) and the three output
 * topics compacted and deleted after their retention (`cleanup.policy=compact,delete`,
 * `retention.ms` 7 days by default), then starts the topology. Configured by environment variables
 * (`npm run worker -- traffic --help` lists them).
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
import { resolveTrafficSettings, trafficSettingsSchema, type ResolvedTrafficSettings, type TrafficSettings } from './config.ts'
import { buildTrafficTopology } from './topology.ts'

/** Options of a traffic worker (what the environment variables set). */
export interface TrafficWorkerOptions extends TrafficSettings, StreamsWorkerOptions {}

/** Default application id of the traffic worker. */
export const TRAFFIC_APPLICATION_ID = 'runnel-traffic'
/** Default commit interval of the traffic worker, ms. */
export const TRAFFIC_COMMIT_INTERVAL_MS = 1_000

const DEFAULTS = { applicationId: TRAFFIC_APPLICATION_ID, commitIntervalMs: TRAFFIC_COMMIT_INTERVAL_MS }

/** A started worker. */
export interface RunningTrafficWorker extends RunningWorker {
  readonly settings: ResolvedTrafficSettings
}

/**
 * Creates the traffic topics that do not exist: the input with `inputPartitions`, the outputs
 * compacted and deleted after `outputRetentionMs`. Existing topics are left as they are (a
 * concurrent creation by another worker is fine). Waits until every partition has a leader.
 */
export async function ensureTrafficTopics(brokers: readonly string[], settings: ResolvedTrafficSettings, replicationFactor = 1): Promise<void> {
  const { topics } = settings
  const compacted = [
    { name: 'cleanup.policy', value: 'compact,delete' },
    { name: 'retention.ms', value: String(settings.outputRetentionMs) }
  ]
  await ensureTopics(
    brokers,
    [
      { name: topics.observations, partitions: settings.inputPartitions, configs: [] },
      ...[topics.stats1m, topics.stats5m, topics.sessions].map((name) => ({ name, partitions: settings.outputPartitions, configs: compacted }))
    ],
    replicationFactor,
    'runnel-traffic-admin'
  )
}

/** Creates the topics, builds the topology and starts a `KafkaStreams` instance. */
export async function startTrafficWorker(options: TrafficWorkerOptions): Promise<RunningTrafficWorker> {
  const settings = resolveTrafficSettings(options)
  await ensureTrafficTopics(options.brokers, settings, options.replicationFactor ?? 1)
  const topology = buildTrafficTopology({
    ...options,
    registry: new SchemaRegistryClient({ url: options.registryUrl, ...(options.registryAuth === undefined ? {} : { auth: options.registryAuth }) })
  })
  return { ...(await startStreams(topology, options, DEFAULTS)), settings }
}

/** Environment variables of the worker, with what they set (the settings' rows come from their schema). */
export const TRAFFIC_WORKER_ENV = { ...streamsWorkerEnv(DEFAULTS), ...settingsHelp(trafficSettingsSchema) }

/** The variable of each setting. */
const SETTING_VARIABLES: AppVariables = settingVariables(trafficSettingsSchema)

/** Reads worker options from the environment; a bad value throws an error naming the variable. */
export function trafficWorkerOptionsFromEnv(env: Environment = process.env): TrafficWorkerOptions {
  return appWorkerOptionsFromEnv<TrafficWorkerOptions>(env, SETTING_VARIABLES, resolveTrafficSettings)
}

/** Entry point of `npm run worker -- traffic`: runs until SIGINT/SIGTERM, then closes cleanly. */
export async function main(args: readonly string[]): Promise<void> {
  await workerMain(args, {
    app: 'traffic',
    usage: () => workerUsage('npm run worker -- traffic: runs the traffic topology (several instances may run at once).', TRAFFIC_WORKER_ENV),
    start: () => startTrafficWorker(trafficWorkerOptionsFromEnv())
  })
}

/**
 * What the apps' workers share: the options every worker has besides its app's settings (cluster,
 * instance, commits, guarantee, cache), the environment variables that set them, the `KafkaStreams`
 * configuration made of them, and the `main` of `npm run worker -- <app>` (run until SIGINT/SIGTERM
 * or ERROR, then close cleanly).
 */
import type { Logger } from 'pino'
import { KafkaStreams, LogLevels, type LogLevel, type ProcessingGuarantee, type StreamsConfig } from '../../runtime/index.ts'
import type { Topology } from '../../topology/index.ts'
import { DEFAULT_SCHEMA_REGISTRY_URL, schemaRegistryAuthFromEnv, type SchemaRegistryAuth } from '../../schemas/index.ts'
import { envReader, helpTable, parseBrokers, parseRegistryUrl, untilSignal, withoutUndefined, type Environment, type EnvReader } from './cli.ts'
import { AppConfigError } from './settings.ts'

/** Options of any app's worker that are not the app's settings (what the common variables set). */
export interface StreamsWorkerOptions {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[]
  /** Schema registry base URL. */
  readonly registryUrl: string
  /** Credentials the registry client sends (basic auth or a bearer token); none by default. */
  readonly registryAuth?: SchemaRegistryAuth
  /** Consumer group and prefix of internal topics. Default the app's (`runnel-<app>`). */
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
  /** Level of the runtime's default logger (`LOG_LEVEL`). Default the runtime's (`info`). */
  readonly logLevel?: LogLevel
  /** Logger of the runtime. Default: pino at `logLevel`. */
  readonly logger?: Logger
  /**
   * Further runtime settings the variables do not reach (tests: short session timeouts); the
   * options above win over them.
   */
  readonly streams?: Omit<StreamsConfig, 'applicationId' | 'bootstrapServers'>
}

/** What a worker defaults to when its options leave it open. */
export interface WorkerDefaults {
  readonly applicationId: string
  /** Commit interval, ms (the runtime's own default is 30 s). */
  readonly commitIntervalMs: number
}

/** A started worker of some app. */
export interface RunningWorker {
  readonly streams: KafkaStreams
  /**
   * Commits, closes the tasks and leaves the group. Resolves false when that did not finish within
   * the runtime's close timeout (clients were then closed forcibly).
   */
  close(): Promise<boolean>
}

/** The `KafkaStreams` configuration of a worker. */
export function streamsConfigOf(options: StreamsWorkerOptions, defaults: WorkerDefaults): StreamsConfig {
  return {
    ...options.streams,
    applicationId: options.applicationId ?? defaults.applicationId,
    bootstrapServers: options.brokers,
    commitIntervalMs: options.commitIntervalMs ?? defaults.commitIntervalMs,
    replicationFactor: options.replicationFactor ?? 1,
    ...withoutUndefined({
      instanceId: options.instanceId,
      stateDir: options.stateDir,
      metricsPort: options.metricsPort,
      processingGuarantee: options.processingGuarantee,
      cacheMaxBytes: options.cacheMaxBytes,
      logLevel: options.logLevel,
      logger: options.logger
    })
  }
}

/** Starts `KafkaStreams` on `topology` with the worker's configuration. */
export async function startStreams(topology: Topology, options: StreamsWorkerOptions, defaults: WorkerDefaults): Promise<RunningWorker> {
  const streams = new KafkaStreams(topology, streamsConfigOf(options, defaults))
  await streams.start()
  return { streams, close: () => streams.close() }
}

/** The variables every worker reads (`streamsOptionsFromEnv`). */
export type StreamsWorkerVariable =
  | 'KAFKA_BROKERS'
  | 'SCHEMA_REGISTRY_URL'
  | 'STATE_DIR'
  | 'INSTANCE_ID'
  | 'METRICS_PORT'
  | 'APPLICATION_ID'
  | 'COMMIT_INTERVAL_MS'
  | 'PROCESSING_GUARANTEE'
  | 'CACHE_MAX_BYTES'
  | 'REPLICATION_FACTOR'
  | 'SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO'
  | 'SCHEMA_REGISTRY_BEARER_AUTH_TOKEN'
  | 'LOG_LEVEL'

/** The common variables with what they set (the first rows of a worker's `--help`). */
export function streamsWorkerEnv(defaults: WorkerDefaults): Record<StreamsWorkerVariable, string> {
  return {
    KAFKA_BROKERS: 'bootstrap brokers, comma-separated host:port (default 127.0.0.1:9092)',
    SCHEMA_REGISTRY_URL: `schema registry URL (default ${DEFAULT_SCHEMA_REGISTRY_URL})`,
    SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: 'user:password the registry client sends with basic auth (default: none)',
    SCHEMA_REGISTRY_BEARER_AUTH_TOKEN: 'bearer token the registry client sends instead (default: none)',
    STATE_DIR: 'root of the task state folders (default ./.state)',
    INSTANCE_ID: 'stable name of this instance (default <hostname>-<pid>)',
    METRICS_PORT: 'port of the Prometheus /metrics endpoint (default: none)',
    APPLICATION_ID: `consumer group and internal topic prefix (default ${defaults.applicationId})`,
    COMMIT_INTERVAL_MS: `commit interval, ms: how often outputs update (default ${defaults.commitIntervalMs})`,
    PROCESSING_GUARANTEE: 'at_least_once (default) or exactly_once_v2',
    CACHE_MAX_BYTES: 'record-cache budget of the instance, bytes (default 10 MiB)',
    REPLICATION_FACTOR: 'replication factor of created topics (default 1)',
    LOG_LEVEL: `level of the runtime's log: ${LogLevels.join(', ')} (default info)`
  }
}

/** Reads the common worker options from the environment; a bad value throws an error naming the variable. */
export function streamsOptionsFromEnv(env: Environment): StreamsWorkerOptions {
  const read = envReader<StreamsWorkerVariable>(env)
  const guarantee = read.text('PROCESSING_GUARANTEE')
  if (guarantee !== undefined && guarantee !== 'at_least_once' && guarantee !== 'exactly_once_v2') {
    throw new Error(`PROCESSING_GUARANTEE must be at_least_once or exactly_once_v2, got ${JSON.stringify(guarantee)}`)
  }
  const logLevel = read.text('LOG_LEVEL')
  if (logLevel !== undefined && !(LogLevels as readonly string[]).includes(logLevel)) {
    throw new Error(`LOG_LEVEL must be one of ${LogLevels.join(', ')}, got ${JSON.stringify(logLevel)}`)
  }
  // Throws naming the variable when both are set or the user info has no colon.
  const registryAuth = schemaRegistryAuthFromEnv(env)
  return {
    brokers: parseBrokers(read.text('KAFKA_BROKERS'), 'KAFKA_BROKERS'),
    registryUrl: parseRegistryUrl(read.text('SCHEMA_REGISTRY_URL'), 'SCHEMA_REGISTRY_URL'),
    ...withoutUndefined({
      registryAuth,
      applicationId: read.text('APPLICATION_ID'),
      instanceId: read.text('INSTANCE_ID'),
      stateDir: read.text('STATE_DIR'),
      metricsPort: read.integer('METRICS_PORT'),
      commitIntervalMs: read.integer('COMMIT_INTERVAL_MS'),
      processingGuarantee: guarantee as ProcessingGuarantee | undefined,
      cacheMaxBytes: read.integer('CACHE_MAX_BYTES'),
      replicationFactor: read.integer('REPLICATION_FACTOR'),
      logLevel: logLevel as LogLevel | undefined
    })
  }
}

/** The topic names set by variables: `variables` maps each variable to the topic role it sets. */
export function topicsFromEnv<TVariable extends string, TRole extends string>(
  read: EnvReader<TVariable>,
  variables: Readonly<Partial<Record<TVariable, TRole>>>
): Partial<Record<TRole, string>> {
  const topics: Partial<Record<TRole, string>> = {}
  for (const [variable, role] of Object.entries(variables) as Array<[TVariable, TRole]>) {
    const value = read.text(variable)
    if (value !== undefined) topics[role] = value
  }
  return topics
}

/**
 * Runs `resolve` (an app's settings check) now, so that a bad variable fails before any connection;
 * an `AppConfigError` is rethrown naming the variable behind its option (`variables`: option -> variable).
 */
export function checkSettingsFromEnv(resolve: () => unknown, variables: Readonly<Record<string, string>>): void {
  try {
    resolve()
  } catch (err) {
    if (!(err instanceof AppConfigError)) throw err
    throw new Error(`${variables[err.option] ?? err.option}: ${err.message}`, { cause: err })
  }
}

/** Where an app's settings come from: each setting's environment variable, by the kind of its value. */
export interface AppVariables {
  /** Topic name variables and the topic role (`topics.<role>`) each one sets. */
  readonly topics: Readonly<Record<string, string>>
  /** Settings that are non-negative integers, and their variables. */
  readonly integers?: Readonly<Record<string, string>>
  /** Settings that are text, and their variables. */
  readonly texts?: Readonly<Record<string, string>>
  /** Settings that are true or false, and their variables. */
  readonly booleans?: Readonly<Record<string, string>>
}

/**
 * Reads a worker's options from the environment: the common variables and the app's `variables`
 * (unset ones are left out). `resolve`, the app's settings check, runs at once so that a bad variable
 * fails before any connection, with an error naming the variable behind the bad setting.
 */
export function appWorkerOptionsFromEnv<TOptions extends StreamsWorkerOptions>(
  env: Environment,
  variables: AppVariables,
  resolve: (options: TOptions) => unknown
): TOptions {
  const read = envReader<string>(env)
  const settings: Record<string, unknown> = { topics: topicsFromEnv(read, variables.topics) }
  const kinds = [
    [variables.booleans, read.boolean],
    [variables.texts, read.text],
    [variables.integers, read.integer]
  ] as const
  for (const [settingVariables, readValue] of kinds) {
    for (const [setting, variable] of Object.entries(settingVariables ?? {})) {
      const value = readValue(variable)
      if (value !== undefined) settings[setting] = value
    }
  }
  // The settings' types are checked by `resolve` below.
  const options = { ...streamsOptionsFromEnv(env), ...settings } as unknown as TOptions
  checkSettingsFromEnv(() => resolve(options), {
    ...variables.integers,
    ...variables.texts,
    ...variables.booleans,
    ...Object.fromEntries(Object.entries(variables.topics).map(([variable, role]) => [`topics.${role}`, variable]))
  })
  return options
}

/** What `workerMain` runs: the app's name, its help text and how to start it from the environment. */
export interface WorkerCommand {
  readonly app: string
  readonly usage: () => string
  readonly start: () => Promise<RunningWorker>
}

/** The `--help` text of a worker: what it runs, then its variables. */
export function workerUsage(summary: string, variables: Readonly<Record<string, string>>): string {
  return [summary, '', 'Environment:', ...helpTable(variables), ''].join('\n')
}

/** Entry point of `npm run worker -- <app>`: runs until SIGINT/SIGTERM (or ERROR), then closes cleanly. */
export async function workerMain(args: readonly string[], command: WorkerCommand): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(command.usage())
    return
  }
  if (args.length > 0) {
    throw new Error(`unknown argument ${JSON.stringify(args[0])}: the ${command.app} worker is configured by environment variables (see --help)`)
  }
  const worker = await command.start()
  await untilSignal((stop) =>
    worker.streams.setStateListener((state) => {
      if (state === 'ERROR') stop()
    })
  )
  const clean = await worker.close()
  if (worker.streams.error !== undefined) throw worker.streams.error
  if (!clean) {
    // Not a crash, but not a clean close either: whoever supervises the worker should know.
    process.stderr.write(`${command.app} worker: the close did not finish in time; clients were closed forcibly (exit code 2)\n`)
    process.exitCode = 2
  }
}

/**
 * The configuration of a `KafkaStreams` instance: one options object, declared once by the zod schema
 * `streamsConfigSchema` (each option's type, default, check and doc), validated at construction with
 * errors naming the option. Defaults are Kafka Streams' where they exist; units are in the names.
 *
 * Defaults that depend on other options (the commit interval under exactly-once, the heartbeat and
 * rebalance timeouts from the session timeout, the client id) are derived in `resolveConfig` after
 * parsing; their schema entries carry the rule as `defaultText` metadata for the documentation.
 * The library reads no environment variable: entry points pass `stateDir` and `logLevel`.
 */
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import type { Logger } from 'pino'
import { z } from 'zod'
import { DEFAULT_DESERIALIZATION_ERROR_POLICY, DeserializationErrorPolicies } from '../schemas/index.ts'
import type { KafkaClientSupplier } from '../kafka/index.ts'
import { StreamsConfigError } from './errors.ts'
import { DEFAULT_METRICS_HOST } from './metrics.ts'

/** Processing guarantees (Kafka Streams' `processing.guarantee`). */
export const ProcessingGuarantees = {
  AT_LEAST_ONCE: 'at_least_once',
  EXACTLY_ONCE_V2: 'exactly_once_v2'
} as const

/** One of `ProcessingGuarantees`. */
export type ProcessingGuarantee = (typeof ProcessingGuarantees)[keyof typeof ProcessingGuarantees]

/** Levels of the default pino logger. */
export const LogLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** One of `LogLevels`. */
export type LogLevel = (typeof LogLevels)[number]

// Kafka topic names: the application id prefixes internal topics and names the group.
const NAME = /^[A-Za-z0-9._-]{1,200}$/
const BROKER = /^[^\s:,]+:\d{1,5}$/

/** A zod error message `<what>, got <the value>` (zod hands the error map the rejected input). */
function got(what: string): (issue: { readonly input?: unknown }) => string {
  return (issue) => `${what}, got ${JSON.stringify(issue.input)}`
}

function integer(min: number, max?: number): z.ZodInt {
  const error = got(`must be an integer ${max === undefined ? `>= ${min}` : `in [${min}, ${max}]`}`)
  const atLeast = z.int({ error }).min(min, { error })
  return max === undefined ? atLeast : atLeast.max(max, { error })
}

function oneOf<const TValues extends readonly [string, ...string[]]>(values: TValues): z.ZodEnum<{ [K in TValues[number]]: K }> {
  return z.enum(values, { error: got(`must be one of ${values.map((v) => `'${v}'`).join(', ')}`) })
}

const nameSchema = z
  .string({ error: got('must be 1-200 characters of [A-Za-z0-9._-]') })
  .regex(NAME, { error: got('must be 1-200 characters of [A-Za-z0-9._-]') })

/** A string or a list of `host:port`; parsed into the list. */
const brokersSchema = z
  .union([z.string(), z.array(z.string()).readonly()], { error: got('must be a non-empty list of host:port') })
  .transform((value, ctx): string[] => {
    const brokers =
      typeof value === 'string'
        ? value
            .split(',')
            .map((b) => b.trim())
            .filter((b) => b !== '')
        : [...value]
    if (brokers.length > 0 && brokers.every((b) => BROKER.test(b))) return brokers
    ctx.issues.push({ code: 'custom', input: value, message: `must be a non-empty list of host:port, got ${JSON.stringify(value)}` })
    return z.NEVER
  })

function implementing<T>(message: string, check: (value: object) => boolean): z.ZodType<T> {
  return z.custom<T>((value) => typeof value === 'object' && value !== null && check(value), { error: message })
}

const methods = (value: object, names: readonly string[]): boolean => names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function')

/**
 * Every option of `new KafkaStreams(topology, config)`: only `applicationId` and `bootstrapServers`
 * are required. Unknown keys are refused.
 */
export const streamsConfigSchema = z.strictObject({
  applicationId: nameSchema.describe('Consumer group id, prefix of internal topics and of the state folder.'),
  bootstrapServers: brokersSchema.describe('`host:port` list, or one comma-separated string.'),
  instanceId: nameSchema
    .prefault(() => `${hostname()}-${process.pid}`)
    .meta({ defaultText: '`<hostname>-<pid>`' })
    .describe(
      'Stable name of this instance. Under exactly-once it is part of the transactional id (`<applicationId>-<instanceId>`): ' +
        'restarting with the same id fences the previous process and aborts its open transaction at once instead of after `transactionTimeoutMs`.'
    ),
  stateDir: z
    .string({ error: got('must be a non-empty path') })
    .refine((dir) => dir.trim() !== '', { error: got('must be a non-empty path') })
    .default('./.state')
    .describe('Root of task state folders `<stateDir>/<applicationId>/<task id>`, resolved against the working directory.'),
  processingGuarantee: oneOf([ProcessingGuarantees.AT_LEAST_ONCE, ProcessingGuarantees.EXACTLY_ONCE_V2])
    .default(ProcessingGuarantees.AT_LEAST_ONCE)
    .describe("`at_least_once` or `exactly_once_v2` (Kafka Streams' `processing.guarantee`)."),
  commitIntervalMs: integer(0)
    .optional()
    .meta({ defaultText: '30000; 100 under exactly-once' })
    .describe("How often tasks commit, ms (Kafka Streams' defaults)."),
  cacheMaxBytes: integer(0)
    .default(10 * 1024 * 1024)
    .describe('Record-cache budget of the instance in bytes, shared by the stores of its tasks; 0 disables caching.'),
  maxTaskIdleMs: integer(-1)
    .default(0)
    .describe(
      'How long a task with several input partitions waits for data on an empty one before processing the others out of timestamp order: ' +
        '0 waits only while that partition has fetched lag, a positive value also waits that long for new data, -1 never waits.'
    ),
  maxBufferedRecordsPerPartition: integer(1).default(1000).describe('Records buffered per input partition before its fetching pauses.'),
  sessionTimeoutMs: integer(1).default(45_000).describe('Consumer group session timeout, ms (the broker bounds it).'),
  heartbeatIntervalMs: integer(1)
    .optional()
    .meta({ defaultText: 'min(3000, sessionTimeoutMs / 3)' })
    .describe('Heartbeat interval, ms; lower than `sessionTimeoutMs`.'),
  rebalanceTimeoutMs: integer(1)
    .optional()
    .meta({ defaultText: 'max(sessionTimeoutMs, 30000)' })
    .describe('How long the group waits for members to rejoin in a rebalance, ms; at least `sessionTimeoutMs`.'),
  fetchMaxWaitMs: integer(0, 60_000).default(500).describe('Longest wait of one fetch for new data, ms.'),
  transactionTimeoutMs: integer(1_000)
    .default(10_000)
    .describe('Exactly-once: transaction timeout, ms; an instance that dies mid-transaction blocks readers at most this long.'),
  taskTimeoutMs: integer(0)
    .default(300_000)
    .describe(
      'How long a streak of broker errors may last before the instance fails, ms: restore retries transient errors (a leader move) ' +
        "and input and global fetches retry every error for this long (Kafka Streams' `task.timeout.ms`); 0 fails on the first error."
    ),
  deliveryTimeoutMs: integer(1_000)
    .default(120_000)
    .describe(
      'How long a batch of output may wait for its acknowledgement (the client retries meanwhile) before the send fails, ms ' +
        "(Kafka's `delivery.timeout.ms`). A failed send fails the commit."
    ),
  apiTimeoutMs: integer(1_000)
    .default(60_000)
    .describe("How long an offset commit or a transaction commit or abort may take before it fails, ms (Kafka's `default.api.timeout.ms` and `max.block.ms`)."),
  metricsPort: integer(0, 65_535).default(0).describe('Port of the Prometheus `/metrics` endpoint; 0: no endpoint.'),
  metricsHost: z
    .string({ error: got('must be a non-empty host name or address') })
    .refine((host) => host.trim() !== '', { error: got('must be a non-empty host name or address') })
    .default(DEFAULT_METRICS_HOST)
    .describe('Interface of the `/metrics` endpoint (127.0.0.1: this machine only; 0.0.0.0: every interface).'),
  deserializationErrorPolicy: oneOf([DeserializationErrorPolicies.LOG_AND_CONTINUE, DeserializationErrorPolicies.LOG_AND_FAIL])
    .default(DEFAULT_DESERIALIZATION_ERROR_POLICY)
    .describe(
      'What happens to records that cannot be deserialized: `log-and-continue` sends them to the dead-letter topic `<applicationId>-dlq`, `log-and-fail` stops the instance in ERROR.'
    ),
  statusIntervalMs: integer(0).default(5_000).describe('How often the instance publishes its status to `<applicationId>-status`, ms; 0: never.'),
  replicationFactor: integer(1, 32)
    .default(1)
    .describe('Replication factor of the topics the runtime creates: changelogs, repartitions, dead letters, status.'),
  clientId: z
    .string({ error: got('must be a non-empty string') })
    .min(1, { error: got('must be a non-empty string') })
    .optional()
    .meta({ defaultText: '`<applicationId>-<instanceId>`' })
    .describe('Prefix of client ids.'),
  clientSupplier: implementing<KafkaClientSupplier>('must implement getAdmin, getConsumer, getProducer and getRestoreConsumer', (value) =>
    methods(value, ['getAdmin', 'getConsumer', 'getProducer', 'getRestoreConsumer'])
  )
    .optional()
    .meta({ defaultText: '@platformatic/kafka clients' })
    .describe('Creates the Kafka clients.'),
  clock: z
    .custom<() => number>((value) => typeof value === 'function', { error: 'must be a function returning epoch milliseconds' })
    .default(() => Date.now)
    .meta({ defaultText: '`Date.now`' })
    .describe('Wall clock in epoch ms: drives commits and wall-clock punctuation.'),
  logLevel: oneOf(LogLevels).default('info').describe('Level of the default pino logger (unused when `logger` is given).'),
  logger: implementing<Logger>('must be a pino logger', (value) => methods(value, ['child']))
    .optional()
    .meta({ defaultText: 'pino at `logLevel`' })
    .describe('Structured logger.')
})

/** What the user gives `new KafkaStreams(topology, config)`. Only the first two are required. */
export type StreamsConfig = Readonly<z.input<typeof streamsConfigSchema>>

type Parsed = z.output<typeof streamsConfigSchema>

/** The configuration with every default applied. */
export type ResolvedConfig = Readonly<
  Omit<Parsed, 'commitIntervalMs' | 'heartbeatIntervalMs' | 'rebalanceTimeoutMs' | 'clientId'> & {
    exactlyOnce: boolean
    commitIntervalMs: number
    heartbeatIntervalMs: number
    rebalanceTimeoutMs: number
    clientId: string
  }
>

/** The first issue as the error naming its option; unknown keys are named before bad values. */
function configError(issues: readonly z.core.$ZodIssue[]): StreamsConfigError {
  const unknown = issues.find((issue) => issue.code === 'unrecognized_keys')
  if (unknown !== undefined && unknown.code === 'unrecognized_keys') {
    const known = Object.keys(streamsConfigSchema.shape).join(', ')
    return new StreamsConfigError(String(unknown.keys[0]), `is not a known option (known: ${known})`)
  }
  const [first] = issues
  return new StreamsConfigError(first === undefined ? 'config' : String(first.path[0] ?? 'config'), first?.message ?? 'is invalid')
}

/** Validates `config` and applies defaults. Throws `StreamsConfigError` naming the first bad option. */
export function resolveConfig(config: StreamsConfig): ResolvedConfig {
  if (config === null || typeof config !== 'object') throw new StreamsConfigError('config', 'must be an object')
  const parsed = streamsConfigSchema.safeParse(config)
  if (!parsed.success) throw configError(parsed.error.issues)
  const options = parsed.data
  const exactlyOnce = options.processingGuarantee === ProcessingGuarantees.EXACTLY_ONCE_V2
  const { sessionTimeoutMs } = options
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? Math.max(1, Math.min(3_000, Math.floor(sessionTimeoutMs / 3)))
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new StreamsConfigError('heartbeatIntervalMs', `must be lower than sessionTimeoutMs (${sessionTimeoutMs}), got ${heartbeatIntervalMs}`)
  }
  const rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? Math.max(sessionTimeoutMs, 30_000)
  if (rebalanceTimeoutMs < sessionTimeoutMs) {
    throw new StreamsConfigError('rebalanceTimeoutMs', `must be at least sessionTimeoutMs (${sessionTimeoutMs}), got ${rebalanceTimeoutMs}`)
  }
  return {
    ...options,
    stateDir: resolve(options.stateDir),
    exactlyOnce,
    commitIntervalMs: options.commitIntervalMs ?? (exactlyOnce ? 100 : 30_000),
    heartbeatIntervalMs,
    rebalanceTimeoutMs,
    clientId: options.clientId ?? `${options.applicationId}-${options.instanceId}`
  }
}

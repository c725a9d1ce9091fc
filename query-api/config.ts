/**
 * Configuration of the query API: one options object with defaults, validated at start with an
 * error naming the bad option; `optionsFromEnv` maps the environment onto it.
 *
 * Environment: PORT (4000), QUERY_API_HOST (127.0.0.1), KAFKA_BROKERS (127.0.0.1:9092),
 * SCHEMA_REGISTRY_URL (http://127.0.0.1:8081), QUERY_API_TOKENS ("token:read,token2:read+admin"),
 * QUERY_API_TLS_CERT / QUERY_API_TLS_KEY (PEM files; both or neither), QUERY_API_STORE (rocksdb |
 * memory), STATE_DIR (./.state), INSTANCE_ID, QUERY_API_MAX_RANGE_MS (7 days),
 * QUERY_API_RETENTION_MS (7 days), QUERY_API_STATIC_DIR (dashboard/dist), QUERY_API_TOPIC_STATS_1M,
 * QUERY_API_TOPIC_STATS_5M, QUERY_API_TOPIC_SESSIONS, QUERY_API_TOPIC_SALES_1H,
 * QUERY_API_TOPIC_PRODUCT_RATINGS, QUERY_API_TOPIC_CATEGORY_RATINGS, TRAFFIC_APPLICATION_ID (runnel-traffic),
 * QUERY_API_FETCH_MAX_WAIT_MS (250).
 *
 * Limits (`limits.*`, see limits.ts): QUERY_API_MAX_BATCH_CALLS (20 calls per tRPC batch),
 * QUERY_API_MAX_SERIES_POINTS (10080 points per series call), QUERY_API_MAX_REQUEST_POINTS (20160
 * series points per request over its calls), QUERY_API_MAX_RESPONSE_BYTES (16 MiB),
 * QUERY_API_TOKEN_CONCURRENCY (8 queries in flight per token), QUERY_API_TOKEN_RATE_PER_SECOND (50
 * calls/s per token; a day of series points counts as one more call), QUERY_API_TOKEN_RATE_BURST (200 calls), QUERY_API_MAX_SUBSCRIPTIONS_PER_TOKEN
 * (50 live streams), QUERY_API_MAX_SUBSCRIPTIONS (1000 in total), QUERY_API_AUTH_FAILURES_PER_MINUTE
 * (20 per client address), QUERY_API_HEADERS_TIMEOUT_MS (10 s), QUERY_API_REQUEST_TIMEOUT_MS (30 s),
 * QUERY_API_KEEP_ALIVE_TIMEOUT_MS (5 s), QUERY_API_IDLE_TIMEOUT_MS (60 s; SSE streams: at least 30 s,
 * three ping intervals).
 */
import { hostname } from 'node:os'
import { join } from 'node:path'
import { checkApiTokens, parseApiTokens, type ApiToken } from './auth.ts'
import { DEFAULT_COMMERCE_TOPICS, type CommerceOutputTopics } from './commerce-materializer.ts'
import { QueryApiConfigError } from './errors.ts'
import { DEFAULT_SERVER_LIMITS, POINTS_PER_CALL, type ServerLimits } from './limits.ts'
import { DEFAULT_TRAFFIC_TOPICS, type TrafficTopics } from './materializer.ts'
import { StoreKinds, type StoreKindName } from './store.ts'
import { schemaRegistryAuthFromEnv, type SchemaRegistryAuth } from '../schemas/index.ts'

const DAY_MS = 86_400_000

/** Options of `startQueryApi`; everything but `tokens` has a default. */
export interface QueryApiOptions {
  /** HTTP(S) port; 0 picks a free one. Default 4000. */
  port?: number
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string
  /** Kafka bootstrap brokers. Default ['127.0.0.1:9092']. */
  brokers?: readonly string[]
  /** Schema registry base URL. Default http://127.0.0.1:8081. */
  registryUrl?: string
  /** Credentials the registry client sends (basic auth or a bearer token). Default none. */
  registryAuth?: SchemaRegistryAuth | undefined
  /** API tokens and their scopes. At least one is required. */
  tokens: readonly ApiToken[]
  /** PEM certificate and key files: HTTPS when given (both or neither). */
  tls?: { certFile: string; keyFile: string } | undefined
  /** Where materialized sessions live. Default rocksdb. */
  store?: StoreKindName
  /** State root; this instance's folder is `<stateDir>/query-api/<instanceId>`. Default ./.state. */
  stateDir?: string
  /** Names this instance in health reports and its state folder. Default `<hostname>-<pid>`. */
  instanceId?: string
  /** Longest `to - from` a query may ask for, ms. Default 7 days. */
  maxRangeMs?: number
  /** Windows and sessions older than this before the newest window are dropped, ms. Default 7 days (the topics' retention). */
  retentionMs?: number
  /** Folder served at `/` (index.html fallback); null serves nothing. Default `dashboard/dist` of the repository. */
  staticDir?: string | null
  /** Traffic output topic names. Default the contract's. */
  topics?: Partial<TrafficTopics>
  /** Commerce output topic names. Default the contract's (`commerce.sales.1h`, `commerce.product-ratings`, `commerce.category-ratings`). */
  commerceTopics?: Partial<CommerceOutputTopics>
  /** The traffic workers' application id (= consumer group id). Default runnel-traffic. */
  trafficApplicationId?: string
  /** Longest wait of one fetch for new records, ms: bounds the live-update delay. Default 250. */
  fetchMaxWaitMs?: number
  /** Admission limits and timeouts of the HTTP edge (limits.ts). Default `DEFAULT_SERVER_LIMITS`. */
  limits?: Partial<ServerLimits>
}

/** Validated configuration with every default filled in. */
export interface QueryApiConfig {
  readonly port: number
  readonly host: string
  readonly brokers: readonly string[]
  readonly registryUrl: string
  readonly registryAuth: SchemaRegistryAuth | null
  readonly tokens: readonly ApiToken[]
  readonly tls: { readonly certFile: string; readonly keyFile: string } | null
  readonly store: StoreKindName
  readonly stateDir: string
  readonly instanceId: string
  readonly instanceDir: string
  readonly maxRangeMs: number
  readonly retentionMs: number
  readonly staticDir: string | null
  readonly topics: TrafficTopics
  readonly commerceTopics: CommerceOutputTopics
  readonly trafficApplicationId: string
  readonly fetchMaxWaitMs: number
  readonly limits: ServerLimits
}

/** Default folder of the dashboard build, relative to the repository root. */
export const DEFAULT_STATIC_DIR = join(import.meta.dirname, '..', 'dashboard', 'dist')

const NAME = /^[A-Za-z0-9._-]{1,200}$/

function int(value: unknown, option: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new QueryApiConfigError(option, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`)
  }
  return value
}

function text(value: unknown, option: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new QueryApiConfigError(option, `must be a non-empty string, got ${JSON.stringify(value)}`)
  return value.trim()
}

function name(value: unknown, option: string): string {
  const v = text(value, option)
  if (!NAME.test(v)) throw new QueryApiConfigError(option, `must be 1-200 characters of [A-Za-z0-9._-], got ${JSON.stringify(v)}`)
  return v
}

/** Validates options and fills in the defaults; throws `QueryApiConfigError` naming the first bad option. */
export function resolveConfig(options: QueryApiOptions): QueryApiConfig {
  if (typeof options !== 'object' || options === null) throw new QueryApiConfigError('options', 'must be an object')
  const port = int(options.port ?? 4000, 'port', 0, 65_535)
  const host = text(options.host ?? '127.0.0.1', 'host')
  const brokers = options.brokers ?? ['127.0.0.1:9092']
  if (!Array.isArray(brokers) || brokers.length === 0) throw new QueryApiConfigError('brokers', 'must be a non-empty list of host:port')
  for (const b of brokers) {
    if (typeof b !== 'string' || !/^[^\s:]+:\d{1,5}$/.test(b)) throw new QueryApiConfigError('brokers', `${JSON.stringify(b)} is not host:port`)
  }
  const registryUrl = text(options.registryUrl ?? 'http://127.0.0.1:8081', 'registryUrl')
  if (!/^https?:\/\/[^\s/]+/.test(registryUrl)) throw new QueryApiConfigError('registryUrl', `must be an http(s) URL, got ${JSON.stringify(registryUrl)}`)
  const tokens = checkApiTokens(options.tokens, 'tokens')
  if (tokens.length === 0) throw new QueryApiConfigError('tokens', 'at least one API token is required (e.g. QUERY_API_TOKENS="<token>:read+admin")')
  let tls: QueryApiConfig['tls'] = null
  if (options.tls !== undefined) {
    tls = { certFile: text(options.tls?.certFile, 'tls.certFile'), keyFile: text(options.tls?.keyFile, 'tls.keyFile') }
  }
  const store = options.store ?? StoreKinds.rocksdb
  if (!Object.values(StoreKinds).includes(store)) throw new QueryApiConfigError('store', `must be one of ${Object.values(StoreKinds).join(', ')}, got ${JSON.stringify(store)}`)
  const stateDir = text(options.stateDir ?? './.state', 'stateDir')
  const instanceId = name(options.instanceId ?? `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._-]/g, '-'), 'instanceId')
  const maxRangeMs = int(options.maxRangeMs ?? 7 * DAY_MS, 'maxRangeMs', 60_000, 366 * DAY_MS)
  const retentionMs = int(options.retentionMs ?? 7 * DAY_MS, 'retentionMs', 60_000, 3650 * DAY_MS)
  const staticDir = options.staticDir === undefined ? DEFAULT_STATIC_DIR : options.staticDir === null ? null : text(options.staticDir, 'staticDir')
  const topics: TrafficTopics = {
    stats1m: name(options.topics?.stats1m ?? DEFAULT_TRAFFIC_TOPICS.stats1m, 'topics.stats1m'),
    stats5m: name(options.topics?.stats5m ?? DEFAULT_TRAFFIC_TOPICS.stats5m, 'topics.stats5m'),
    sessions: name(options.topics?.sessions ?? DEFAULT_TRAFFIC_TOPICS.sessions, 'topics.sessions')
  }
  if (new Set(Object.values(topics)).size !== 3) throw new QueryApiConfigError('topics', 'stats1m, stats5m and sessions must be three different topics')
  const commerceTopics: CommerceOutputTopics = {
    sales1h: name(options.commerceTopics?.sales1h ?? DEFAULT_COMMERCE_TOPICS.sales1h, 'commerceTopics.sales1h'),
    productRatings: name(options.commerceTopics?.productRatings ?? DEFAULT_COMMERCE_TOPICS.productRatings, 'commerceTopics.productRatings'),
    categoryRatings: name(options.commerceTopics?.categoryRatings ?? DEFAULT_COMMERCE_TOPICS.categoryRatings, 'commerceTopics.categoryRatings')
  }
  if (new Set([...Object.values(topics), ...Object.values(commerceTopics)]).size !== 6) {
    throw new QueryApiConfigError('commerceTopics', 'sales1h, productRatings and categoryRatings must be three different topics, none of them a traffic topic')
  }
  const trafficApplicationId = name(options.trafficApplicationId ?? 'runnel-traffic', 'trafficApplicationId')
  const fetchMaxWaitMs = int(options.fetchMaxWaitMs ?? 250, 'fetchMaxWaitMs', 10, 30_000)
  const limits = resolveLimits(options.limits ?? {})
  return {
    port, host, brokers: [...brokers], registryUrl, registryAuth: checkRegistryAuth(options.registryAuth), tokens, tls, store, stateDir, instanceId,
    instanceDir: join(stateDir, 'query-api', instanceId),
    maxRangeMs, retentionMs, staticDir, topics, commerceTopics, trafficApplicationId, fetchMaxWaitMs, limits
  }
}

/** Registry credentials from SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO or SCHEMA_REGISTRY_BEARER_AUTH_TOKEN (Confluent's names). */
function registryAuthFromEnv(env: Record<string, string | undefined>): SchemaRegistryAuth | undefined {
  try {
    return schemaRegistryAuthFromEnv(env)
  } catch (err) {
    throw new QueryApiConfigError('registryAuth (SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO, SCHEMA_REGISTRY_BEARER_AUTH_TOKEN)', (err as Error).message, { cause: err })
  }
}

function checkRegistryAuth(auth: SchemaRegistryAuth | undefined): SchemaRegistryAuth | null {
  if (auth === undefined) return null
  const ok = 'bearerToken' in auth
    ? typeof auth.bearerToken === 'string' && auth.bearerToken !== ''
    : typeof auth.basic?.username === 'string' && auth.basic.username !== '' && typeof auth.basic.password === 'string'
  if (!ok) throw new QueryApiConfigError('registryAuth', 'must be { basic: { username, password } } or { bearerToken }')
  return auth
}

/** Bounds of each limit: [min, max]. */
const LIMIT_BOUNDS: Readonly<Record<keyof ServerLimits, readonly [number, number]>> = {
  maxBatchCalls: [1, 1000],
  maxSeriesPoints: [1, 10_000_000],
  maxRequestPoints: [1, 100_000_000],
  maxResponseBytes: [1024, 1024 ** 3],
  tokenConcurrency: [1, 10_000],
  tokenRatePerSecond: [1, 1_000_000],
  tokenRateBurst: [1, 1_000_000],
  maxSubscriptionsPerToken: [1, 1_000_000],
  maxSubscriptions: [1, 1_000_000],
  authFailuresPerMinute: [1, 1_000_000],
  headersTimeoutMs: [100, 3_600_000],
  requestTimeoutMs: [100, 3_600_000],
  keepAliveTimeoutMs: [100, 3_600_000],
  idleTimeoutMs: [100, 3_600_000]
}

function resolveLimits(options: Partial<ServerLimits>): ServerLimits {
  if (typeof options !== 'object' || options === null) throw new QueryApiConfigError('limits', 'must be an object')
  const limits = {} as Record<keyof ServerLimits, number>
  for (const key of Object.keys(LIMIT_BOUNDS) as Array<keyof ServerLimits>) {
    const [min, max] = LIMIT_BOUNDS[key]
    limits[key] = int(options[key] ?? DEFAULT_SERVER_LIMITS[key], `limits.${key}`, min, max)
  }
  for (const key of Object.keys(options)) {
    if (!(key in LIMIT_BOUNDS)) throw new QueryApiConfigError(`limits.${key}`, `is not a limit; known: ${Object.keys(LIMIT_BOUNDS).join(', ')}`)
  }
  if (limits.maxRequestPoints < limits.maxSeriesPoints) {
    throw new QueryApiConfigError('limits.maxRequestPoints', `must be at least limits.maxSeriesPoints (${limits.maxSeriesPoints}), or the longest series could never be asked for`)
  }
  const largestCost = limits.maxBatchCalls + Math.ceil(limits.maxRequestPoints / POINTS_PER_CALL)
  if (limits.tokenRateBurst < largestCost) {
    throw new QueryApiConfigError('limits.tokenRateBurst', `must be at least ${largestCost} (limits.maxBatchCalls + limits.maxRequestPoints / ${POINTS_PER_CALL}), or the largest request could never pass`)
  }
  if (limits.requestTimeoutMs < limits.headersTimeoutMs) {
    throw new QueryApiConfigError('limits.requestTimeoutMs', `must be at least limits.headersTimeoutMs (${limits.headersTimeoutMs})`)
  }
  if (limits.maxSubscriptionsPerToken > limits.maxSubscriptions) {
    throw new QueryApiConfigError('limits.maxSubscriptionsPerToken', `must be at most limits.maxSubscriptions (${limits.maxSubscriptions})`)
  }
  return limits
}

/** Environment variable of each limit. */
const LIMIT_ENV: Readonly<Record<keyof ServerLimits, string>> = {
  maxBatchCalls: 'QUERY_API_MAX_BATCH_CALLS',
  maxSeriesPoints: 'QUERY_API_MAX_SERIES_POINTS',
  maxRequestPoints: 'QUERY_API_MAX_REQUEST_POINTS',
  maxResponseBytes: 'QUERY_API_MAX_RESPONSE_BYTES',
  tokenConcurrency: 'QUERY_API_TOKEN_CONCURRENCY',
  tokenRatePerSecond: 'QUERY_API_TOKEN_RATE_PER_SECOND',
  tokenRateBurst: 'QUERY_API_TOKEN_RATE_BURST',
  maxSubscriptionsPerToken: 'QUERY_API_MAX_SUBSCRIPTIONS_PER_TOKEN',
  maxSubscriptions: 'QUERY_API_MAX_SUBSCRIPTIONS',
  authFailuresPerMinute: 'QUERY_API_AUTH_FAILURES_PER_MINUTE',
  headersTimeoutMs: 'QUERY_API_HEADERS_TIMEOUT_MS',
  requestTimeoutMs: 'QUERY_API_REQUEST_TIMEOUT_MS',
  keepAliveTimeoutMs: 'QUERY_API_KEEP_ALIVE_TIMEOUT_MS',
  idleTimeoutMs: 'QUERY_API_IDLE_TIMEOUT_MS'
}

/** Environment variable of each option (error messages name both). */
const ENV: Record<string, string> = {
  port: 'PORT', host: 'QUERY_API_HOST', brokers: 'KAFKA_BROKERS', registryUrl: 'SCHEMA_REGISTRY_URL', tokens: 'QUERY_API_TOKENS',
  'tls.certFile': 'QUERY_API_TLS_CERT', 'tls.keyFile': 'QUERY_API_TLS_KEY', store: 'QUERY_API_STORE', stateDir: 'STATE_DIR',
  instanceId: 'INSTANCE_ID', maxRangeMs: 'QUERY_API_MAX_RANGE_MS', retentionMs: 'QUERY_API_RETENTION_MS', staticDir: 'QUERY_API_STATIC_DIR',
  'topics.stats1m': 'QUERY_API_TOPIC_STATS_1M', 'topics.stats5m': 'QUERY_API_TOPIC_STATS_5M', 'topics.sessions': 'QUERY_API_TOPIC_SESSIONS',
  'commerceTopics.sales1h': 'QUERY_API_TOPIC_SALES_1H', 'commerceTopics.productRatings': 'QUERY_API_TOPIC_PRODUCT_RATINGS',
  'commerceTopics.categoryRatings': 'QUERY_API_TOPIC_CATEGORY_RATINGS',
  trafficApplicationId: 'TRAFFIC_APPLICATION_ID', fetchMaxWaitMs: 'QUERY_API_FETCH_MAX_WAIT_MS',
  ...Object.fromEntries(Object.entries(LIMIT_ENV).map(([key, variable]) => [`limits.${key}`, variable]))
}

function envInt(env: Record<string, string | undefined>, option: string): number | undefined {
  const raw = env[ENV[option] as string]?.trim()
  if (raw === undefined || raw === '') return undefined
  if (!/^-?\d+$/.test(raw)) throw new QueryApiConfigError(`${option} (${ENV[option]})`, `must be an integer, got ${JSON.stringify(raw)}`)
  return Number(raw)
}

function envText(env: Record<string, string | undefined>, option: string): string | undefined {
  const raw = env[ENV[option] as string]?.trim()
  return raw === undefined || raw === '' ? undefined : raw
}

/**
 * Reads the options from environment variables (see the file comment) and validates them; errors
 * name the option and its variable.
 */
export function configFromEnv(env: Record<string, string | undefined> = process.env, overrides: Partial<QueryApiOptions> = {}): QueryApiConfig {
  const cert = envText(env, 'tls.certFile')
  const key = envText(env, 'tls.keyFile')
  if ((cert === undefined) !== (key === undefined)) {
    throw new QueryApiConfigError('tls (QUERY_API_TLS_CERT, QUERY_API_TLS_KEY)', 'set both the certificate and the key file, or neither')
  }
  const tokensText = envText(env, 'tokens')
  const topics: { -readonly [K in keyof TrafficTopics]?: string } = {}
  for (const t of ['stats1m', 'stats5m', 'sessions'] as const) {
    const v = envText(env, `topics.${t}`)
    if (v !== undefined) topics[t] = v
  }
  const commerceTopics: { -readonly [K in keyof CommerceOutputTopics]?: string } = {}
  for (const t of ['sales1h', 'productRatings', 'categoryRatings'] as const) {
    const v = envText(env, `commerceTopics.${t}`)
    if (v !== undefined) commerceTopics[t] = v
  }
  const limits: Partial<Record<keyof ServerLimits, number>> = {}
  for (const key of Object.keys(LIMIT_ENV) as Array<keyof ServerLimits>) {
    const v = envInt(env, `limits.${key}`)
    if (v !== undefined) limits[key] = v
  }
  const options: QueryApiOptions = {
    limits,
    tokens: tokensText === undefined ? [] : parseApiTokens(tokensText, 'tokens (QUERY_API_TOKENS)'),
    topics,
    commerceTopics,
    ...defined({
      port: envInt(env, 'port'),
      host: envText(env, 'host'),
      brokers: envText(env, 'brokers')?.split(',').map((b) => b.trim()).filter((b) => b !== ''),
      registryUrl: envText(env, 'registryUrl'),
      registryAuth: registryAuthFromEnv(env),
      tls: cert !== undefined && key !== undefined ? { certFile: cert, keyFile: key } : undefined,
      store: envText(env, 'store') as StoreKindName | undefined,
      stateDir: envText(env, 'stateDir'),
      instanceId: envText(env, 'instanceId'),
      maxRangeMs: envInt(env, 'maxRangeMs'),
      retentionMs: envInt(env, 'retentionMs'),
      staticDir: envText(env, 'staticDir'),
      trafficApplicationId: envText(env, 'trafficApplicationId'),
      fetchMaxWaitMs: envInt(env, 'fetchMaxWaitMs')
    }),
    ...overrides
  }
  try {
    return resolveConfig(options)
  } catch (err) {
    // Name the variable too, so the operator knows what to fix.
    if (err instanceof QueryApiConfigError && ENV[err.option] !== undefined) {
      throw new QueryApiConfigError(`${err.option} (${ENV[err.option]})`, err.message.replace(/^query-api: option [^:]+: /, ''), { cause: err })
    }
    throw err
  }
}

function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> }
}

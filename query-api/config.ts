/**
 * Configuration of the query API, declared once by the zod schema `queryApiOptionsSchema`: each
 * option's type, default, check, doc and environment variable (`env` metadata). `resolveConfig`
 * validates an options object at start with an error naming the bad option, then checks what
 * spans several options (distinct topics, limits that fit together); `configFromEnv` reads every
 * variable the schema names, and errors name the option and its variable. The README's variable
 * table is `envTable()` (query-api/config.test.ts compares them).
 */
import { hostname } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { TRAFFIC_TOPICS } from '../apps/traffic/index.ts'
import { LogLevels, markdownTable, optionDocs } from '../runtime/index.ts'
import { schemaRegistryAuthFromEnv, type SchemaRegistryAuth } from '../schemas/index.ts'
import { checkApiTokens, parseApiTokens, type ApiToken } from './auth.ts'
import { DEFAULT_COMMERCE_TOPICS } from './commerce-materializer.ts'
import { QueryApiConfigError } from './errors.ts'
import { DEFAULT_SERVER_LIMITS, POINTS_PER_CALL, type ServerLimits } from './limits.ts'
import { DEFAULT_TRAFFIC_TOPICS } from './materializer.ts'
import { StoreKinds } from './store.ts'

const DAY_MS = 86_400_000

/** Default folder of the dashboard build, relative to the repository root. */
export const DEFAULT_STATIC_DIR = join(import.meta.dirname, '..', 'dashboard', 'dist')

const NAME = /^[A-Za-z0-9._-]{1,200}$/

/** How `configFromEnv` reads an option's variable: `integer` (digits), `list` (comma-separated) or `text`. */
type EnvKind = 'integer' | 'list' | 'text'

/** An option's variable, as `env` metadata of its schema. */
function env(variable: string, kind: EnvKind = 'text', defaultText?: string): { env: string; envKind: EnvKind; defaultText?: string } {
  return { env: variable, envKind: kind, ...(defaultText === undefined ? {} : { defaultText }) }
}

/** A zod error message `<what>, got <the value>`. */
function got(what: string): (issue: { readonly input?: unknown }) => string {
  return (issue) => `${what}, got ${JSON.stringify(issue.input)}`
}

function int(min: number, max: number): z.ZodInt {
  const error = got(`must be an integer from ${min} to ${max}`)
  return z.int({ error }).min(min, { error }).max(max, { error })
}

const text = (): z.ZodString => {
  const error = got('must be a non-empty string')
  return z.string({ error }).trim().min(1, { error })
}

const name = (): z.ZodString => text().regex(NAME, { error: got('must be 1-200 characters of [A-Za-z0-9._-]') })

const brokersSchema = z
  .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, { error: (issue) => `${JSON.stringify(issue.input)} is not host:port` }), {
    error: 'must be a non-empty list of host:port'
  })
  .min(1, { error: 'must be a non-empty list of host:port' })
  .readonly()

const registryAuthSchema = z.custom<SchemaRegistryAuth>(
  (auth) => {
    if (typeof auth !== 'object' || auth === null) return false
    const a = auth as { bearerToken?: unknown; basic?: { username?: unknown; password?: unknown } }
    return 'bearerToken' in a
      ? typeof a.bearerToken === 'string' && a.bearerToken !== ''
      : typeof a.basic?.username === 'string' && a.basic.username !== '' && typeof a.basic.password === 'string'
  },
  { error: 'must be { basic: { username, password } } or { bearerToken }' }
)

const tlsSchema = z.strictObject({
  certFile: text()
    .meta(env('QUERY_API_TLS_CERT', 'text', '(none)'))
    .describe('PEM certificate file: HTTPS when given (with the key)'),
  keyFile: text()
    .meta(env('QUERY_API_TLS_KEY', 'text', '(none)'))
    .describe('PEM key file; both or neither')
})

const trafficTopicsSchema = z.strictObject({
  stats1m: name().default(DEFAULT_TRAFFIC_TOPICS.stats1m).meta(env('QUERY_API_TOPIC_STATS_1M')).describe('traffic 1-minute stats topic'),
  stats5m: name().default(DEFAULT_TRAFFIC_TOPICS.stats5m).meta(env('QUERY_API_TOPIC_STATS_5M')).describe('traffic 5-minute stats topic'),
  sessions: name().default(DEFAULT_TRAFFIC_TOPICS.sessions).meta(env('QUERY_API_TOPIC_SESSIONS')).describe('traveler sessions topic')
})

const commerceTopicsSchema = z.strictObject({
  sales1h: name().default(DEFAULT_COMMERCE_TOPICS.sales1h).meta(env('QUERY_API_TOPIC_SALES_1H')).describe('commerce hourly sales topic'),
  productRatings: name()
    .default(DEFAULT_COMMERCE_TOPICS.productRatings)
    .meta(env('QUERY_API_TOPIC_PRODUCT_RATINGS'))
    .describe('commerce product ratings topic'),
  categoryRatings: name()
    .default(DEFAULT_COMMERCE_TOPICS.categoryRatings)
    .meta(env('QUERY_API_TOPIC_CATEGORY_RATINGS'))
    .describe('commerce category ratings topic (all six output topics distinct)')
})

/** A limit of limits.ts: its bounds, variable and doc; the default is `DEFAULT_SERVER_LIMITS`'. */
function limit(key: keyof ServerLimits, min: number, max: number, variable: string, doc: string): z.ZodDefault<z.ZodInt> {
  return int(min, max).default(DEFAULT_SERVER_LIMITS[key]).meta(env(variable, 'integer')).describe(doc)
}

const limitsSchema = z.strictObject({
  maxBatchCalls: limit('maxBatchCalls', 1, 1000, 'QUERY_API_MAX_BATCH_CALLS', 'calls in one tRPC batch; more: 400'),
  maxSeriesPoints: limit('maxSeriesPoints', 1, 10_000_000, 'QUERY_API_MAX_SERIES_POINTS', 'points one series call may return (7 days at 1 minute); more: 400'),
  maxRequestPoints: limit(
    'maxRequestPoints',
    1,
    100_000_000,
    'QUERY_API_MAX_REQUEST_POINTS',
    'series points one request may ask for over all its calls, counted from the inputs before anything runs; more: 400'
  ),
  maxResponseBytes: limit('maxResponseBytes', 1024, 1024 ** 3, 'QUERY_API_MAX_RESPONSE_BYTES', 'largest tRPC response body (16 MiB); larger: 413'),
  tokenConcurrency: limit('tokenConcurrency', 1, 10_000, 'QUERY_API_TOKEN_CONCURRENCY', 'queries of one token in flight; more: 429'),
  tokenRatePerSecond: limit(
    'tokenRatePerSecond',
    1,
    1_000_000,
    'QUERY_API_TOKEN_RATE_PER_SECOND',
    'calls per second per token (rate-limiter-flexible): the burst is allowed in a fixed window of burst / rate seconds, so the rate is sustained ' +
      'and the burst may be spent at once (up to twice the burst around a window edge); a request costs its calls plus one per 1,440 series points ' +
      '(a day of minutes); past it: 429'
  ),
  tokenRateBurst: limit('tokenRateBurst', 1, 1_000_000, 'QUERY_API_TOKEN_RATE_BURST', 'calls per token in one window (see the rate)'),
  maxSubscriptionsPerToken: limit('maxSubscriptionsPerToken', 1, 1_000_000, 'QUERY_API_MAX_SUBSCRIPTIONS_PER_TOKEN', 'live SSE streams per token; more: 429'),
  maxSubscriptions: limit('maxSubscriptions', 1, 1_000_000, 'QUERY_API_MAX_SUBSCRIPTIONS', 'live SSE streams in total; more: 503'),
  authFailuresPerMinute: limit(
    'authFailuresPerMinute',
    1,
    1_000_000,
    'QUERY_API_AUTH_FAILURES_PER_MINUTE',
    'unknown tokens or malformed `Authorization` headers per client address and minute; past it the address gets 429 until the minute ends'
  ),
  headersTimeoutMs: limit('headersTimeoutMs', 100, 3_600_000, 'QUERY_API_HEADERS_TIMEOUT_MS', "time to send a request's headers, ms"),
  requestTimeoutMs: limit('requestTimeoutMs', 100, 3_600_000, 'QUERY_API_REQUEST_TIMEOUT_MS', 'time to send the whole request, ms'),
  keepAliveTimeoutMs: limit('keepAliveTimeoutMs', 100, 3_600_000, 'QUERY_API_KEEP_ALIVE_TIMEOUT_MS', 'idle keep-alive connection after a response, ms'),
  idleTimeoutMs: limit('idleTimeoutMs', 100, 3_600_000, 'QUERY_API_IDLE_TIMEOUT_MS', 'any socket without traffic, ms (SSE streams: at least 30 s)')
})

/** Options of `startQueryApi`; everything but `tokens` has a default. Unknown keys are refused. */
export const queryApiOptionsSchema = z.strictObject({
  port: int(0, 65_535).default(4000).meta(env('PORT', 'integer')).describe('listening port; 0 picks a free one'),
  host: text().default('127.0.0.1').meta(env('QUERY_API_HOST')).describe('listening interface'),
  brokers: brokersSchema
    .default(['127.0.0.1:9092'])
    .meta(env('KAFKA_BROKERS', 'list', '`127.0.0.1:9092`'))
    .describe('bootstrap brokers, comma-separated host:port'),
  registryUrl: text()
    .regex(/^https?:\/\/[^\s/]+/, { error: got('must be an http(s) URL') })
    .default('http://127.0.0.1:8081')
    .meta(env('SCHEMA_REGISTRY_URL'))
    .describe('schema registry base URL'),
  registryAuth: registryAuthSchema
    .optional()
    .meta(env('SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO', 'text', '(none)'))
    .describe('`user:password` the registry client sends with basic auth; `SCHEMA_REGISTRY_BEARER_AUTH_TOKEN` sends a bearer token instead'),
  tokens: z
    .custom<readonly ApiToken[]>((tokens) => Array.isArray(tokens), { error: 'must be an array of { token, scopes }' })
    .meta(env('QUERY_API_TOKENS', 'text', '(generated by `npm run query-api`)'))
    .describe('`token:scope[+scope],…`, scopes `read`, `admin`; at least one'),
  tls: tlsSchema.optional(),
  store: z
    .enum(StoreKinds, { error: got(`must be one of ${Object.values(StoreKinds).join(', ')}`) })
    .default(StoreKinds.rocksdb)
    .meta(env('QUERY_API_STORE'))
    .describe('`rocksdb` or `memory`: where materialized sessions live'),
  stateDir: text().default('./.state').meta(env('STATE_DIR')).describe('state root; the RocksDB folder is `<STATE_DIR>/query-api/<INSTANCE_ID>`'),
  instanceId: name()
    .prefault(() => `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._-]/g, '-'))
    .meta(env('INSTANCE_ID', 'text', '`<host>-<pid>`'))
    .describe('names this instance in health reports and its state folder'),
  maxRangeMs: int(60_000, 366 * DAY_MS)
    .default(7 * DAY_MS)
    .meta(env('QUERY_API_MAX_RANGE_MS', 'integer'))
    .describe('longest query range, ms'),
  retentionMs: int(60_000, 3650 * DAY_MS)
    .default(7 * DAY_MS)
    .meta(env('QUERY_API_RETENTION_MS', 'integer'))
    .describe('data kept before the newest window (traffic windows, sessions, sales windows), ms'),
  staticDir: text()
    .nullable()
    .default(DEFAULT_STATIC_DIR)
    .meta(env('QUERY_API_STATIC_DIR', 'text', '`dashboard/dist`'))
    .describe('folder served at `/` (index.html fallback); null serves nothing'),
  topics: trafficTopicsSchema.prefault({}),
  commerceTopics: commerceTopicsSchema.prefault({}),
  observationsTopic: name()
    .default(TRAFFIC_TOPICS.observations)
    .meta(env('QUERY_API_TOPIC_OBSERVATIONS'))
    .describe('traffic input topic (the topology the query API describes)'),
  trafficApplicationId: name().default('runnel-traffic').meta(env('TRAFFIC_APPLICATION_ID')).describe("the traffic workers' application id (consumer group)"),
  fetchMaxWaitMs: int(10, 30_000)
    .default(250)
    .meta(env('QUERY_API_FETCH_MAX_WAIT_MS', 'integer'))
    .describe('longest wait of one fetch for new records, ms: bounds the live-update delay'),
  limits: limitsSchema.prefault({}),
  logLevel: z
    .enum(LogLevels, { error: got(`must be one of ${LogLevels.join(', ')}`) })
    .default('info')
    .meta(env('LOG_LEVEL'))
    .describe('level of the default pino logger')
})

/** Options of `startQueryApi`; everything but `tokens` has a default. */
export type QueryApiOptions = z.input<typeof queryApiOptionsSchema>

type Parsed = z.output<typeof queryApiOptionsSchema>

/** Validated configuration with every default filled in. */
export type QueryApiConfig = Readonly<
  Omit<Parsed, 'registryAuth' | 'tls'> & {
    registryAuth: SchemaRegistryAuth | null
    tls: { readonly certFile: string; readonly keyFile: string } | null
    instanceDir: string
  }
>

/** The schemas of the nested options, by the prefix of their paths. */
const NESTED: Readonly<Record<string, z.ZodObject>> = {
  tls: tlsSchema,
  topics: trafficTopicsSchema,
  commerceTopics: commerceTopicsSchema,
  limits: limitsSchema
}

/** Every option as `[path, schema]`, nested ones as `topics.stats1m`, in declaration order. */
function leaves(): Array<[string, z.ZodType]> {
  return Object.entries(queryApiOptionsSchema.shape).flatMap(([key, field]): Array<[string, z.ZodType]> => {
    const nested = NESTED[key]
    return nested === undefined ? [[key, field]] : Object.entries(nested.shape).map(([inner, f]) => [`${key}.${inner}`, f])
  })
}

/** Environment variable of each option (error messages name both). */
const ENV: Readonly<Record<string, string>> = Object.fromEntries(
  leaves().flatMap(([path, field]) => {
    const variable = field.meta()?.env
    return typeof variable === 'string' ? [[path, variable]] : []
  })
)

function configError(issues: readonly z.core.$ZodIssue[]): QueryApiConfigError {
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]
  // An option is named down to its object keys: a bad list element names the list.
  const at = issue?.path ?? []
  const cut = at.findIndex((segment) => typeof segment !== 'string')
  const path = (cut < 0 ? at : at.slice(0, cut)).map(String)
  if (issue?.code === 'unrecognized_keys') {
    const known = Object.keys((path.length === 0 ? queryApiOptionsSchema : (NESTED[path.join('.')] ?? queryApiOptionsSchema)).shape)
    return new QueryApiConfigError([...path, String(issue.keys[0])].join('.'), `is not a known option; known: ${known.join(', ')}`)
  }
  return new QueryApiConfigError(path.length === 0 ? 'options' : path.join('.'), issue?.message ?? 'is invalid')
}

/** Validates options and fills in the defaults; throws `QueryApiConfigError` naming the first bad option. */
export function resolveConfig(options: QueryApiOptions): QueryApiConfig {
  if (typeof options !== 'object' || options === null) throw new QueryApiConfigError('options', 'must be an object')
  const parsed = queryApiOptionsSchema.safeParse(options)
  if (!parsed.success) throw configError(parsed.error.issues)
  const { registryAuth, tls, ...config } = parsed.data
  const tokens = checkApiTokens(config.tokens, 'tokens')
  if (tokens.length === 0) throw new QueryApiConfigError('tokens', 'at least one API token is required (e.g. QUERY_API_TOKENS="<token>:read+admin")')
  const { topics, commerceTopics } = config
  if (new Set(Object.values(topics)).size !== 3) throw new QueryApiConfigError('topics', 'stats1m, stats5m and sessions must be three different topics')
  if (new Set([...Object.values(topics), ...Object.values(commerceTopics)]).size !== 6) {
    throw new QueryApiConfigError('commerceTopics', 'sales1h, productRatings and categoryRatings must be three different topics, none of them a traffic topic')
  }
  checkLimits(config.limits)
  return {
    ...config,
    brokers: [...config.brokers],
    tokens,
    registryAuth: registryAuth ?? null,
    tls: tls ?? null,
    instanceDir: join(config.stateDir, 'query-api', config.instanceId)
  }
}

/** Registry credentials from SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO or SCHEMA_REGISTRY_BEARER_AUTH_TOKEN (Confluent's names). */
function registryAuthFromEnv(env: Readonly<Record<string, string | undefined>>): SchemaRegistryAuth | undefined {
  try {
    return schemaRegistryAuthFromEnv(env)
  } catch (err) {
    throw new QueryApiConfigError('registryAuth (SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO, SCHEMA_REGISTRY_BEARER_AUTH_TOKEN)', (err as Error).message, {
      cause: err
    })
  }
}

/** What the limits' bounds cannot say: how they must fit together. */
function checkLimits(limits: ServerLimits): void {
  if (limits.maxRequestPoints < limits.maxSeriesPoints) {
    throw new QueryApiConfigError(
      'limits.maxRequestPoints',
      `must be at least limits.maxSeriesPoints (${limits.maxSeriesPoints}), or the longest series could never be asked for`
    )
  }
  const largestCost = limits.maxBatchCalls + Math.ceil(limits.maxRequestPoints / POINTS_PER_CALL)
  if (limits.tokenRateBurst < largestCost) {
    throw new QueryApiConfigError(
      'limits.tokenRateBurst',
      `must be at least ${largestCost} (limits.maxBatchCalls + limits.maxRequestPoints / ${POINTS_PER_CALL}), or the largest request could never pass`
    )
  }
  if (limits.requestTimeoutMs < limits.headersTimeoutMs) {
    throw new QueryApiConfigError('limits.requestTimeoutMs', `must be at least limits.headersTimeoutMs (${limits.headersTimeoutMs})`)
  }
  if (limits.maxSubscriptionsPerToken > limits.maxSubscriptions) {
    throw new QueryApiConfigError('limits.maxSubscriptionsPerToken', `must be at most limits.maxSubscriptions (${limits.maxSubscriptions})`)
  }
}

/** The text of `variable`, undefined when unset or blank. */
function envText(env: Readonly<Record<string, string | undefined>>, variable: string): string | undefined {
  const raw = env[variable]?.trim()
  return raw === undefined || raw === '' ? undefined : raw
}

/** The value of an option's variable as its `envKind` says; a malformed integer names both. */
function envValue(env: Readonly<Record<string, string | undefined>>, path: string, field: z.ZodType): unknown {
  const meta = field.meta()
  const raw = typeof meta?.env === 'string' ? envText(env, meta.env) : undefined
  if (raw === undefined) return undefined
  switch (meta?.envKind) {
    case 'integer':
      if (!/^-?\d+$/.test(raw)) throw new QueryApiConfigError(`${path} (${ENV[path]})`, `must be an integer, got ${JSON.stringify(raw)}`)
      return Number(raw)
    case 'list':
      return raw
        .split(',')
        .map((b) => b.trim())
        .filter((b) => b !== '')
    default:
      return raw
  }
}

/** Options whose variables need more than `envValue`: read by `configFromEnv` itself. */
const SPECIAL = new Set(['tokens', 'registryAuth', 'tls.certFile', 'tls.keyFile'])

/**
 * Reads the options from the variables the schema names (`envTable()` lists them) and validates
 * them; errors name the option and its variable.
 */
export function configFromEnv(env: Readonly<Record<string, string | undefined>> = process.env, overrides: Partial<QueryApiOptions> = {}): QueryApiConfig {
  const cert = envText(env, ENV['tls.certFile'] ?? '')
  const key = envText(env, ENV['tls.keyFile'] ?? '')
  if ((cert === undefined) !== (key === undefined)) {
    throw new QueryApiConfigError(`tls (${ENV['tls.certFile']}, ${ENV['tls.keyFile']})`, 'set both the certificate and the key file, or neither')
  }
  const tokensText = envText(env, ENV.tokens ?? '')
  const options: Record<string, unknown> = {
    tokens: tokensText === undefined ? [] : parseApiTokens(tokensText, `tokens (${ENV.tokens})`),
    ...Object.fromEntries(
      Object.keys(NESTED)
        .filter((k) => k !== 'tls')
        .map((k) => [k, {}])
    )
  }
  const registryAuth = registryAuthFromEnv(env)
  if (registryAuth !== undefined) options.registryAuth = registryAuth
  if (cert !== undefined && key !== undefined) options.tls = { certFile: cert, keyFile: key }
  for (const [path, field] of leaves()) {
    const value = SPECIAL.has(path) ? undefined : envValue(env, path, field)
    if (value === undefined) continue
    const [outer, inner] = path.split('.') as [string, string | undefined]
    if (inner === undefined) options[outer] = value
    else (options[outer] as Record<string, unknown>)[inner] = value
  }
  try {
    // The values' types are the schema's to check.
    return resolveConfig({ ...options, ...overrides } as QueryApiOptions)
  } catch (err) {
    // Name the variable too, so the operator knows what to fix.
    if (err instanceof QueryApiConfigError && ENV[err.option] !== undefined) {
      throw new QueryApiConfigError(`${err.option} (${ENV[err.option]})`, err.message.replace(/^query-api: option [^:]+: /, ''), { cause: err })
    }
    throw err
  }
}

/** The README's table of variables: one row per variable, with its default and what it sets. */
export function envTable(): string[] {
  const rows = leaves().flatMap(([path, field]) => {
    const variable = field.meta()?.env
    if (typeof variable !== 'string') return []
    const doc = optionDocs(z.object({ [path]: field }))[0]
    return [[`\`${variable}\``, doc?.defaultText ?? '', `\`${path}\`: ${doc?.doc ?? ''}`]]
  })
  return markdownTable(['variable', 'default', 'option: meaning'], rows)
}

import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { tableIn } from '../runtime/index.ts'
import { configFromEnv, DEFAULT_STATIC_DIR, envTable, resolveConfig } from './config.ts'
import { QueryApiConfigError } from './errors.ts'

const TOKENS = [{ token: 'a-valid-token', scopes: ['read' as const] }]

function configError(fn: () => unknown): QueryApiConfigError {
  try {
    fn()
  } catch (err) {
    if (err instanceof QueryApiConfigError) return err
    throw err
  }
  throw new Error('expected a QueryApiConfigError')
}

describe('resolveConfig', () => {
  it('fills the defaults of the contract: port 4000, local broker and registry, rocksdb, 7-day range', () => {
    const c = resolveConfig({ tokens: TOKENS, instanceId: 'qa-1', stateDir: '/tmp/s' })
    expect(c).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      brokers: ['127.0.0.1:9092'],
      registryUrl: 'http://127.0.0.1:8081',
      tls: null,
      store: 'rocksdb',
      instanceDir: '/tmp/s/query-api/qa-1',
      maxRangeMs: 7 * 86_400_000,
      staticDir: DEFAULT_STATIC_DIR,
      topics: { stats1m: 'traffic.stats.1m', stats5m: 'traffic.stats.5m', sessions: 'traffic.traveler-sessions' },
      trafficApplicationId: 'runnel-traffic',
      commerceTopics: { sales1h: 'commerce.sales.1h', productRatings: 'commerce.product-ratings', categoryRatings: 'commerce.category-ratings' }
    })
  })

  it('names the bad option', () => {
    expect(configError(() => resolveConfig({ tokens: TOKENS, port: 70_000 })).option).toBe('port')
    expect(configError(() => resolveConfig({ tokens: [] })).option).toBe('tokens')
    expect(configError(() => resolveConfig({ tokens: TOKENS, brokers: ['nohost'] })).option).toBe('brokers')
    expect(configError(() => resolveConfig({ tokens: TOKENS, registryUrl: 'ftp://x' })).option).toBe('registryUrl')
    expect(configError(() => resolveConfig({ tokens: TOKENS, maxRangeMs: 10 })).option).toBe('maxRangeMs')
    expect(configError(() => resolveConfig({ tokens: TOKENS, topics: { stats1m: 'a', stats5m: 'a' } })).option).toBe('topics')
    expect(configError(() => resolveConfig({ tokens: TOKENS, topics: { sessions: 'bad topic' } })).option).toBe('topics.sessions')
    expect(configError(() => resolveConfig({ tokens: TOKENS, commerceTopics: { sales1h: 'x', categoryRatings: 'x' } })).option).toBe('commerceTopics')
    expect(configError(() => resolveConfig({ tokens: TOKENS, commerceTopics: { productRatings: 'traffic.stats.1m' } })).option).toBe('commerceTopics')
    expect(configError(() => resolveConfig({ tokens: TOKENS, commerceTopics: { productRatings: 'a/b' } })).option).toBe('commerceTopics.productRatings')
    expect(configError(() => resolveConfig({ tokens: TOKENS, store: 'disk' as never })).option).toBe('store')
    expect(configError(() => resolveConfig({ tokens: TOKENS, tls: { certFile: 'c.pem', keyFile: '' } })).option).toBe('tls.keyFile')
    expect(configError(() => resolveConfig({ tokens: TOKENS, limits: { maxBatchCalls: 0 } })).option).toBe('limits.maxBatchCalls')
    expect(configError(() => resolveConfig({ tokens: TOKENS, limits: { maxResponseBytes: 1.5 } })).option).toBe('limits.maxResponseBytes')
    expect(configError(() => resolveConfig({ tokens: TOKENS, limits: { maxBatchCalls: 50, tokenRateBurst: 40 } })).option).toBe('limits.tokenRateBurst')
    expect(configError(() => resolveConfig({ tokens: TOKENS, limits: { maxRequestPoints: 14_400, tokenRateBurst: 20 } })).option).toBe('limits.tokenRateBurst')
    expect(configError(() => resolveConfig({ tokens: TOKENS, limits: { maxRequestPoints: 1000 } })).option).toBe('limits.maxRequestPoints')
    expect(configError(() => resolveConfig({ tokens: TOKENS, limits: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 } })).option).toBe(
      'limits.requestTimeoutMs'
    )
    expect(configError(() => resolveConfig({ tokens: TOKENS, limits: { maxSubscriptions: 10 } })).option).toBe('limits.maxSubscriptionsPerToken')
    expect(configError(() => resolveConfig({ tokens: TOKENS, limits: { maxBatch: 3 } as never })).option).toBe('limits.maxBatch')
  })

  it('fills the default limits: 20 calls per batch, 10,080 points per series, 16 MiB responses, 8 queries in flight and 50 calls/s per token', () => {
    expect(resolveConfig({ tokens: TOKENS }).limits).toEqual({
      maxBatchCalls: 20,
      maxSeriesPoints: 10_080,
      maxRequestPoints: 20_160,
      maxResponseBytes: 16 * 1024 * 1024,
      tokenConcurrency: 8,
      tokenRatePerSecond: 50,
      tokenRateBurst: 200,
      maxSubscriptionsPerToken: 50,
      maxSubscriptions: 1000,
      authFailuresPerMinute: 20,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      idleTimeoutMs: 60_000
    })
  })
})

describe('configFromEnv', () => {
  it('maps the variables onto the options', () => {
    const c = configFromEnv({
      PORT: '0',
      KAFKA_BROKERS: 'a:1, b:2',
      SCHEMA_REGISTRY_URL: 'http://r:1',
      QUERY_API_TOKENS: 'reader-token-1:read,admin-token-1:read+admin',
      QUERY_API_STORE: 'memory',
      QUERY_API_MAX_RANGE_MS: '3600000',
      QUERY_API_TOPIC_STATS_1M: 't1',
      QUERY_API_TLS_CERT: 'c.pem',
      QUERY_API_TLS_KEY: 'k.pem',
      TRAFFIC_APPLICATION_ID: 'traffic-x',
      INSTANCE_ID: 'i-1',
      QUERY_API_TOPIC_SALES_1H: 'shop.sales',
      QUERY_API_TOPIC_CATEGORY_RATINGS: 'shop.categories'
    })
    expect(c).toMatchObject({
      port: 0,
      brokers: ['a:1', 'b:2'],
      registryUrl: 'http://r:1',
      store: 'memory',
      maxRangeMs: 3_600_000,
      instanceId: 'i-1',
      tls: { certFile: 'c.pem', keyFile: 'k.pem' },
      trafficApplicationId: 'traffic-x',
      topics: { stats1m: 't1', stats5m: 'traffic.stats.5m', sessions: 'traffic.traveler-sessions' },
      commerceTopics: { sales1h: 'shop.sales', productRatings: 'commerce.product-ratings', categoryRatings: 'shop.categories' }
    })
    expect(c.tokens).toEqual([
      { token: 'reader-token-1', scopes: ['read'] },
      { token: 'admin-token-1', scopes: ['read', 'admin'] }
    ])
  })

  it('names the option and its variable in errors', () => {
    const base = { QUERY_API_TOKENS: 'reader-token-1:read' }
    expect(configError(() => configFromEnv({ ...base, PORT: 'abc' })).message).toBe('query-api: option port (PORT): must be an integer, got "abc"')
    expect(configError(() => configFromEnv({ ...base, PORT: '99999' })).message).toMatch(/^query-api: option port \(PORT\): must be an integer from 0 to 65535/)
    expect(configError(() => configFromEnv({ ...base, QUERY_API_STORE: 'x' })).message).toMatch(/option store \(QUERY_API_STORE\)/)
    expect(configError(() => configFromEnv({ ...base, QUERY_API_TOPIC_PRODUCT_RATINGS: 'no way' })).message).toMatch(
      /option commerceTopics.productRatings \(QUERY_API_TOPIC_PRODUCT_RATINGS\)/
    )
    expect(configError(() => configFromEnv({ ...base, QUERY_API_TLS_CERT: 'c.pem' })).message).toMatch(/QUERY_API_TLS_CERT, QUERY_API_TLS_KEY.*both/)
    expect(configError(() => configFromEnv({ QUERY_API_TOKENS: 'x:read' })).message).toMatch(/QUERY_API_TOKENS/)
    expect(configError(() => configFromEnv({})).message).toMatch(/option tokens \(QUERY_API_TOKENS\): at least one API token/)
    expect(configError(() => configFromEnv({ ...base, QUERY_API_MAX_BATCH_CALLS: '0' })).message).toMatch(
      /^query-api: option limits.maxBatchCalls \(QUERY_API_MAX_BATCH_CALLS\): must be an integer from 1/
    )
    expect(configError(() => configFromEnv({ ...base, QUERY_API_IDLE_TIMEOUT_MS: 'soon' })).message).toBe(
      'query-api: option limits.idleTimeoutMs (QUERY_API_IDLE_TIMEOUT_MS): must be an integer, got "soon"'
    )
  })

  it('maps the limit variables onto limits.*', () => {
    const c = configFromEnv({
      QUERY_API_TOKENS: 'reader-token-1:read',
      QUERY_API_MAX_BATCH_CALLS: '5',
      QUERY_API_MAX_SERIES_POINTS: '1440',
      QUERY_API_MAX_REQUEST_POINTS: '2880',
      QUERY_API_MAX_RESPONSE_BYTES: '1048576',
      QUERY_API_TOKEN_CONCURRENCY: '2',
      QUERY_API_TOKEN_RATE_PER_SECOND: '3',
      QUERY_API_TOKEN_RATE_BURST: '7',
      QUERY_API_MAX_SUBSCRIPTIONS_PER_TOKEN: '4',
      QUERY_API_MAX_SUBSCRIPTIONS: '9',
      QUERY_API_AUTH_FAILURES_PER_MINUTE: '7',
      QUERY_API_HEADERS_TIMEOUT_MS: '2000',
      QUERY_API_REQUEST_TIMEOUT_MS: '3000',
      QUERY_API_KEEP_ALIVE_TIMEOUT_MS: '1000',
      QUERY_API_IDLE_TIMEOUT_MS: '4000'
    })
    expect(c.limits).toEqual({
      maxBatchCalls: 5,
      maxSeriesPoints: 1440,
      maxRequestPoints: 2880,
      maxResponseBytes: 1_048_576,
      tokenConcurrency: 2,
      tokenRatePerSecond: 3,
      tokenRateBurst: 7,
      maxSubscriptionsPerToken: 4,
      maxSubscriptions: 9,
      authFailuresPerMinute: 7,
      headersTimeoutMs: 2000,
      requestTimeoutMs: 3000,
      keepAliveTimeoutMs: 1000,
      idleTimeoutMs: 4000
    })
  })
})

describe('the query API README', () => {
  it('lists every variable with its option, default and meaning, as queryApiOptionsSchema declares them', () => {
    const expected = envTable()
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8')
    expect(tableIn(readme, expected[0] ?? ''), 'query-api/README.md variable table (paste the expected lines)').toEqual(expected)
  })

  it('reads every variable of the table, and LOG_LEVEL and QUERY_API_TOPIC_OBSERVATIONS through the schema', () => {
    const c = configFromEnv({ QUERY_API_TOKENS: 'reader-token-1:read', LOG_LEVEL: 'warn', QUERY_API_TOPIC_OBSERVATIONS: 'obs-x', STATE_DIR: '/s' })
    expect(c).toMatchObject({ logLevel: 'warn', observationsTopic: 'obs-x', stateDir: '/s' })
    expect(configError(() => configFromEnv({ QUERY_API_TOKENS: 'reader-token-1:read', LOG_LEVEL: 'loud' })).message).toMatch(
      /^query-api: option logLevel \(LOG_LEVEL\): must be one of fatal, /
    )
  })

  it('refuses unknown options at any level, naming them', () => {
    expect(configError(() => resolveConfig({ tokens: TOKENS, prot: 1 } as never)).option).toBe('prot')
    expect(configError(() => resolveConfig({ tokens: TOKENS, topics: { stats15m: 'x' } } as never)).option).toBe('topics.stats15m')
  })
})

/**
 * Every name and port `npm start` uses, each set by one environment variable, declared once: the
 * README's table lists the same variables (`START_VARIABLES`). `RUNNEL_PREFIX` prefixes every topic,
 * application id, the registry's topic and the state folders, so that several stacks can share a
 * cluster; a variable of its own wins over the prefix.
 */

/** The variables of `npm start`, with their defaults and what they set (the README's table). */
export const START_VARIABLES = {
  RUNNEL_PREFIX: ['(empty)', 'prefix of every topic, application id, the registry topic and the state folders below'],
  KAFKA_BROKERS: ['(local Kafka)', 'use this cluster (comma-separated host:port); nothing is started or stopped'],
  KAFKA_PORT: ['9092', 'broker port of the local Kafka (its controller: the next port)'],
  SCHEMA_REGISTRY_URL: ['(embedded)', 'use this registry instead of starting the embedded one'],
  REGISTRY_PORT: ['8081', 'port of the embedded registry'],
  REGISTRY_TOPIC: ['<prefix>_schemas', 'topic of the embedded registry'],
  PORT: ['4000', 'port of the query API and dashboard'],
  RUNNEL_METRICS_PORT: ['9401', 'metrics ports: worker-1 this one, worker-2 the next, the commerce worker the one after'],
  RUNNEL_STATE_DIR: ['.state', "root of the workers' and query API's state folders"],
  RUNNEL_TOKEN: ['(random)', 'the API token printed in the dashboard URL'],
  RUNNEL_DASHBOARD_BUILD: ['true', 'false: serve the existing dashboard/dist without building it'],
  RUNNEL_TRAFFIC_BACKFILL_MS: ['1800000', 'traffic history written when its input topic is empty (30 min)'],
  RUNNEL_SHOP_BACKFILL_MS: ['3600000', 'shop history written when `analytics` is empty (1 h)'],
  TRAFFIC_APPLICATION_ID: ['<prefix>runnel-traffic', 'application id (consumer group) of the traffic workers'],
  COMMERCE_APPLICATION_ID: ['<prefix>runnel-commerce', 'application id of the commerce worker'],
  TRAFFIC_OBSERVATIONS_TOPIC: ['<prefix>traffic.observations', 'traffic input (simulator, workers)'],
  TRAFFIC_STATS_1M_TOPIC: ['<prefix>traffic.stats.1m', 'traffic output (workers, query API)'],
  TRAFFIC_STATS_5M_TOPIC: ['<prefix>traffic.stats.5m', 'traffic output'],
  TRAFFIC_SESSIONS_TOPIC: ['<prefix>traffic.traveler-sessions', 'traffic output'],
  COMMERCE_ANALYTICS_TOPIC: ['<prefix>analytics', "the seed's JSON events (shop simulator, bridge)"],
  COMMERCE_ANALYTICS_DLQ_TOPIC: ['<prefix>analytics.dlq', 'rejected seed events'],
  COMMERCE_PRODUCT_SOLD_TOPIC: ['<prefix>commerce.product-sold', 'typed sales (bridge output, analytics input)'],
  COMMERCE_PRODUCT_RATED_TOPIC: ['<prefix>commerce.product-rated', 'typed ratings'],
  COMMERCE_SALES_TOPIC: ['<prefix>commerce.sales.1h', 'commerce output (worker, query API)'],
  COMMERCE_PRODUCT_RATINGS_TOPIC: ['<prefix>commerce.product-ratings', 'commerce output'],
  COMMERCE_CATEGORY_RATINGS_TOPIC: ['<prefix>commerce.category-ratings', 'commerce output']
} as const satisfies Record<string, readonly [string, string]>

/** One of `START_VARIABLES`. */
export type StartVariable = keyof typeof START_VARIABLES

/** The names and ports of one stack. */
export interface StartConfig {
  readonly prefix: string
  /** Undefined: start (or use) the local Kafka on `kafkaPort`. */
  readonly brokers: readonly string[] | undefined
  readonly kafkaPort: number
  /** Undefined: start the embedded registry on `registryPort`. */
  readonly registryUrl: string | undefined
  readonly registryPort: number
  readonly registryTopic: string
  readonly apiPort: number
  /** Metrics ports of worker-1, worker-2 and the commerce worker. */
  readonly metricsPorts: readonly [number, number, number]
  readonly stateDir: string
  readonly token: string | undefined
  readonly buildDashboard: boolean
  readonly trafficBackfillMs: number
  readonly shopBackfillMs: number
  readonly applicationIds: { readonly traffic: string; readonly commerce: string }
  readonly trafficTopics: { readonly observations: string; readonly stats1m: string; readonly stats5m: string; readonly sessions: string }
  readonly commerceTopics: {
    readonly analytics: string
    readonly analyticsDlq: string
    readonly productSold: string
    readonly productRated: string
    readonly sales1h: string
    readonly productRatings: string
    readonly categoryRatings: string
  }
}

/** A bad variable of `npm start`; the message names it. */
export class StartConfigError extends Error {
  readonly code = 'START_BAD_VARIABLE'
  readonly variable: StartVariable
  constructor(variable: StartVariable, message: string) {
    super(`${variable}: ${message}`)
    this.name = 'StartConfigError'
    this.variable = variable
  }
}

const NAME = /^[A-Za-z0-9._-]*$/

/** Reads the configuration of `npm start` from `env` (`root`: the repository, for the state folder). */
export function startConfigFromEnv(env: Readonly<Record<string, string | undefined>>, root: string): StartConfig {
  const text = (name: StartVariable): string | undefined => {
    const value = env[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }
  const integer = (name: StartVariable, fallback: number, min: number, max: number): number => {
    const raw = text(name)
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!/^\d+$/.test(raw) || value < min || value > max)
      throw new StartConfigError(name, `must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`)
    return value
  }
  const port = (name: StartVariable, fallback: number): number => integer(name, fallback, 1, 65535)
  const prefix = text('RUNNEL_PREFIX') ?? ''
  if (!NAME.test(prefix)) throw new StartConfigError('RUNNEL_PREFIX', `must be characters of [A-Za-z0-9._-], got ${JSON.stringify(prefix)}`)
  const named = (name: StartVariable, fallback: string): string => {
    const value = text(name) ?? prefix + fallback
    if (!NAME.test(value)) throw new StartConfigError(name, `must be characters of [A-Za-z0-9._-], got ${JSON.stringify(value)}`)
    return value
  }
  const brokers = text('KAFKA_BROKERS')
    ?.split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '')
  const metricsPort = integer('RUNNEL_METRICS_PORT', 9401, 1, 65533)
  const build = text('RUNNEL_DASHBOARD_BUILD') ?? 'true'
  if (build !== 'true' && build !== 'false') throw new StartConfigError('RUNNEL_DASHBOARD_BUILD', `must be true or false, got ${JSON.stringify(build)}`)
  const stateDir = text('RUNNEL_STATE_DIR') ?? '.state'
  return {
    prefix,
    brokers: brokers === undefined || brokers.length === 0 ? undefined : brokers,
    kafkaPort: integer('KAFKA_PORT', 9092, 1, 65534),
    registryUrl: text('SCHEMA_REGISTRY_URL'),
    registryPort: port('REGISTRY_PORT', 8081),
    registryTopic: named('REGISTRY_TOPIC', '_schemas'),
    apiPort: port('PORT', 4000),
    metricsPorts: [metricsPort, metricsPort + 1, metricsPort + 2],
    stateDir: stateDir.startsWith('/') ? stateDir : `${root}/${stateDir}`,
    token: text('RUNNEL_TOKEN'),
    buildDashboard: build === 'true',
    trafficBackfillMs: integer('RUNNEL_TRAFFIC_BACKFILL_MS', 30 * 60_000, 0, 7 * 24 * 3_600_000),
    shopBackfillMs: integer('RUNNEL_SHOP_BACKFILL_MS', 60 * 60_000, 0, 7 * 24 * 3_600_000),
    applicationIds: { traffic: named('TRAFFIC_APPLICATION_ID', 'runnel-traffic'), commerce: named('COMMERCE_APPLICATION_ID', 'runnel-commerce') },
    trafficTopics: {
      observations: named('TRAFFIC_OBSERVATIONS_TOPIC', 'traffic.observations'),
      stats1m: named('TRAFFIC_STATS_1M_TOPIC', 'traffic.stats.1m'),
      stats5m: named('TRAFFIC_STATS_5M_TOPIC', 'traffic.stats.5m'),
      sessions: named('TRAFFIC_SESSIONS_TOPIC', 'traffic.traveler-sessions')
    },
    commerceTopics: {
      analytics: named('COMMERCE_ANALYTICS_TOPIC', 'analytics'),
      analyticsDlq: named('COMMERCE_ANALYTICS_DLQ_TOPIC', 'analytics.dlq'),
      productSold: named('COMMERCE_PRODUCT_SOLD_TOPIC', 'commerce.product-sold'),
      productRated: named('COMMERCE_PRODUCT_RATED_TOPIC', 'commerce.product-rated'),
      sales1h: named('COMMERCE_SALES_TOPIC', 'commerce.sales.1h'),
      productRatings: named('COMMERCE_PRODUCT_RATINGS_TOPIC', 'commerce.product-ratings'),
      categoryRatings: named('COMMERCE_CATEGORY_RATINGS_TOPIC', 'commerce.category-ratings')
    }
  }
}

/** The environment of the stack's children: the topic and id variables of the workers, simulators and query API. */
export function childEnv(config: StartConfig): Record<string, string> {
  const t = config.trafficTopics
  const c = config.commerceTopics
  return {
    TRAFFIC_OBSERVATIONS_TOPIC: t.observations,
    TRAFFIC_STATS_1M_TOPIC: t.stats1m,
    TRAFFIC_STATS_5M_TOPIC: t.stats5m,
    TRAFFIC_SESSIONS_TOPIC: t.sessions,
    COMMERCE_ANALYTICS_TOPIC: c.analytics,
    COMMERCE_ANALYTICS_DLQ_TOPIC: c.analyticsDlq,
    COMMERCE_PRODUCT_SOLD_TOPIC: c.productSold,
    COMMERCE_PRODUCT_RATED_TOPIC: c.productRated,
    COMMERCE_SALES_TOPIC: c.sales1h,
    COMMERCE_PRODUCT_RATINGS_TOPIC: c.productRatings,
    COMMERCE_CATEGORY_RATINGS_TOPIC: c.categoryRatings,
    // The query API reads the output topics under its own names.
    QUERY_API_TOPIC_STATS_1M: t.stats1m,
    QUERY_API_TOPIC_STATS_5M: t.stats5m,
    QUERY_API_TOPIC_SESSIONS: t.sessions,
    QUERY_API_TOPIC_SALES_1H: c.sales1h,
    QUERY_API_TOPIC_PRODUCT_RATINGS: c.productRatings,
    QUERY_API_TOPIC_CATEGORY_RATINGS: c.categoryRatings,
    TRAFFIC_APPLICATION_ID: config.applicationIds.traffic,
    COMMERCE_APPLICATION_ID: config.applicationIds.commerce
  }
}

/**
 * `startQueryApi`: wires one query API instance together. It opens the local store, notes the end
 * offsets of the output topics (traffic and commerce, one follower: readiness covers all six),
 * starts listening (health answers `catching-up` meanwhile), replays the topics from the beginning
 * and keeps following them.
 */
import { mkdir } from 'node:fs/promises'
import { pino, type Logger } from 'pino'
import { TokenAuthenticator } from './auth.ts'
import { CommerceMaterializer } from './commerce-materializer.ts'
import { knownProductCount } from './commerce-queries.ts'
import { resolveConfig, type QueryApiConfig, type QueryApiOptions } from './config.ts'
import { HealthStates, summarizeProgress, type HealthReport } from './health.ts'
import { Materializer } from './materializer.ts'
import { createProductRest } from './product-rest.ts'
import { RatingsIndex } from './ratings-index.ts'
import { RefusalCounter } from './refusals.ts'
import { createAppRouter, type QueryServices } from './router.ts'
import { SalesIndex } from './sales-index.ts'
import { SeriesIndex } from './series-index.ts'
import { createQueryServer } from './server.ts'
import { SessionIndex } from './session-index.ts'
import { openQueryStore } from './store.ts'
import { SystemInfo } from './system-info.ts'
import { TopicFollower } from './topic-follower.ts'
import { WorkerStatusBoard } from './worker-status.ts'
import { buildTrafficTopology } from '../apps/traffic/index.ts'
import { SchemaRegistryClient } from '../schemas/index.ts'
import type { TopologyDescription } from '../topology/index.ts'
import type { KafkaClientSupplier } from '../kafka/index.ts'

/** Extra wiring of `startQueryApi` (not configuration). */
export interface QueryApiWiring {
  /** Structured logger; default pino at the configured `logLevel`. */
  logger?: Logger
  /**
   * The workers' topology for `system.topology` and task ids in `system.instances`. Default: the
   * traffic topology of apps/traffic, built with this API's topic names and described (nothing runs).
   * `null`: none (system.topology answers 412).
   */
  topology?: (() => TopologyDescription) | null
  /** Name of the input topic shown in the default topology. Default the configured `observationsTopic`. */
  observationsTopic?: string
  /** Wall clock, epoch ms ("the last hour" of the commerce answers). Default `Date.now`. */
  now?: () => number
  /** Where every Kafka client of the instance comes from (TLS, authentication, instrumentation). Default: plain clients. */
  clients?: KafkaClientSupplier
}

/** A running query API instance. */
export interface RunningQueryApi {
  readonly url: string
  readonly port: number
  readonly config: QueryApiConfig
  /** True once the instance caught up with the end offsets that existed at start. */
  readonly ready: boolean
  whenReady(): Promise<void>
  health(): HealthReport
  /** Stops serving, stops following and closes the store. */
  close(): Promise<void>
}

/** Starts one instance; rejects on bad options (naming the option) or when Kafka cannot be reached. */
export async function startQueryApi(options: QueryApiOptions | QueryApiConfig, wiring: QueryApiWiring = {}): Promise<RunningQueryApi> {
  const config = 'instanceDir' in options ? options : resolveConfig(options)
  const logger = wiring.logger ?? pino({ name: 'query-api', level: config.logLevel })
  const log = logger.child({ instanceId: config.instanceId })
  const authenticator = new TokenAuthenticator(config.tokens)
  const startedAt = Date.now()

  await mkdir(config.instanceDir, { recursive: true })
  const store = await openQueryStore(config.store, config.instanceDir)
  const series = new SeriesIndex()
  const sessions = new SessionIndex(store)
  const registry = new SchemaRegistryClient({ url: config.registryUrl, ...(config.registryAuth === null ? {} : { auth: config.registryAuth }) })
  const sales = new SalesIndex()
  const ratings = new RatingsIndex()
  const refusals = new RefusalCounter(log)
  const commerce = new CommerceMaterializer({ topics: config.commerceTopics, registry, sales, ratings, refusals, logger: log })
  const materializer = new Materializer({ topics: config.topics, registry, series, sessions, refusals, commerce, logger: log })
  const now = wiring.now ?? Date.now
  const clients = wiring.clients === undefined ? {} : { clients: wiring.clients }
  const follower = new TopicFollower({
    brokers: config.brokers,
    topics: [
      config.topics.stats1m,
      config.topics.stats5m,
      config.topics.sessions,
      config.commerceTopics.sales1h,
      config.commerceTopics.productRatings,
      config.commerceTopics.categoryRatings
    ],
    clientId: `runnel-query-api-${config.instanceId}`,
    maxWaitMs: config.fetchMaxWaitMs,
    ...clients,
    onRecords: (records) => materializer.apply(records),
    logger: log
  })
  // The workers' own status reports; following them is best effort and never affects readiness.
  const board = new WorkerStatusBoard()
  const statusFollower = new TopicFollower({
    brokers: config.brokers,
    topics: [`${config.trafficApplicationId}-status`],
    clientId: `runnel-query-api-${config.instanceId}-status`,
    maxWaitMs: 1000,
    ...clients,
    onRecords: (records) => board.apply(records),
    logger: log
  })
  const topology =
    wiring.topology === null
      ? undefined
      : (wiring.topology ??
        (() =>
          buildTrafficTopology({
            registry,
            topics: { ...config.topics, observations: wiring.observationsTopic ?? config.observationsTopic }
          }).describe()))
  const system = new SystemInfo({
    brokers: config.brokers,
    applicationId: config.trafficApplicationId,
    topology,
    clientId: `runnel-query-api-${config.instanceId}-admin`,
    statuses: () => board.reports(),
    ...clients
  })

  let started = false
  const health = (): HealthReport => {
    const ready = started && follower.ready
    const partitions = follower.progress()
    const counts = materializer.counts
    return {
      status: !started ? HealthStates.starting : ready ? HealthStates.ready : HealthStates.catchingUp,
      ready,
      instanceId: config.instanceId,
      startedAt,
      uptimeMs: Date.now() - startedAt,
      progress: summarizeProgress(partitions, ready),
      materialized: {
        windows: series.size,
        sessions: sessions.size,
        sensors: series.sensors().length,
        salesWindows: sales.size,
        products: knownProductCount({ sales, ratings }),
        ratedProducts: ratings.productCount,
        categories: ratings.categoryCount
      },
      records: { ...counts, read: follower.recordsRead, commerce: commerce.counts },
      kafka: { topics: follower.followedTopics, lastError: follower.lastError ?? null }
    }
  }
  const services: QueryServices = {
    instanceId: config.instanceId,
    maxRangeMs: config.maxRangeMs,
    maxSeriesPoints: config.limits.maxSeriesPoints,
    series,
    sessions,
    changes: materializer,
    health,
    system,
    commerce: { data: { sales, ratings }, changes: commerce },
    now
  }

  const cleanup = async (): Promise<void> => {
    await follower.close().catch((err: unknown) => log.warn({ err }, 'closing the follower failed'))
    await statusFollower.close().catch((err: unknown) => log.warn({ err }, 'closing the status follower failed'))
    await system.close().catch((err: unknown) => log.warn({ err }, 'closing the admin client failed'))
    await store.close().catch((err: unknown) => log.warn({ err }, 'closing the store failed'))
  }

  let server: Awaited<ReturnType<typeof createQueryServer>>
  try {
    await follower.start()
    await statusFollower.start()
    started = true
    server = await createQueryServer({
      router: createAppRouter(services),
      authenticator,
      ready: () => started && follower.ready,
      rest: createProductRest({ authenticator, data: { sales, ratings }, now, ready: () => started && follower.ready }),
      host: config.host,
      port: config.port,
      tls: config.tls,
      staticDir: config.staticDir,
      limits: config.limits,
      now,
      accessLog: log.child({ component: 'access' }),
      onInternalError: (err, path) => log.error({ err, path }, 'internal error')
    })
  } catch (err) {
    await cleanup()
    throw err
  }
  log.info(
    { url: server.url, topics: config.topics, commerceTopics: config.commerceTopics, store: config.store },
    'query API listening; catching up with the topics'
  )
  const readyAt = follower.whenReady().then(() => {
    log.info({ windows: series.size, records: follower.recordsRead, ms: Date.now() - startedAt }, 'query API ready')
  })

  // Retention: the topics drop old data without tombstones, so the local copy must drop it too.
  const eviction = setInterval(() => {
    const evicted = materializer.evictOlderThan(config.retentionMs)
    const latestSales = sales.latestWindowStart
    const salesWindows = latestSales === null ? 0 : sales.deleteBefore(latestSales - config.retentionMs)
    if (evicted.windows + evicted.sessions + salesWindows > 0) log.info({ ...evicted, salesWindows }, 'dropped data past retention')
  }, 60_000)
  eviction.unref()

  let closing: Promise<void> | undefined
  return {
    url: server.url,
    port: server.port,
    config,
    get ready() {
      return follower.ready
    },
    whenReady: () => readyAt,
    health,
    close: () => {
      closing ??= (async () => {
        clearInterval(eviction)
        await server.close()
        await cleanup()
      })()
      return closing
    }
  }
}

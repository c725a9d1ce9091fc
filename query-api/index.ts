/**
 * query-api/: a tRPC service that materializes the traffic output topics (traffic.stats.1m,
 * traffic.stats.5m, traffic.traveler-sessions) and the commerce output topics (commerce.sales.1h,
 * commerce.product-ratings, commerce.category-ratings) into local indexes and answers typed queries,
 * with live updates over SSE, the seed's REST endpoints (`/api/product/...`), bearer-token scopes,
 * admission limits (limits.ts), an access log and optional TLS. The dashboard imports `AppRouter`.
 */
export { type AppRouter, createAppRouter, type QueryServices, type SensorsResult, type SeriesResult, type LiveEvent } from './router.ts'
export { startQueryApi, type RunningQueryApi, type QueryApiWiring } from './query-api.ts'
export { resolveConfig, configFromEnv, DEFAULT_STATIC_DIR, type QueryApiOptions, type QueryApiConfig } from './config.ts'
export { createQueryClient, type QueryClientOptions } from './client.ts'
export { NodeEventSource, type NodeEventSourceInit } from './event-source.ts'
export { Scopes, type Scope, type ApiToken, parseApiTokens, TokenAuthenticator } from './auth.ts'
export { QueryApiError, QueryApiConfigError, QueryApiErrorCodes, type QueryApiErrorCode } from './errors.ts'
export { type QueryErrorData } from './trpc.ts'
export { type HealthReport, type PublicHealth, HealthStates, type HealthState } from './health.ts'
export { type ServerLimits, DEFAULT_SERVER_LIMITS } from './limits.ts'
export { type SeriesPoint, aggregateSeries } from './aggregate.ts'
export { type WindowStats, type SensorSummary, type Resolution, Resolutions, WINDOW_SIZE_MS, WINDOW_STEP_MS, SeriesIndex } from './series-index.ts'
export { type TravelerSessionView, type SessionPage, SessionIndex } from './session-index.ts'
export { type LagReport, type PartitionLag, type InstancesReport, type WorkerInstance, type TopologyView, type TopologyNodeView } from './system-info.ts'
export { type WorkerStatusView, type WorkerTaskView } from './worker-status.ts'
export { type TrafficTopics, DEFAULT_TRAFFIC_TOPICS, type WindowChange } from './materializer.ts'
export { StoreKinds, type StoreKindName } from './store.ts'
export { type CommerceOutputTopics, DEFAULT_COMMERCE_TOPICS, type CommerceChange, type CommerceCounts } from './commerce-materializer.ts'
export { type CommerceLiveEvent, DEFAULT_SERIES_MS } from './commerce-router.ts'
export {
  type SalesPoint,
  type ProductLabel,
  type ProductSalesResult,
  type TopProduct,
  type TopProductsResult,
  type ProductSummary,
  type ProductsResult,
  type ProductRatingsResult,
  type CategoryRatingsResult,
  currencyUnits
} from './commerce-queries.ts'
export { type SalesFigures } from './sales-index.ts'
export { type StarHistogram, type RatingFigures, type ProductRatingView, type CategoryRatingView } from './ratings-index.ts'
export { matchProductRoute, ProductEndpoints, type ProductEndpoint } from './product-rest.ts'

/**
 * The shapes the dashboard works with, all derived from the query API's router type: when a
 * procedure's input or output changes, these change with it and the typecheck shows every use.
 */
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server'
import type { AppRouter } from '../../../query-api/index.ts'

export type { AppRouter }

/** Outputs of every procedure, by path. */
export type RouterOutputs = inferRouterOutputs<AppRouter>
/** Inputs of every procedure, by path. */
export type RouterInputs = inferRouterInputs<AppRouter>

/** `traffic.sensors` output. */
export type SensorsResult = RouterOutputs['traffic']['sensors']
/** One sensor of `traffic.sensors`. */
export type SensorSummary = SensorsResult['sensors'][number]
/** A traveler type of the contract (PEDESTRIAN, CAR...). */
export type TravelerType = SensorsResult['knownTravelerTypes'][number]
/** `traffic.series` input and output. */
export type SeriesInput = RouterInputs['traffic']['series']
export type SeriesResult = RouterOutputs['traffic']['series']
/** One zero-filled window of a series. */
export type SeriesPoint = SeriesResult['points'][number]
/** Window resolution of a series: '1m' | '5m'. */
export type Resolution = SeriesResult['resolution']
/** `traffic.sessions` output and one of its rows. */
export type SessionPage = RouterOutputs['traffic']['sessions']
export type TravelerSession = SessionPage['items'][number]
/** `traffic.live` input. */
export type LiveInput = RouterInputs['traffic']['live']
/** `system.*` outputs. */
export type TopologyView = RouterOutputs['system']['topology']
export type TopologyNode = TopologyView['subtopologies'][number]['nodes'][number]
export type LagReport = RouterOutputs['system']['lag']
export type InstancesReport = RouterOutputs['system']['instances']
export type WorkerInstance = InstancesReport['instances'][number]
/** `system.health` with a token: the full report (without a valid token the API answers only `{ status, ready }`). */
export type HealthReport = Extract<RouterOutputs['system']['health'], { progress: unknown }>
/** One event of the `traffic.live` subscription. */
export type LiveEvent = RouterOutputs['traffic']['live'] extends AsyncIterable<infer TEvent> ? TEvent : never
/** What a worker last reported about itself (runtime status topic), when the API has a report. */
export type WorkerStatus = NonNullable<WorkerInstance['status']>
export type WorkerTask = WorkerStatus['tasks'][number]

/** `commerce.products` output and one known product. */
export type CommerceProducts = RouterOutputs['commerce']['products']
export type ProductSummary = CommerceProducts['products'][number]
/** `commerce.sales` output: a product's last hour and its series of 1-hour windows. */
export type ProductSalesResult = RouterOutputs['commerce']['sales']
/** One 1-hour window of a product's sales (a point of its series). */
export type SalesPoint = ProductSalesResult['points'][number]
/** `commerce.top` output and one of its products. */
export type TopProductsResult = RouterOutputs['commerce']['top']
export type TopProduct = TopProductsResult['items'][number]
/** `commerce.productRatings` output and one product's ratings. */
export type ProductRatingsResult = RouterOutputs['commerce']['productRatings']
export type ProductRating = ProductRatingsResult['items'][number]
/** `commerce.categoryRatings` output and one category's ratings. */
export type CategoryRatingsResult = RouterOutputs['commerce']['categoryRatings']
export type CategoryRating = CategoryRatingsResult['items'][number]
/** Ratings of 1 star .. 5 stars. */
export type StarHistogram = ProductRating['histogram']
/** `commerce.live` input and one of its events. */
export type CommerceLiveInput = RouterInputs['commerce']['live']
export type CommerceLiveEvent = RouterOutputs['commerce']['live'] extends AsyncIterable<infer TEvent> ? TEvent : never

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
export type HealthReport = RouterOutputs['system']['health']
/** One event of the `traffic.live` subscription. */
export type LiveEvent = RouterOutputs['traffic']['live'] extends AsyncIterable<infer TEvent> ? TEvent : never
/** What a worker last reported about itself (runtime status topic), when the API has a report. */
export type WorkerStatus = NonNullable<WorkerInstance['status']>
export type WorkerTask = WorkerStatus['tasks'][number]

/**
 * The procedures of the query API: `traffic.*` and `system.*` here, `commerce.*` in
 * commerce-router.ts. `AppRouter` (the type of `createAppRouter`'s result) is what the dashboard
 * imports: changing an output here breaks its typecheck.
 */
import { combineAt, type SeriesPoint } from './aggregate.ts'
import { CombinedSeriesCache } from './combined-series.ts'
import { createCommerceRouter, type CommerceServices } from './commerce-router.ts'
import { QueryApiError, QueryApiErrorCodes } from './errors.ts'
import { publicHealth, type HealthReport, type PublicHealth } from './health.ts'
import { checkRange, checkSeriesPoints, liveInput, seriesInput, sessionsInput } from './inputs.ts'
import { DEFAULT_SERVER_LIMITS } from './limits.ts'
import { liveEventStream, LiveQueue, windowChangeKey } from './live-queue.ts'
import type { WindowChange } from './materializer.ts'
import { WINDOW_SIZE_MS, WINDOW_STEP_MS, type Resolution, type SensorSummary, type SeriesIndex, type WindowStats } from './series-index.ts'
import type { SessionIndex, SessionPage } from './session-index.ts'
import type { InstancesReport, LagReport, TopologyView } from './system-info.ts'
import { adminProcedure, publicProcedure, readProcedure, t } from './trpc.ts'
import { TravelerTypeSymbols, type TravelerType } from '../schemas/index.ts'

/** What the procedures read; the server wires the real ones, tests may wire their own. */
export interface QueryServices {
  readonly instanceId: string
  /** Longest `to - from` of a query, ms. */
  readonly maxRangeMs: number
  /** Most points one series call may return (range x resolution). Default 10,080 (7 days at 1 minute). */
  readonly maxSeriesPoints?: number
  readonly series: SeriesIndex
  readonly sessions: SessionIndex
  /** Source of live window changes (the materializer). */
  readonly changes: { onWindowChanges(listener: (changes: readonly WindowChange[]) => void): () => void }
  health(): HealthReport
  readonly system: {
    lag(): Promise<LagReport>
    instances(): Promise<InstancesReport>
    topology(): TopologyView
  }
  /** Windows a live subscriber may have pending before it is told to resync. Default 10,000. */
  readonly liveMaxPending?: number
  /** The materialized commerce topics and their live changes. */
  readonly commerce: CommerceServices
  /** Wall clock, epoch ms: "the last hour" of the commerce procedures is measured at it. Default `Date.now`. */
  readonly now?: () => number
}

/** `traffic.sensors` output. */
export interface SensorsResult {
  readonly sensors: SensorSummary[]
  /** Every traveler type seen at any sensor, sorted. */
  readonly travelerTypes: TravelerType[]
  /** All traveler types of the contract (for filters). */
  readonly knownTravelerTypes: TravelerType[]
}

/** `traffic.series` output. */
export interface SeriesResult {
  readonly sensorId: string
  readonly travelerType: TravelerType | 'all'
  readonly resolution: Resolution
  readonly from: number
  readonly to: number
  /** Distance between window starts (1 minute for both resolutions), ms. */
  readonly stepMs: number
  /** Window length (1 or 5 minutes), ms. */
  readonly windowSizeMs: number
  /** One point per window start in `[from, to)`, zero-filled. */
  readonly points: SeriesPoint[]
}

/** One event of `traffic.live`. */
export type LiveEvent =
  /** First event: the subscription is registered; changes from now on are delivered. */
  | { readonly kind: 'subscribed'; readonly instanceId: string; readonly ready: boolean }
  /**
   * A window matching the filters changed. `window` is the changed (sensor, type) window (null when
   * deleted); `point` is the filter's combined value of that window start, to replace in a series.
   */
  | {
      readonly kind: 'window'
      readonly resolution: Resolution
      readonly sensorId: string
      readonly travelerType: TravelerType
      readonly windowStart: number
      readonly window: WindowStats | null
      readonly point: SeriesPoint
    }
  /** Changes were dropped (the subscriber was too slow): re-read the series. */
  | { readonly kind: 'resync' }

function checkSensor(services: QueryServices, sensorId: string): void {
  if (sensorId === 'all' || services.series.hasSensor(sensorId) || services.sessions.sensors.has(sensorId)) return
  throw new QueryApiError(
    QueryApiErrorCodes.UNKNOWN_SENSOR,
    `unknown sensor ${JSON.stringify(sensorId.slice(0, 200))}: no window or session of it has been seen (see traffic.sensors)`
  )
}

/** The events of one live subscriber until `stop` aborts. */
async function* liveEvents(
  services: QueryServices,
  input: { sensorId: string; travelerType: TravelerType | 'all'; resolution: Resolution },
  stop: AbortSignal
): AsyncGenerator<LiveEvent, void, unknown> {
  const queue = new LiveQueue(services.liveMaxPending ?? 10_000, windowChangeKey)
  const matches = (c: WindowChange): boolean =>
    c.resolution === input.resolution &&
    (input.sensorId === 'all' || c.sensorId === input.sensorId) &&
    (input.travelerType === 'all' || c.travelerType === input.travelerType)
  const unsubscribe = services.changes.onWindowChanges((changes) => {
    for (const c of changes) if (matches(c)) queue.push(c)
  })
  yield* liveEventStream(
    queue,
    stop,
    () => ({ kind: 'subscribed', instanceId: services.instanceId, ready: services.health().ready }),
    (c): LiveEvent => {
      // The combined point is computed when sent, so it reflects every change applied by then.
      const point = combineAt(services.series.select(c.resolution, input.sensorId, input.travelerType), c.windowStart)
      return {
        kind: 'window',
        resolution: c.resolution,
        sensorId: c.sensorId,
        travelerType: c.travelerType,
        windowStart: c.windowStart,
        window: c.stats,
        point
      }
    },
    unsubscribe
  )
}

/** Builds the router over `services`. */
export function createAppRouter(services: QueryServices) {
  const combined = new CombinedSeriesCache(services.series)
  const maxSeriesPoints = services.maxSeriesPoints ?? DEFAULT_SERVER_LIMITS.maxSeriesPoints
  const trafficRouter = t.router({
    sensors: readProcedure.query((): SensorsResult => {
      const sensors = services.series.sensors()
      const types = new Set<TravelerType>()
      for (const s of sensors) for (const type of s.travelerTypes) types.add(type)
      return { sensors, travelerTypes: [...types].sort(), knownTravelerTypes: [...TravelerTypeSymbols] }
    }),

    series: readProcedure.input(seriesInput).query(({ input }): SeriesResult => {
      checkRange(input.from, input.to, services.maxRangeMs)
      checkSeriesPoints(input.from, input.to, WINDOW_STEP_MS, maxSeriesPoints)
      checkSensor(services, input.sensorId)
      const points = combined.series(input.resolution, input.sensorId, input.travelerType, input.from, input.to)
      return {
        sensorId: input.sensorId,
        travelerType: input.travelerType,
        resolution: input.resolution,
        from: input.from,
        to: input.to,
        stepMs: WINDOW_STEP_MS,
        windowSizeMs: WINDOW_SIZE_MS[input.resolution],
        points
      }
    }),

    sessions: readProcedure.input(sessionsInput).query(({ input }): SessionPage => {
      checkRange(input.from, input.to, services.maxRangeMs)
      checkSensor(services, input.sensorId)
      return services.sessions.page({
        sensorId: input.sensorId,
        travelerType: input.travelerType,
        fromMs: input.from,
        toMs: input.to,
        limit: input.limit,
        cursor: input.cursor ?? undefined
      })
    }),

    live: readProcedure.input(liveInput).subscription(({ input, signal }): AsyncGenerator<LiveEvent, void, unknown> => {
      // Checked before the stream starts, so an unknown sensor is a 400 answer, not an error event.
      checkSensor(services, input.sensorId)
      return liveEvents(services, input, signal ?? new AbortController().signal)
    })
  })

  const systemRouter = t.router({
    // Without a valid token only readiness: topic names, the instance id and counts are for token holders.
    health: publicProcedure.query(({ ctx }): HealthReport | PublicHealth => {
      const report = services.health()
      return ctx.auth.kind === 'ok' ? report : publicHealth(report)
    }),
    topology: adminProcedure.query((): TopologyView => services.system.topology()),
    lag: adminProcedure.query((): Promise<LagReport> => services.system.lag()),
    instances: adminProcedure.query((): Promise<InstancesReport> => services.system.instances())
  })

  const commerceRouter = createCommerceRouter({
    instanceId: services.instanceId,
    maxRangeMs: services.maxRangeMs,
    maxSeriesPoints,
    commerce: services.commerce,
    now: services.now ?? Date.now,
    ready: () => services.health().ready,
    liveMaxPending: services.liveMaxPending ?? 10_000
  })

  return t.router({ traffic: trafficRouter, commerce: commerceRouter, system: systemRouter })
}

/** The query API's router type, for typed clients (`createTRPCClient<AppRouter>`). */
export type AppRouter = ReturnType<typeof createAppRouter>

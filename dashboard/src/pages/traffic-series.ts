/**
 * The traffic page's data: one `traffic.series` answer kept current by `traffic.live`.
 *
 * Order of events, which makes the result exact rather than approximately right: the subscription
 * is opened first; every `subscribed` event (the first one, and again after a reconnect) re-reads
 * the series; window events that arrive while a read is in flight wait and are applied on top of
 * its answer. Every window change on the server produces an event computed after the change, so the
 * last event of a window always carries its latest state.
 */
import { batch, createEffect, createSignal, untrack, type Accessor } from 'solid-js'
import { api, call, problemOf } from '../api/client.ts'
import type { ApiProblem } from '../api/errors.ts'
import { createLiveSubscription, type LiveStatus } from '../api/live.ts'
import type { LiveEvent, Resolution, SeriesPoint, TravelerType } from '../api/types.ts'
import { applyPoints, fromSeriesResult, shiftRange, type SeriesState } from '../lib/series-data.ts'
import type { TimeRange } from '../lib/time-range.ts'

/** The filters of the traffic page. */
export interface TrafficFilters {
  readonly sensorId: string
  readonly travelerType: TravelerType | 'all'
  readonly resolution: Resolution
}

export type { LiveStatus } from '../api/live.ts'

export interface TrafficSeriesArgs {
  readonly filters: Accessor<TrafficFilters>
  /** The range to show; undefined while the user's custom range is invalid. */
  readonly range: Accessor<TimeRange | undefined>
  /** Changes when the user picks another range (not when a relative range moves on with the clock). */
  readonly rangeKey: Accessor<string>
  readonly live: Accessor<boolean>
}

export interface TrafficSeries {
  readonly state: Accessor<SeriesState | undefined>
  /** A visible (not quiet) read is in flight. */
  readonly loading: Accessor<boolean>
  readonly problem: Accessor<ApiProblem | undefined>
  readonly liveStatus: Accessor<LiveStatus>
  readonly liveProblem: Accessor<ApiProblem | undefined>
  /** Window events applied so far (tests wait on it). */
  readonly liveUpdates: Accessor<number>
  /** When the last window event was applied, epoch ms. */
  readonly lastLiveAt: Accessor<number | null>
  reload(): void
}

const FLUSH_MS = 250

/** Creates the series state of the traffic page (call inside a component). */
export function createTrafficSeries(args: TrafficSeriesArgs): TrafficSeries {
  const [state, setState] = createSignal<SeriesState | undefined>(undefined)
  const [loading, setLoading] = createSignal(true)
  const [problem, setProblem] = createSignal<ApiProblem | undefined>(undefined)
  const [liveUpdates, setLiveUpdates] = createSignal(0)
  const [lastLiveAt, setLastLiveAt] = createSignal<number | null>(null)

  let generation = 0
  let inFlight = 0
  /** Window events not applied yet (a read is in flight or the flush timer has not run). */
  let pending: SeriesPoint[] = []
  /** Events for windows after the current range (a relative range will reach them). */
  const ahead = new Map<number, SeriesPoint>()
  let flushTimer: ReturnType<typeof setTimeout> | undefined

  const flush = (): void => {
    flushTimer = undefined
    const current = state()
    if (current === undefined || inFlight > 0 || pending.length === 0) return
    const updates = pending
    pending = []
    for (const p of updates) if (p.windowStart >= current.to) ahead.set(p.windowStart, p)
    const next = applyPoints(current, updates)
    batch(() => {
      if (next !== current) setState(next)
      setLiveUpdates((n) => n + updates.length)
      setLastLiveAt(Date.now())
    })
  }

  const load = (range: TimeRange, quiet: boolean): void => {
    const gen = ++generation
    const filters = untrack(args.filters)
    inFlight++
    if (!quiet) setLoading(true)
    call((c) => c.traffic.series.query({ ...filters, from: range.from, to: range.to }))
      .then((result) => {
        if (gen !== generation) return
        const fresh = fromSeriesResult(result)
        const updates = pending
        pending = []
        batch(() => {
          setState(applyPoints(fresh, updates))
          setProblem(undefined)
        })
      })
      .catch((err: unknown) => {
        if (gen !== generation) return
        setProblem(problemOf(err))
      })
      .finally(() => {
        inFlight--
        if (gen === generation) setLoading(false)
      })
  }

  // Reads: a new filter or range choice reads with a visible loading state; a relative range moving
  // on with the clock slides the live series locally (or re-reads quietly when not live).
  let lastFilters = ''
  let lastRangeKey = ''
  createEffect(() => {
    const filtersKey = JSON.stringify(args.filters())
    const rangeKey = args.rangeKey()
    const range = args.range()
    untrack(() => {
      if (range === undefined) return
      const current = state()
      if (filtersKey === lastFilters && rangeKey === lastRangeKey && current !== undefined) {
        if (args.live() && liveStatus() === 'live') {
          setState(shiftRange(current, range, ahead.values()))
          for (const start of [...ahead.keys()]) if (start < range.to) ahead.delete(start)
        } else {
          load(range, true)
        }
        return
      }
      if (filtersKey !== lastFilters) {
        // What was pending belongs to the old filters.
        pending = []
        ahead.clear()
      }
      lastFilters = filtersKey
      lastRangeKey = rangeKey
      // The previous series stays on screen (dimmed while loading) until the new one arrives.
      load(range, false)
    })
  })

  // The subscription follows the filters (not the range: the server pushes every matching window).
  const { liveStatus, liveProblem } = createLiveSubscription<TrafficFilters, LiveEvent>({
    live: args.live,
    input: args.filters,
    open: (filters, handlers) => api().traffic.live.subscribe(filters, handlers),
    onSubscribed: () => {
      const range = untrack(args.range)
      if (range !== undefined) load(range, untrack(state) !== undefined)
    },
    onEvent: (event, filters) => {
      switch (event.kind) {
        case 'resync': {
          const range = untrack(args.range)
          if (range !== undefined) load(range, true)
          break
        }
        case 'window':
          if (event.resolution !== filters.resolution) return
          pending.push(event.point)
          flushTimer ??= setTimeout(flush, FLUSH_MS)
          break
      }
    },
    onClose: () => {
      if (flushTimer !== undefined) clearTimeout(flushTimer)
      flushTimer = undefined
    }
  })

  return {
    state,
    loading,
    problem,
    liveStatus,
    liveProblem,
    liveUpdates,
    lastLiveAt,
    reload: () => {
      const range = untrack(args.range)
      if (range !== undefined) load(range, false)
    }
  }
}

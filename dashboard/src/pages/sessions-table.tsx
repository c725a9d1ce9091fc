/**
 * Recent traveler sessions (`traffic.sessions`), newest first, for the page's filters and range,
 * one page at a time with "Load more" following the API's cursor.
 */
import { createEffect, createSignal, For, on, onCleanup, Show, untrack, type Accessor, type JSX } from 'solid-js'
import { call, problemOf } from '../api/client.ts'
import type { ApiProblem } from '../api/errors.ts'
import type { TravelerSession } from '../api/types.ts'
import { Card, Empty, Loading, Problem } from '../components/ui.tsx'
import { formatCount, formatDateTime, formatDistance, formatDuration, formatSpeed, formatTravelerType } from '../lib/format.ts'
import type { TimeRange } from '../lib/time-range.ts'
import type { TrafficFilters } from './traffic-series.ts'

const PAGE_SIZE = 15
/** How often the first page is re-read while live (later pages stay as they are). */
const LIVE_REFRESH_MS = 30_000

export function SessionsTable(props: {
  filters: Accessor<TrafficFilters>
  range: Accessor<TimeRange | undefined>
  rangeKey: Accessor<string>
  live: Accessor<boolean>
}): JSX.Element {
  const [items, setItems] = createSignal<TravelerSession[]>([])
  const [cursor, setCursor] = createSignal<string | null>(null)
  const [loading, setLoading] = createSignal(true)
  const [loadingMore, setLoadingMore] = createSignal(false)
  const [problem, setProblem] = createSignal<ApiProblem | undefined>(undefined)
  let generation = 0

  const query = (next: string | null): Promise<{ items: TravelerSession[]; nextCursor: string | null }> | undefined => {
    const range = untrack(props.range)
    if (range === undefined) return undefined
    const f = untrack(props.filters)
    return call((c) =>
      c.traffic.sessions.query({ sensorId: f.sensorId, travelerType: f.travelerType, from: range.from, to: range.to, limit: PAGE_SIZE, cursor: next })
    )
  }

  const loadFirst = (quiet: boolean): void => {
    const gen = ++generation
    const request = query(null)
    if (request === undefined) return
    if (!quiet) setLoading(true)
    request
      .then((page) => {
        if (gen !== generation) return
        setItems(page.items)
        setCursor(page.nextCursor)
        setProblem(undefined)
      })
      .catch((err: unknown) => {
        if (gen === generation) setProblem(problemOf(err))
      })
      .finally(() => {
        if (gen === generation) setLoading(false)
      })
  }

  const loadMore = (): void => {
    const gen = generation
    const request = query(cursor())
    if (request === undefined) return
    setLoadingMore(true)
    request
      .then((page) => {
        if (gen !== generation) return
        setItems((old) => [...old, ...page.items])
        setCursor(page.nextCursor)
      })
      .catch((err: unknown) => {
        if (gen === generation) setProblem(problemOf(err))
      })
      .finally(() => setLoadingMore(false))
  }

  // Other filters or another range choice: read the first page (with a spinner). A relative range
  // that moved on with the clock: refresh quietly, unless the user has paged further (a refresh
  // would take their pages away).
  createEffect(
    on(
      [
        () => JSON.stringify(props.filters()),
        props.rangeKey,
        () => {
          const r = props.range()
          return r === undefined ? '' : `${r.from}-${r.to}`
        }
      ],
      ([filters, rangeKey], prev) => {
        const clockOnly = prev !== undefined && prev[0] === filters && prev[1] === rangeKey
        if (!clockOnly) loadFirst(false)
        else if (untrack(items).length <= PAGE_SIZE) loadFirst(true)
      }
    )
  )

  createEffect(() => {
    if (!props.live()) return
    const timer = setInterval(() => {
      // Only while the user has not paged further: refreshing would drop the pages they loaded.
      if (untrack(items).length <= PAGE_SIZE) loadFirst(true)
    }, LIVE_REFRESH_MS)
    onCleanup(() => clearInterval(timer))
  })

  return (
    <Card title="Recent traveler sessions" subtitle="Observations of one traveler at one sensor at most 30 s apart, newest first" testId="sessions">
      <Show
        when={problem()}
        keyed
        fallback={
          <Show when={!loading()} fallback={<Loading label="Loading sessions…" height={160} />}>
            <Show
              when={items().length > 0}
              fallback={
                <Empty
                  title="No sessions in this range"
                  detail="Sessions appear once travelers have been seen by the selected sensors."
                  height={140}
                  testId="sessions-empty"
                />
              }
            >
              <div class="table-scroll">
                <table class="table table-cards" data-testid="sessions-table">
                  <thead>
                    <tr>
                      <th scope="col">First seen</th>
                      <th scope="col">Traveler</th>
                      <th scope="col">Sensor</th>
                      <th scope="col">Type</th>
                      <th scope="col" class="num">
                        Duration
                      </th>
                      <th scope="col" class="num">
                        Obs.
                      </th>
                      <th scope="col" class="num">
                        Distance
                      </th>
                      <th scope="col" class="num">
                        Mean speed
                      </th>
                      <th scope="col" class="num">
                        Max speed
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={items()}>
                      {(s) => (
                        <tr>
                          <td class="nowrap cell-time">{formatDateTime(s.firstSeen)}</td>
                          <td class="mono cell-main">{s.travelerId}</td>
                          <td class="mono cell-sensor">{s.sensorId}</td>
                          <td class="cell-type">
                            <span class={`type-badge type-${s.travelerType.toLowerCase()}`}>{formatTravelerType(s.travelerType)}</span>
                          </td>
                          <td class="num" data-label="Duration">
                            {formatDuration(s.lastSeen - s.firstSeen)}
                          </td>
                          <td class="num" data-label="Obs.">
                            {formatCount(s.observations)}
                          </td>
                          <td class="num" data-label="Distance">
                            {formatDistance(s.distanceM)}
                          </td>
                          <td class="num" data-label="Mean">
                            {formatSpeed(s.speedMean)}
                          </td>
                          <td class="num" data-label="Max">
                            {formatSpeed(s.speedMax)}
                          </td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
              <div class="table-foot">
                <span class="muted">
                  {formatCount(items().length)} session{items().length === 1 ? '' : 's'} shown
                </span>
                <Show when={cursor() !== null}>
                  <button type="button" class="button button-secondary" onClick={loadMore} disabled={loadingMore()} data-testid="sessions-more">
                    {loadingMore() ? 'Loading…' : 'Load more'}
                  </button>
                </Show>
              </div>
            </Show>
          </Show>
        }
      >
        {(p) => <Problem problem={p} onRetry={() => loadFirst(false)} height={140} />}
      </Show>
    </Card>
  )
}

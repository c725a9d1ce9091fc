/**
 * The traffic page: filters, headline figures, speed and volume charts over time (live), and the
 * recent traveler sessions.
 */
import { createMemo, createSignal, onCleanup, Show, type JSX } from 'solid-js'
import { call, problemOf } from '../api/client.ts'
import type { ApiProblem } from '../api/errors.ts'
import type { Resolution, SensorsResult, TravelerType } from '../api/types.ts'
import { TimeChart, type ChartSeries } from '../components/chart.tsx'
import { Card, Empty, Loading, Problem, Stat } from '../components/ui.tsx'
import { formatAgo, formatClock, formatCompact, formatCount, formatDateTime, formatKmh, formatSpeed, formatTravelerType } from '../lib/format.ts'
import { countColumns, speedColumns, summarize, type SeriesState } from '../lib/series-data.ts'
import { msUntilNextMinute, resolveRange, TimeRangeError, type RangeSelection, type TimeRange } from '../lib/time-range.ts'
import { SessionsTable } from './sessions-table.tsx'
import { TrafficFilters } from './traffic-filters.tsx'
import { createTrafficSeries, type TrafficFilters as Filters } from './traffic-series.ts'

const SPEED_SERIES: ChartSeries[] = [
  { label: 'Min', color: '#0ea5e9', width: 1.5, dash: [4, 3], format: (v) => formatSpeed(v) },
  { label: 'Mean', color: '#2450d6', width: 2.25, format: (v) => formatSpeed(v) },
  { label: 'Max', color: '#e8590c', width: 1.5, format: (v) => formatSpeed(v) }
]
const COUNT_SERIES: ChartSeries[] = [
  { label: 'Observations', color: '#6366f1', kind: 'bars', format: (v) => formatCount(v) },
  { label: 'Travelers', color: '#0d9488', axis: 'right', kind: 'step', width: 2, format: (v) => formatCount(v) }
]
const SENSOR_REFRESH_MS = 60_000

export function TrafficPage(): JSX.Element {
  const [sensors, setSensors] = createSignal<SensorsResult | undefined>(undefined)
  const [sensorsProblem, setSensorsProblem] = createSignal<ApiProblem | undefined>(undefined)
  const [sensorId, setSensorId] = createSignal('all')
  const [travelerType, setTravelerType] = createSignal<TravelerType | 'all'>('all')
  const [resolution, setResolution] = createSignal<Resolution>('1m')
  const [selection, setSelection] = createSignal<RangeSelection>({ kind: 'preset', preset: '1h' })
  const [live, setLive] = createSignal(true)
  const [now, setNow] = createSignal(Date.now())

  const loadSensors = (): void => {
    call((c) => c.traffic.sensors.query())
      .then((r) => {
        setSensors(r)
        setSensorsProblem(undefined)
      })
      .catch((err: unknown) => setSensorsProblem(problemOf(err)))
  }
  loadSensors()
  const sensorTimer = setInterval(loadSensors, SENSOR_REFRESH_MS)
  // The clock moves relative ranges on at each minute boundary; a second clock refreshes "ago" text.
  let minuteTimer: ReturnType<typeof setTimeout> | undefined
  const tickMinute = (): void => {
    setNow(Date.now())
    minuteTimer = setTimeout(tickMinute, msUntilNextMinute(Date.now()) + 50)
  }
  minuteTimer = setTimeout(tickMinute, msUntilNextMinute(Date.now()) + 50)
  const [clock, setClock] = createSignal(Date.now())
  const clockTimer = setInterval(() => setClock(Date.now()), 5_000)
  onCleanup(() => {
    clearInterval(sensorTimer)
    clearInterval(clockTimer)
    if (minuteTimer !== undefined) clearTimeout(minuteTimer)
  })

  const filters = createMemo((): Filters => ({ sensorId: sensorId(), travelerType: travelerType(), resolution: resolution() }), undefined, {
    equals: (a: Filters, b: Filters) => a.sensorId === b.sensorId && a.travelerType === b.travelerType && a.resolution === b.resolution
  })
  const resolved = createMemo((): { range?: TimeRange; error?: string } => {
    try {
      return { range: resolveRange(selection(), now()) }
    } catch (err) {
      if (err instanceof TimeRangeError) return { error: err.message }
      throw err
    }
  })
  const range = createMemo(() => resolved().range, undefined, { equals: (a, b) => a?.from === b?.from && a?.to === b?.to })
  const rangeKey = createMemo(() => JSON.stringify(selection()))
  const series = createTrafficSeries({ filters, range, rangeKey, live })

  const summary = createMemo(() => {
    const s = series.state()
    return s === undefined ? undefined : summarize(s, resolution())
  })
  const speed = createMemo(() => {
    const s = series.state()
    return s === undefined ? undefined : speedColumns(s)
  })
  const counts = createMemo(() => {
    const s = series.state()
    return s === undefined ? undefined : countColumns(s)
  })
  const scope = (): string => `${sensorId() === 'all' ? 'all sensors' : sensorId()} · ${formatTravelerType(travelerType()).toLowerCase()}`
  const windowText = (): string => (resolution() === '5m' ? '5-minute windows advancing every minute' : '1-minute windows')

  const chartBody = (columns: () => ReturnType<typeof speedColumns> | undefined, chart: (state: SeriesState) => JSX.Element): JSX.Element => (
    <Show
      when={series.problem() === undefined || series.state() !== undefined}
      fallback={<Problem problem={series.problem() as ApiProblem} onRetry={series.reload} height={260} />}
    >
      <Show when={series.state() !== undefined && columns() !== undefined} fallback={<Loading label="Loading series…" height={290} />}>
        <div class="chart-wrap" classList={{ 'is-loading': series.loading() }}>
          {chart(series.state() as SeriesState)}
          <Show when={series.loading()}>
            <div class="chart-busy" aria-hidden="true">
              <span class="spinner" />
            </div>
          </Show>
          <Show when={summary()?.activeWindows === 0}>
            <div class="chart-overlay" data-testid="chart-empty">
              <Empty title="No observations in this range" detail="Every window is zero. Pick a longer range or another sensor." height={0} />
            </div>
          </Show>
        </div>
      </Show>
    </Show>
  )

  return (
    <div class="page" data-testid="traffic-page" data-live-updates={series.liveUpdates()} data-loading={series.loading() ? 'true' : 'false'}>
      <div class="page-head">
        <div>
          <h1 class="page-title">Traffic</h1>
          <p class="page-subtitle">
            Speeds and volumes per window for {scope()}
            <Show when={range()}>
              {(r) => (
                <>
                  {' '}
                  · {formatDateTime(r().from)} – {formatClock(r().to)}
                </>
              )}
            </Show>
          </p>
        </div>
        <div class="page-meta">
          <Show when={series.lastLiveAt()} fallback={<span class="muted">{live() ? 'Waiting for updates' : 'Live updates paused'}</span>}>
            {(at) => (
              <span class="muted" data-testid="last-update">
                Updated {formatAgo(at(), clock())}
              </span>
            )}
          </Show>
        </div>
      </div>

      <Card class="card-filters">
        <TrafficFilters
          sensors={sensors()?.sensors}
          travelerTypes={sensors()?.knownTravelerTypes ?? ['PEDESTRIAN', 'BICYCLE', 'CAR', 'BUS', 'TRUCK', 'UNKNOWN']}
          sensorId={sensorId()}
          travelerType={travelerType()}
          selection={selection()}
          resolution={resolution()}
          live={live()}
          liveStatus={series.liveStatus()}
          rangeError={resolved().error}
          rangeFrom={range()?.from}
          rangeTo={range()?.to}
          onSensor={setSensorId}
          onTravelerType={setTravelerType}
          onSelection={(s) => {
            setNow(Date.now())
            setSelection(s)
          }}
          onResolution={setResolution}
          onLive={setLive}
        />
        <Show when={sensorsProblem()}>{(p) => <p class="form-error">Could not load the sensor list: {p().message}</p>}</Show>
        <Show when={series.liveProblem()}>{(p) => <p class="form-error">Live updates: {p().message}</p>}</Show>
        <Show when={series.problem() !== undefined && series.state() !== undefined}>
          <p class="form-error" role="alert">
            {series.problem()?.message}
          </p>
        </Show>
      </Card>

      <div class="stats" data-testid="stats">
        <Stat
          label="Observations"
          value={formatCompact(summary()?.observations)}
          hint={summary() === undefined ? '' : `${summary()?.observationsLabel} · ${summary()?.activeWindows} active windows`}
          testId="stat-observations"
        />
        <Stat label="Peak travelers" value={formatCount(summary()?.peakTravelers)} hint={`in one ${resolution() === '5m' ? '5-min' : '1-min'} window`} />
        <Stat label="Mean speed" value={formatSpeed(summary()?.meanSpeed)} hint={formatKmh(summary()?.meanSpeed) || 'no speed samples'} />
        <Stat label="Top speed" value={formatSpeed(summary()?.maxSpeed)} hint={formatKmh(summary()?.maxSpeed) || 'no speed samples'} />
      </div>

      <div class="chart-grid">
        <Card title="Speed" subtitle={`Min, mean and max speed of the ${windowText()} (m/s)`} testId="card-speed">
          {chartBody(speed, () => (
            <TimeChart
              id="traffic-speed"
              title="Speed per window"
              series={SPEED_SERIES}
              band={[2, 0]}
              left={{ label: 'm/s', format: (v) => String(v) }}
              columns={speed() ?? [[]]}
            />
          ))}
        </Card>
        <Card title="Volume" subtitle={`Observations and distinct travelers of the ${windowText()}`} testId="card-volume">
          {chartBody(counts, () => (
            <TimeChart
              id="traffic-counts"
              title="Observations and travelers per window"
              series={COUNT_SERIES}
              left={{ label: 'observations', format: (v) => formatCompact(v), integer: true }}
              right={{ label: 'travelers', format: (v) => formatCompact(v), integer: true }}
              columns={counts() ?? [[]]}
            />
          ))}
        </Card>
      </div>

      <SessionsTable filters={filters} range={range} rangeKey={rangeKey} live={live} />
    </div>
  )
}

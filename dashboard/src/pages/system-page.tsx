/**
 * The system page: the traffic workers' topology, their instances and tasks, consumer lag and
 * throughput (from successive `system.lag` readings), and this query API instance's health.
 */
import { createMemo, createSignal, For, onCleanup, Show, type JSX } from 'solid-js'
import { call, problemOf } from '../api/client.ts'
import type { ApiProblem } from '../api/errors.ts'
import type { HealthReport, InstancesReport, LagReport, TopologyView } from '../api/types.ts'
import { TimeChart, type ChartSeries } from '../components/chart.tsx'
import { Card, Empty, Loading, Problem, Stat, StatusDot } from '../components/ui.tsx'
import { formatAgo, formatClock, formatCompact, formatCount, formatDuration, formatRate } from '../lib/format.ts'
import { appendReport, instanceLoad, partitionRates, throughputSeries } from '../lib/throughput.ts'
import { topologyCounts } from '../lib/topology-layout.ts'
import { TopologyGraph } from './topology-graph.tsx'
import { WorkerInstances } from './worker-instances.tsx'

const POLL_MS = 5_000
const HISTORY_MS = 15 * 60_000
/** Rates are taken over this trailing window (offsets are committed in steps). */
const RATE_WINDOW_MS = 20_000

const THROUGHPUT_SERIES: ChartSeries[] = [
  { label: 'Processed', color: '#2450d6', width: 2.25, format: (v) => formatRate(v) },
  { label: 'Produced', color: '#94a3b8', width: 1.5, dash: [4, 3], format: (v) => formatRate(v) },
  { label: 'Lag', color: '#e8590c', axis: 'right', kind: 'area', width: 1.5, format: (v) => formatCount(v) }
]

/** A polled query: latest value, problem, and whether the first answer is still pending. */
function poll<T>(
  read: () => Promise<T>,
  everyMs: number | null,
  onValue?: (value: T) => void
): { value: () => T | undefined; problem: () => ApiProblem | undefined; refresh: () => void } {
  const [value, setValue] = createSignal<T | undefined>(undefined)
  const [problem, setProblem] = createSignal<ApiProblem | undefined>(undefined)
  let stopped = false
  const refresh = (): void => {
    read()
      .then((v) => {
        if (stopped) return
        setValue(() => v)
        setProblem(undefined)
        onValue?.(v)
      })
      .catch((err: unknown) => {
        if (!stopped) setProblem(problemOf(err))
      })
  }
  refresh()
  if (everyMs !== null) {
    const timer = setInterval(() => {
      // No polling in a background tab.
      if (document.visibilityState === 'visible') refresh()
    }, everyMs)
    onCleanup(() => clearInterval(timer))
  }
  onCleanup(() => {
    stopped = true
  })
  return { value, problem, refresh }
}

const GROUP_TONE = (state: string): 'ok' | 'warn' | 'bad' | 'idle' => {
  const s = state.toUpperCase()
  if (s === 'STABLE') return 'ok'
  if (s.includes('REBALANCE') || s === 'ASSIGNING' || s === 'RECONCILING') return 'warn'
  if (s === 'DEAD' || s === 'EMPTY') return 'bad'
  return 'idle'
}

export function SystemPage(): JSX.Element {
  const [history, setHistory] = createSignal<LagReport[]>([])
  const [clock, setClock] = createSignal(Date.now())
  const clockTimer = setInterval(() => setClock(Date.now()), 5_000)
  onCleanup(() => clearInterval(clockTimer))

  const topology = poll<TopologyView>(() => call((c) => c.system.topology.query()), null)
  const instances = poll<InstancesReport>(() => call((c) => c.system.instances.query()), POLL_MS)
  const lag = poll<LagReport>(
    () => call((c) => c.system.lag.query()),
    POLL_MS,
    (r) => setHistory((h) => appendReport(h, r, HISTORY_MS))
  )
  const health = poll<HealthReport>(
    () =>
      call(async (c) => {
        const report = await c.system.health.query()
        // The client always sends the token; only a token the API did not accept gets the public answer.
        if (!('progress' in report)) throw new Error('the query API answered only its readiness: the token was not accepted')
        return report
      }),
    POLL_MS * 2
  )

  const points = createMemo(() => throughputSeries(history(), RATE_WINDOW_MS))
  const latestRate = createMemo(() => points().at(-1)?.processedPerS ?? null)
  /** The workers' own records/s when they report it, else the rate of the group's committed offsets. */
  const reportedRate = createMemo((): number | null => {
    const statuses = (instances.value()?.instances ?? []).flatMap((i) => (i.status === undefined || i.status === null || i.status.stale ? [] : [i.status]))
    return statuses.length === 0 ? null : statuses.reduce((sum, st) => sum + st.recordsPerSecond, 0)
  })
  const rates = createMemo(() => {
    const h = history()
    const newest = h.at(-1)
    if (newest === undefined || h.length < 2) return undefined
    const older = [...h].reverse().find((r) => r.measuredAt <= newest.measuredAt - RATE_WINDOW_MS) ?? h[0]
    return older === undefined || older === newest ? undefined : partitionRates(older, newest)
  })
  const load = createMemo(() => {
    const inst = instances.value()
    return inst === undefined ? undefined : instanceLoad(inst, lag.value(), rates())
  })
  const chartColumns = createMemo((): [number[], ...Array<Array<number | null>>] => [
    points().map((p) => p.at),
    points().map((p) => p.processedPerS),
    points().map((p) => p.producedPerS),
    points().map((p) => p.lag)
  ])
  const counts = createMemo(() => {
    const t = topology.value()
    return t === undefined ? undefined : topologyCounts(t)
  })
  const taskCount = (): number | undefined => instances.value()?.instances.reduce((s, i) => s + i.tasks.length, 0)
  const forbidden = (): boolean => [topology.problem(), instances.problem(), lag.problem()].some((p) => p?.kind === 'forbidden')

  return (
    <div class="page" data-testid="system-page">
      <div class="page-head">
        <div>
          <h1 class="page-title">System</h1>
          <p class="page-subtitle">
            Traffic workers{' '}
            <Show when={instances.value()} fallback="">
              {(i) => (
                <>
                  of <span class="mono">{i().groupId}</span>
                </>
              )}
            </Show>
          </p>
        </div>
        <div class="page-meta">
          <Show when={instances.value()}>
            {(i) => <StatusDot tone={GROUP_TONE(i().state)} label={`Group ${i().state.toLowerCase().replace(/_/g, ' ')}`} testId="group-state" />}
          </Show>
        </div>
      </div>

      <Show
        when={!forbidden()}
        fallback={
          <Card>
            <Empty
              title="This token cannot see the system view"
              detail={
                <>
                  The system page needs a token with the <code>admin</code> scope. Sign in with one to see the workers.
                </>
              }
              height={200}
              testId="system-forbidden"
            />
          </Card>
        }
      >
        <div class="stats">
          <Stat
            label="Worker instances"
            value={formatCount(instances.value()?.instances.length)}
            hint={taskCount() === undefined ? '' : `${taskCount()} tasks assigned`}
            testId="stat-instances"
          />
          <Stat
            label="Processed"
            value={formatRate(reportedRate() ?? latestRate())}
            hint={reportedRate() === null ? `records/s of committed offsets over ${RATE_WINDOW_MS / 1000} s` : 'records/s, as the workers report'}
            testId="stat-processed"
          />
          <Stat label="Consumer lag" value={formatCompact(lag.value()?.totalLag)} hint="records not yet committed" testId="stat-lag" />
          <Stat
            label="Query API"
            value={
              <Show when={health.value()} fallback="—">
                {(h) => <StatusDot tone={h().ready ? 'ok' : 'warn'} label={h().ready ? 'Ready' : `Catching up ${Math.round(h().progress.fraction * 100)}%`} />}
              </Show>
            }
            hint={
              <Show when={health.value()}>
                {(h) => (
                  <>
                    {formatCompact(h().materialized.windows)} windows · {formatCompact(h().materialized.sessions)} sessions · up {formatDuration(h().uptimeMs)}
                  </>
                )}
              </Show>
            }
          />
        </div>

        <Card
          title="Topology"
          subtitle={
            <Show when={counts()} fallback="The workers' processing graph (describe())">
              {(c) => (
                <>
                  {c().subtopologies} sub-topolog{c().subtopologies === 1 ? 'y' : 'ies'} · {c().nodes} nodes · {c().stores} state stores · {c().topics} topics
                </>
              )}
            </Show>
          }
          testId="card-topology"
        >
          <Show
            when={topology.value()}
            fallback={
              <Show when={topology.problem()} fallback={<Loading label="Loading topology…" height={220} />}>
                {(p) => <Problem problem={p()} onRetry={topology.refresh} height={200} />}
              </Show>
            }
          >
            {(t) => (
              <>
                <TopologyGraph topology={t()} />
                <details class="describe">
                  <summary>describe() as text</summary>
                  <pre>{t().text}</pre>
                </details>
              </>
            )}
          </Show>
        </Card>

        <div class="system-grid">
          <Card title="Worker instances" subtitle="Members of the workers' consumer group and the tasks they run" testId="card-instances">
            <Show
              when={instances.value()}
              fallback={
                <Show when={instances.problem()} fallback={<Loading label="Loading instances…" />}>
                  {(p) => <Problem problem={p()} onRetry={instances.refresh} />}
                </Show>
              }
            >
              {(i) => (
                <Show
                  when={i().instances.length > 0 || (i().unattachedReports?.length ?? 0) > 0}
                  fallback={
                    <Empty title="No worker is running" detail="Start a traffic worker; it appears here once it joins the group." testId="instances-empty" />
                  }
                >
                  <WorkerInstances report={i()} load={load()} now={clock()} />
                </Show>
              )}
            </Show>
          </Card>

          <Card
            title="Throughput and lag"
            subtitle={
              <>
                Records/s processed and produced, and lag, since this page opened · updated{' '}
                {lag.value() === undefined ? '—' : formatAgo(lag.value()?.measuredAt ?? 0, clock())}
              </>
            }
            testId="card-lag"
          >
            <Show
              when={lag.value()}
              fallback={
                <Show when={lag.problem()} fallback={<Loading label="Reading consumer lag…" />}>
                  {(p) => <Problem problem={p()} onRetry={lag.refresh} />}
                </Show>
              }
            >
              {(l) => (
                <>
                  <Show when={points().length >= 2} fallback={<Empty title="Measuring…" detail="Rates need two readings, 5 seconds apart." height={200} />}>
                    <TimeChart
                      id="system-throughput"
                      title="Throughput and lag over time"
                      series={THROUGHPUT_SERIES}
                      left={{ label: 'records/s', format: (v) => formatCompact(v), integer: true }}
                      right={{ label: 'lag', format: (v) => formatCompact(v), integer: true }}
                      columns={chartColumns()}
                      height={200}
                      minSpanMs={2 * 60_000}
                      xLabel="Time"
                      xFormat={(ms) => formatClock(ms, true)}
                    />
                  </Show>
                  <Show when={l().partitions.length > 0} fallback={<p class="muted">The group has not committed any offsets yet.</p>}>
                    <div class="table-scroll table-compact">
                      <table class="table" data-testid="lag-table">
                        <thead>
                          <tr>
                            <th scope="col">Topic</th>
                            <th scope="col" class="num">
                              Partition
                            </th>
                            <th scope="col" class="num">
                              Committed
                            </th>
                            <th scope="col" class="num">
                              End
                            </th>
                            <th scope="col" class="num">
                              Lag
                            </th>
                          </tr>
                        </thead>
                        <tbody>
                          <For each={l().partitions}>
                            {(p) => (
                              <tr>
                                <td class="mono">{p.topic}</td>
                                <td class="num">{p.partition}</td>
                                <td class="num">{formatCount(p.committedOffset)}</td>
                                <td class="num">{formatCount(p.endOffset)}</td>
                                <td class="num" classList={{ 'lag-high': p.lag > 1000 }}>
                                  {formatCount(p.lag)}
                                </td>
                              </tr>
                            )}
                          </For>
                        </tbody>
                      </table>
                    </div>
                  </Show>
                </>
              )}
            </Show>
          </Card>
        </div>
      </Show>
    </div>
  )
}

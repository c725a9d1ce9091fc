/**
 * The commerce page: the last hour's figures and top products (live), the sales series of a chosen
 * product (one 1-hour window per minute, live), and all-time ratings per category and per product
 * with their 1-5 star histograms (live).
 */
import { createEffect, createMemo, createSignal, For, onCleanup, Show, type Accessor, type JSX } from 'solid-js'
import type { ApiProblem } from '../api/errors.ts'
import type { CategoryRating, ProductRating, StarHistogram, TopProduct } from '../api/types.ts'
import { TimeChart, type ChartSeries } from '../components/chart.tsx'
import { Card, Empty, Loading, Problem, Stat, StatusDot } from '../components/ui.tsx'
import { hasSales, histogramShares, productLabel, salesColumns } from '../lib/commerce-data.ts'
import { formatAgo, formatAmount, formatClock, formatCompact, formatCount, formatDateTime, formatRating, naturalCompare } from '../lib/format.ts'
import { createCommerceLive, TOP_LIMIT, type LiveValue } from './commerce-live.ts'
import { LIVE_LABEL } from './traffic-filters.tsx'

const SALES_SERIES: ChartSeries[] = [
  { label: 'Amount', color: '#2450d6', kind: 'area', width: 2, format: (v) => (v === null ? '—' : formatAmount(Math.round(v * 100))) },
  { label: 'Orders', color: '#0d9488', axis: 'right', kind: 'step', width: 1.5, format: (v) => formatCount(v) }
]

/** The 1-5 star histogram of a rating, as five bars with their counts. */
function Histogram(props: { histogram: StarHistogram; compact?: boolean }): JSX.Element {
  const shares = (): number[] => histogramShares(props.histogram)
  return (
    <div class="histogram" classList={{ 'histogram-compact': props.compact === true }} data-testid="histogram" data-counts={props.histogram.join(',')}>
      <For each={[5, 4, 3, 2, 1]}>
        {(stars) => (
          <div class="histogram-row" title={`${stars} star${stars === 1 ? '' : 's'}: ${formatCount(props.histogram[stars - 1])}`}>
            <span class="histogram-label">{stars}★</span>
            <span class="histogram-track">
              <span class="histogram-bar" style={{ width: `${((shares()[stars - 1] ?? 0) * 100).toFixed(1)}%` }} />
            </span>
            <span class="histogram-count">{formatCompact(props.histogram[stars - 1])}</span>
          </div>
        )}
      </For>
    </div>
  )
}

/**
 * Loading, then the problem (with retry) or the content; the content stays while a quiet re-read
 * fails. Not keyed: a new answer or live update flows into the same content (the chart gets
 * `setData`, it is not created again).
 */
function Loaded<T>(props: { cell: LiveValue<T>; loadingLabel: string; height: number; children: (value: Accessor<T>) => JSX.Element }): JSX.Element {
  return (
    <Show
      when={props.cell.value()}
      fallback={
        <Show when={props.cell.problem()} keyed fallback={<Loading label={props.loadingLabel} height={props.height} />}>
          {(p: ApiProblem) => <Problem problem={p} onRetry={() => props.cell.load(false)} height={props.height} />}
        </Show>
      }
    >
      {(value) => (
        <>
          <Show when={props.cell.problem()}>
            {(p) => (
              <p class="form-error" role="alert">
                {p().message}
              </p>
            )}
          </Show>
          {props.children(value as Accessor<T>)}
        </>
      )}
    </Show>
  )
}

export function CommercePage(): JSX.Element {
  const [chosen, setChosen] = createSignal<number | null>(null)
  const [category, setCategory] = createSignal<string | null>(null)
  const [live, setLive] = createSignal(true)
  const [clock, setClock] = createSignal(Date.now())
  const clockTimer = setInterval(() => setClock(Date.now()), 5_000)
  onCleanup(() => clearInterval(clockTimer))

  const productId = chosen
  const data = createCommerceLive({ productId, category, live })
  // Until one is picked, the chart shows the best seller of the last hour (else the first known
  // product), and keeps showing it when the ranking changes.
  createEffect(() => {
    if (chosen() !== null) return
    const first = data.top.value()?.items[0]?.productId ?? data.products.value()?.products[0]?.productId
    if (first !== undefined) setChosen(first)
  })

  const top = data.top.value
  const windowText = (): string => {
    const t = top()
    return t === undefined ? 'the last hour' : `${formatClock(t.windowStart)} – ${formatClock(t.windowEnd)}`
  }
  const sortedProducts = createMemo(() =>
    [...(data.products.value()?.products ?? [])].sort((a, b) => naturalCompare(productLabel(a), productLabel(b)) || a.productId - b.productId)
  )
  const chosenLabel = (): string => {
    const id = productId()
    if (id === null) return ''
    const known = data.products.value()?.products.find((p) => p.productId === id) ?? top()?.items.find((p) => p.productId === id)
    return known === undefined ? `Product #${id}` : productLabel(known)
  }
  const columns = createMemo(() => {
    const s = data.series.value()
    return s === undefined ? undefined : salesColumns(s)
  })
  const lastPoint = createMemo(() => data.series.value()?.points.at(-1))
  const empty = (): boolean => data.products.value()?.products.length === 0

  return (
    <div class="page" data-testid="commerce-page" data-live-updates={data.liveUpdates()} data-live-status={data.liveStatus()}>
      <div class="page-head">
        <div>
          <h1 class="page-title">Commerce</h1>
          <p class="page-subtitle">Sales in the last hour ({windowText()}, the 1-hour window ending at the last full minute) and all-time ratings</p>
        </div>
        <div class="page-meta">
          <Show when={data.lastLiveAt()} fallback={<span class="muted">{live() ? 'Waiting for updates' : 'Live updates paused'}</span>}>
            {(at) => (
              <span class="muted" data-testid="last-update">
                Updated {formatAgo(at(), clock())}
              </span>
            )}
          </Show>
          <label class="switch" data-testid="live-toggle">
            <input type="checkbox" role="switch" checked={live()} onChange={(e) => setLive(e.currentTarget.checked)} />
            <span class="switch-track" aria-hidden="true">
              <span class="switch-thumb" />
            </span>
            <StatusDot
              tone={LIVE_LABEL[data.liveStatus()].tone}
              label={LIVE_LABEL[data.liveStatus()].label}
              pulse={data.liveStatus() === 'live'}
              testId="live-status"
            />
          </label>
        </div>
      </div>
      <Show when={data.liveProblem()}>
        {(p) => (
          <p class="form-error" role="alert">
            Live updates: {p().message}
          </p>
        )}
      </Show>

      <Show when={empty()}>
        <Card testId="commerce-empty">
          <Empty
            title="No commerce data yet"
            detail={
              <>
                No sale or rating has reached the output topics. Start the commerce worker (<code>npm run worker -- commerce</code>) and the simulator (
                <code>npm run simulate -- commerce --realtime</code>).
              </>
            }
          />
        </Card>
      </Show>

      <div class="stats" data-testid="commerce-stats">
        <Stat label="Revenue, last hour" value={formatAmount(top()?.totals.amountCents)} hint={windowText()} testId="stat-revenue" />
        <Stat label="Orders" value={formatCount(top()?.totals.orders)} hint="sales in the last hour" testId="stat-orders" />
        <Stat label="Units" value={formatCount(top()?.totals.units)} hint="units sold in the last hour" />
        <Stat label="Products sold" value={formatCount(top()?.productsWithSales)} hint={`of ${formatCount(data.products.value()?.products.length)} known`} />
      </div>

      <div class="chart-grid">
        <Card title="Top products" subtitle={`By amount sold in the last hour (${windowText()}); pick one to chart it`} testId="card-top">
          <Loaded cell={data.top} loadingLabel="Loading top products…" height={260}>
            {(t) => (
              <Show
                when={t().items.length > 0}
                fallback={
                  <Empty
                    title="No sales in the last hour"
                    detail="Products appear here as soon as a sale of the last hour is counted."
                    height={240}
                    testId="top-empty"
                  />
                }
              >
                <div class="table-scroll">
                  <table class="table" data-testid="top-products">
                    <thead>
                      <tr>
                        <th scope="col" class="num">
                          #
                        </th>
                        <th scope="col">Product</th>
                        <th scope="col">Category</th>
                        <th scope="col" class="num">
                          Orders
                        </th>
                        <th scope="col" class="num">
                          Units
                        </th>
                        <th scope="col" class="num">
                          Amount
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      <For each={t().items}>
                        {(p: TopProduct) => (
                          <tr
                            class="row-pick"
                            classList={{ 'row-active': p.productId === productId() }}
                            data-product-id={p.productId}
                            onClick={() => setChosen(p.productId)}
                          >
                            <td class="num muted">{p.rank}</td>
                            <td class="cell-main">{productLabel(p)}</td>
                            <td class="muted">{p.category ?? '—'}</td>
                            <td class="num">{formatCount(p.orders)}</td>
                            <td class="num">{formatCount(p.units)}</td>
                            <td class="num" data-testid="top-amount">
                              {formatAmount(p.amountCents)}
                            </td>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                </div>
                <Show when={t().productsWithSales > TOP_LIMIT}>
                  <div class="table-foot">
                    <span class="muted">{formatCount(t().productsWithSales - TOP_LIMIT)} more product(s) sold in the last hour</span>
                  </div>
                </Show>
              </Show>
            )}
          </Loaded>
        </Card>

        <Card
          title={productId() === null ? 'Sales of a product' : `Sales of ${chosenLabel()}`}
          subtitle="Amount and orders of the 1-hour window ending at each minute, last 6 hours"
          testId="card-sales"
          actions={
            <select
              data-testid="product-select"
              aria-label="Product"
              value={productId() ?? ''}
              onChange={(e) => setChosen(Number(e.currentTarget.value))}
              disabled={sortedProducts().length === 0}
            >
              <For each={sortedProducts()}>
                {(p) => (
                  <option value={p.productId} selected={p.productId === productId()}>
                    {productLabel(p)} (#{p.productId})
                  </option>
                )}
              </For>
            </select>
          }
        >
          <Show
            when={productId() !== null}
            fallback={<Empty title="No product to show" detail="Products appear once a sale or rating of them is counted." height={290} />}
          >
            <Loaded cell={data.series} loadingLabel="Loading sales…" height={290}>
              {(s) => (
                <div class="chart-wrap" classList={{ 'is-loading': data.series.loading() }}>
                  <TimeChart
                    id="commerce-sales"
                    title="Amount and orders per 1-hour window"
                    series={SALES_SERIES}
                    left={{ label: 'amount', format: (v) => formatCompact(v) }}
                    right={{ label: 'orders', format: (v) => formatCompact(v), integer: true }}
                    columns={columns() ?? [[]]}
                    xLabel="Hour ending"
                  />
                  <Show when={!hasSales(s())}>
                    <div class="chart-overlay" data-testid="sales-empty">
                      <Empty title="No sales in these 6 hours" detail="Every window is zero. Pick another product." height={0} />
                    </div>
                  </Show>
                </div>
              )}
            </Loaded>
            <Show when={lastPoint()}>
              {(p) => (
                <p class="muted chart-note" data-testid="sales-last-hour">
                  Last hour ({formatClock(p().windowStart)} – {formatClock(p().windowEnd)}): <strong>{formatAmount(p().amountCents)}</strong> in{' '}
                  {formatCount(p().orders)} order(s), {formatCount(p().units)} unit(s)
                </p>
              )}
            </Show>
          </Show>
        </Card>
      </div>

      <div class="chart-grid">
        <Card title="Ratings by category" subtitle="All-time ratings of each category's products; pick one to filter the products" testId="card-categories">
          <Loaded cell={data.categoryRatings} loadingLabel="Loading categories…" height={200}>
            {(r) => (
              <Show when={r().items.length > 0} fallback={<Empty title="No ratings yet" height={180} testId="categories-empty" />}>
                <div class="table-scroll">
                  <table class="table" data-testid="category-ratings">
                    <thead>
                      <tr>
                        <th scope="col">Category</th>
                        <th scope="col" class="num">
                          Ratings
                        </th>
                        <th scope="col" class="num">
                          Average
                        </th>
                        <th scope="col">Stars</th>
                      </tr>
                    </thead>
                    <tbody>
                      <For each={r().items}>
                        {(c: CategoryRating) => (
                          <tr
                            class="row-pick"
                            classList={{ 'row-active': c.category === category() }}
                            data-category={c.category}
                            onClick={() => setCategory(category() === c.category ? null : c.category)}
                          >
                            <td class="cell-main">{c.category}</td>
                            <td class="num">{formatCount(c.count)}</td>
                            <td class="num" data-testid="average">
                              {formatRating(c.average)}
                            </td>
                            <td class="cell-histogram">
                              <Histogram histogram={c.histogram} compact />
                            </td>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                </div>
              </Show>
            )}
          </Loaded>
        </Card>

        <Card
          title="Ratings by product"
          subtitle={category() === null ? 'All-time ratings, most rated first' : `All-time ratings in ${category() ?? ''}, most rated first`}
          testId="card-product-ratings"
          actions={
            <Show when={category() !== null}>
              <button type="button" class="button button-ghost" onClick={() => setCategory(null)} data-testid="clear-category">
                All categories
              </button>
            </Show>
          }
        >
          <Loaded cell={data.productRatings} loadingLabel="Loading ratings…" height={200}>
            {(r) => (
              <Show
                when={r().items.length > 0}
                fallback={
                  <Empty
                    title="No rated products"
                    detail={category() === null ? undefined : 'No product of this category has ratings.'}
                    height={180}
                    testId="product-ratings-empty"
                  />
                }
              >
                <div class="table-scroll table-tall">
                  <table class="table" data-testid="product-ratings">
                    <thead>
                      <tr>
                        <th scope="col">Product</th>
                        <th scope="col">Category</th>
                        <th scope="col" class="num">
                          Ratings
                        </th>
                        <th scope="col" class="num">
                          Average
                        </th>
                        <th scope="col">Stars</th>
                      </tr>
                    </thead>
                    <tbody>
                      <For each={r().items}>
                        {(p: ProductRating) => (
                          <tr
                            class="row-pick"
                            classList={{ 'row-active': p.productId === productId() }}
                            data-product-id={p.productId}
                            onClick={() => setChosen(p.productId)}
                          >
                            <td class="cell-main">{productLabel(p)}</td>
                            <td class="muted">{p.category}</td>
                            <td class="num">{formatCount(p.count)}</td>
                            <td class="num" data-testid="average">
                              {formatRating(p.average)}
                            </td>
                            <td class="cell-histogram">
                              <Histogram histogram={p.histogram} compact />
                            </td>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                </div>
                <div class="table-foot">
                  <span class="muted">
                    {formatCount(r().items.length)} of {formatCount(r().total)} rated product(s) shown
                  </span>
                  <Show when={data.top.value()}>{(t) => <span class="muted">as of {formatDateTime(t().at)}</span>}</Show>
                </div>
              </Show>
            )}
          </Loaded>
        </Card>
      </div>
    </div>
  )
}

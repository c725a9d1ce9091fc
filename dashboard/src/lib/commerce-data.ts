/**
 * The commerce page's data, as pure functions: a product's sales series (one 1-hour window per
 * minute, keyed by the window's end) patched by `commerce.live` events, the chart columns, the
 * rating lists kept in the API's order as rating events arrive, and histogram shares.
 */
import type { CategoryRating, ProductRating, ProductSalesResult, SalesPoint, StarHistogram } from '../api/types.ts'
import type { ChartColumns } from './series-data.ts'

/** One point per minute m in `[from, to)`: the 1-hour window ending at m. */
export interface SalesSeriesState {
  readonly productId: number
  readonly from: number
  readonly to: number
  readonly stepMs: number
  readonly points: readonly SalesPoint[]
}

const HOUR_MS = 3_600_000

/** A window without sales ending at `windowEnd`. */
export function emptySalesPoint(windowEnd: number): SalesPoint {
  return { windowStart: windowEnd - HOUR_MS, windowEnd, orders: 0, units: 0, amountCents: 0 }
}

function slotOf(state: Pick<SalesSeriesState, 'from' | 'to' | 'stepMs'>, windowEnd: number): number {
  if (windowEnd < state.from || windowEnd >= state.to) return -1
  const offset = windowEnd - state.from
  return offset % state.stepMs === 0 ? offset / state.stepMs : -1
}

/** The state of a `commerce.sales` answer; a slot the API left out (it should not) is zero. */
export function fromSalesResult(result: Pick<ProductSalesResult, 'productId' | 'from' | 'to' | 'stepMs' | 'points'>): SalesSeriesState {
  if (!(result.stepMs > 0)) throw new TypeError(`sales series step must be positive, got ${result.stepMs}`)
  const count = result.to > result.from ? Math.ceil((result.to - result.from) / result.stepMs) : 0
  const state = { productId: result.productId, from: result.from, to: result.from + count * result.stepMs, stepMs: result.stepMs }
  const points: SalesPoint[] = Array.from({ length: count }, (_, i) => emptySalesPoint(state.from + i * state.stepMs))
  for (const p of result.points) {
    const slot = slotOf(state, p.windowEnd)
    if (slot >= 0) points[slot] = p
  }
  return { ...state, points }
}

/**
 * `state` with the windows of `updates` replaced (later updates of the same window win); windows of
 * other products or outside the range are ignored. Returns `state` itself when nothing changed.
 */
export function applySalesPoints(state: SalesSeriesState, updates: Iterable<{ productId: number; point: SalesPoint }>): SalesSeriesState {
  let points: SalesPoint[] | undefined
  for (const u of updates) {
    if (u.productId !== state.productId) continue
    const slot = slotOf(state, u.point.windowEnd)
    if (slot < 0) continue
    points ??= [...state.points]
    points[slot] = u.point
  }
  return points === undefined ? state : { ...state, points }
}

/** Sales chart columns: window end (ms), amount (currency units), orders. */
export function salesColumns(state: SalesSeriesState): ChartColumns {
  return [state.points.map((p) => p.windowEnd), state.points.map((p) => p.amountCents / 100), state.points.map((p) => p.orders)]
}

/** Whether any window of the series had a sale. */
export function hasSales(state: SalesSeriesState): boolean {
  return state.points.some((p) => p.orders > 0)
}

/** The API's order of product ratings: most ratings first, then by id. */
function byProductCount(a: ProductRating, b: ProductRating): number {
  return b.count - a.count || a.productId - b.productId
}

/** The API's order of category ratings: most ratings first, then by name. */
function byCategoryCount(a: CategoryRating, b: CategoryRating): number {
  return b.count - a.count || (a.category < b.category ? -1 : a.category > b.category ? 1 : 0)
}

/**
 * The product list after a `productRating` event: the product replaced, added or (rating null, or
 * no longer in `category`) removed, in the API's order, at most `limit` long.
 */
export function applyProductRating(
  items: readonly ProductRating[],
  productId: number,
  rating: ProductRating | null,
  category: string | null,
  limit: number
): ProductRating[] {
  const rest = items.filter((p) => p.productId !== productId)
  if (rating !== null && (category === null || rating.category === category)) rest.push(rating)
  return rest.sort(byProductCount).slice(0, limit)
}

/** The category list after a `categoryRating` event: replaced, added or (null) removed, in the API's order. */
export function applyCategoryRating(items: readonly CategoryRating[], category: string, rating: CategoryRating | null): CategoryRating[] {
  const rest = items.filter((c) => c.category !== category)
  if (rating !== null) rest.push(rating)
  return rest.sort(byCategoryCount)
}

/** Each star's share of the ratings, 0..1 (all zero without ratings). */
export function histogramShares(histogram: StarHistogram): number[] {
  const total = histogram.reduce((s, n) => s + n, 0)
  return histogram.map((n) => (total === 0 ? 0 : n / total))
}

/** A product's display name: its name from its ratings, else `Product #id`. */
export function productLabel(p: { productId: number; productName: string | null }): string {
  return p.productName === null || p.productName.trim() === '' ? `Product #${p.productId}` : p.productName
}

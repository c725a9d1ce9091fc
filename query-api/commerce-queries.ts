/**
 * The answers of the commerce procedures and REST endpoints, computed from the sales and ratings
 * indexes at a moment `atMs` (the wall clock, injected).
 *
 * "The last hour" at a moment T is the 1-hour window that ends at T rounded down to the minute
 * (`lastHourWindow` of apps/commerce): at 12:34:56.789 it is [11:34:00, 12:34:00). A sales series
 * has one point per minute m, the window that ends at m ([m - 1 h, m)).
 */
import { HOUR_MS, lastHourWindow, MINUTE_MS } from '../apps/commerce/index.ts'
import { QueryApiError, QueryApiErrorCodes } from './errors.ts'
import type { CategoryRatingView, ProductRatingView, RatingsIndex } from './ratings-index.ts'
import { NO_SALES, type SalesFigures, type SalesIndex } from './sales-index.ts'

/** The materialized commerce topics. */
export interface CommerceData {
  readonly sales: SalesIndex
  readonly ratings: RatingsIndex
}

/** One 1-hour window of a product's sales (zero when it sold nothing in it). */
export interface SalesPoint extends SalesFigures {
  /** Window start, inclusive, epoch ms. */
  readonly windowStart: number
  /** Window end, exclusive, epoch ms (= windowStart + 1 h). */
  readonly windowEnd: number
}

/** Name and category of a product, as given by its latest rating (null when it has none). */
export interface ProductLabel {
  readonly productId: number
  readonly productName: string | null
  readonly category: string | null
}

/** `commerce.sales` output: a product's last hour and its series of 1-hour windows. */
export interface ProductSalesResult extends ProductLabel {
  /** The moment the last hour is measured at, epoch ms. */
  readonly at: number
  readonly lastHour: SalesPoint
  /** Window ends of the series, `[from, to)`, multiples of a minute. */
  readonly from: number
  readonly to: number
  /** Distance between points (1 minute), ms. */
  readonly stepMs: number
  /** One point per minute m in `[from, to)`: the window ending at m. */
  readonly points: SalesPoint[]
}

/** One product of the top list. */
export interface TopProduct extends ProductLabel, SalesFigures {
  /** 1-based position. */
  readonly rank: number
}

/** `commerce.top` output: products by sales in the last hour, highest amount first. */
export interface TopProductsResult {
  readonly at: number
  readonly windowStart: number
  readonly windowEnd: number
  /** Products with at least one sale in the window (the list holds at most `limit` of them). */
  readonly productsWithSales: number
  /** Sums over every product with sales in the window. */
  readonly totals: SalesFigures
  readonly items: TopProduct[]
}

/** One known product for pickers: what it is, its last hour and its ratings summary. */
export interface ProductSummary extends ProductLabel {
  readonly lastHour: SalesFigures
  readonly ratingCount: number
  /** Average stars, null without ratings. */
  readonly averageRating: number | null
}

/** `commerce.products` output. */
export interface ProductsResult {
  readonly at: number
  readonly windowStart: number
  readonly windowEnd: number
  /** Every product seen on a commerce topic, by id. */
  readonly products: ProductSummary[]
}

/** `commerce.productRatings` output. */
export interface ProductRatingsResult {
  /** Products with ratings that match the filter (the list holds at most `limit` of them). */
  readonly total: number
  /** Most ratings first, then by id. */
  readonly items: ProductRatingView[]
}

/** `commerce.categoryRatings` output. */
export interface CategoryRatingsResult {
  /** Most ratings first, then by name. */
  readonly items: CategoryRatingView[]
}

/** Currency units of an amount in cents (`total` of the REST endpoint): 123456 -> 1234.56. */
export function currencyUnits(amountCents: number): number {
  return amountCents / 100
}

/** Whether `productId` was seen on any followed commerce topic (sales windows or product ratings). */
export function isKnownProduct(data: CommerceData, productId: number): boolean {
  return data.sales.hasSeen(productId) || data.ratings.hasSeen(productId)
}

/** Number of known products (seen on any followed commerce topic). */
export function knownProductCount(data: CommerceData): number {
  return new Set([...data.sales.seenProducts(), ...data.ratings.seenProducts()]).size
}

/** Throws UNKNOWN_PRODUCT (404) for a product never seen. */
export function requireKnownProduct(data: CommerceData, productId: number): void {
  if (!isKnownProduct(data, productId)) {
    throw new QueryApiError(QueryApiErrorCodes.UNKNOWN_PRODUCT, `unknown product ${productId}: no sale or rating of it has been seen`)
  }
}

function label(data: CommerceData, productId: number): ProductLabel {
  const rating = data.ratings.product(productId)
  return { productId, productName: rating?.productName ?? null, category: rating?.category ?? null }
}

function point(data: CommerceData, productId: number, windowStart: number): SalesPoint {
  const figures = data.sales.get(productId, windowStart) ?? NO_SALES
  return { windowStart, windowEnd: windowStart + HOUR_MS, orders: figures.orders, units: figures.units, amountCents: figures.amountCents }
}

/** The sales of `productId` in the last hour at `atMs` (zero when it sold nothing then). */
export function lastHourSales(data: CommerceData, productId: number, atMs: number): SalesPoint {
  return point(data, productId, lastHourWindow(atMs).windowStartMs)
}

/**
 * The sales of `productId` in the last hour at `atMs`, and one point per minute m in `[fromMs, toMs)`
 * (bounds rounded up to the minute): the window ending at m.
 */
export function productSales(data: CommerceData, productId: number, atMs: number, fromMs: number, toMs: number): ProductSalesResult {
  requireKnownProduct(data, productId)
  const from = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS
  const to = Math.max(from, Math.ceil(toMs / MINUTE_MS) * MINUTE_MS)
  const points: SalesPoint[] = []
  for (let end = from; end < to; end += MINUTE_MS) points.push(point(data, productId, end - HOUR_MS))
  return { ...label(data, productId), at: atMs, lastHour: lastHourSales(data, productId, atMs), from, to, stepMs: MINUTE_MS, points }
}

/** Orders `a` before `b` when it sold more: amount, then units, then orders, then the lower id. */
function bySales(a: readonly [number, SalesFigures], b: readonly [number, SalesFigures]): number {
  return b[1].amountCents - a[1].amountCents || b[1].units - a[1].units || b[1].orders - a[1].orders || a[0] - b[0]
}

/** The `limit` products that sold most in the last hour at `atMs`. */
export function topProducts(data: CommerceData, atMs: number, limit: number): TopProductsResult {
  const { windowStartMs, windowEndMs } = lastHourWindow(atMs)
  const all = [...data.sales.productsAt(windowStartMs)].filter(([, f]) => f.orders > 0 || f.amountCents > 0 || f.units > 0)
  const totals = { orders: 0, units: 0, amountCents: 0 }
  for (const [, f] of all) {
    totals.orders += f.orders
    totals.units += f.units
    totals.amountCents += f.amountCents
  }
  const items = all
    .sort(bySales)
    .slice(0, limit)
    .map(([productId, f], i): TopProduct => ({
      rank: i + 1,
      ...label(data, productId),
      orders: f.orders,
      units: f.units,
      amountCents: f.amountCents
    }))
  return { at: atMs, windowStart: windowStartMs, windowEnd: windowEndMs, productsWithSales: all.length, totals, items }
}

/** Every known product with its last hour at `atMs` and its ratings summary, by id. */
export function productSummaries(data: CommerceData, atMs: number): ProductsResult {
  const { windowStartMs, windowEndMs } = lastHourWindow(atMs)
  const ids = new Set<number>([...data.sales.seenProducts(), ...data.ratings.seenProducts()])
  const products = [...ids]
    .sort((a, b) => a - b)
    .map((productId): ProductSummary => {
      const f = data.sales.get(productId, windowStartMs) ?? NO_SALES
      const rating = data.ratings.product(productId)
      return {
        ...label(data, productId),
        lastHour: { orders: f.orders, units: f.units, amountCents: f.amountCents },
        ratingCount: rating?.count ?? 0,
        averageRating: rating?.average ?? null
      }
    })
  return { at: atMs, windowStart: windowStartMs, windowEnd: windowEndMs, products }
}

/** Products with ratings (of `category` when given), most ratings first, at most `limit`. */
export function productRatings(data: CommerceData, category: string | null, limit: number): ProductRatingsResult {
  const matching = [...data.ratings.products()].filter((p) => category === null || p.category === category)
  matching.sort((a, b) => b.count - a.count || a.productId - b.productId)
  return { total: matching.length, items: matching.slice(0, limit) }
}

/** Every category with ratings, most ratings first. */
export function categoryRatings(data: CommerceData): CategoryRatingsResult {
  const items = [...data.ratings.categories()].sort((a, b) => b.count - a.count || (a.category < b.category ? -1 : a.category > b.category ? 1 : 0))
  return { items }
}

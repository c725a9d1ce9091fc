/**
 * The `commerce.*` procedures: known products, a product's last hour with its series of 1-hour
 * windows, the top products of the last hour, ratings per product and per category with their 1-5
 * histograms, and `commerce.live`, which pushes changes over SSE. "Now" comes from the injected
 * clock; queries may name another moment with `at`.
 */
import { HOUR_MS, lastHourWindow, MINUTE_MS } from '../apps/commerce/index.ts'
import type { CommerceChange } from './commerce-materializer.ts'
import {
  categoryRatings,
  productRatings,
  productSales,
  productSummaries,
  topProducts,
  type CategoryRatingsResult,
  type CommerceData,
  type ProductRatingsResult,
  type ProductSalesResult,
  type ProductsResult,
  type SalesPoint,
  type TopProductsResult
} from './commerce-queries.ts'
import { checkRange, checkSeriesPoints, commerceLiveInput, commerceProductsInput, commerceSalesInput, commerceTopInput, productRatingsInput } from './inputs.ts'
import { liveEventStream, LiveQueue } from './live-queue.ts'
import type { CategoryRatingView, ProductRatingView } from './ratings-index.ts'
import { badQuery, readProcedure, t } from './trpc.ts'

/** What the commerce procedures read. */
export interface CommerceServices {
  /** The materialized commerce topics. */
  readonly data: CommerceData
  /** Source of live changes (the commerce materializer). */
  readonly changes: { onCommerceChanges(listener: (changes: readonly CommerceChange[]) => void): () => void }
}

/** What the commerce router needs besides the data. */
export interface CommerceRouterServices {
  readonly instanceId: string
  /** Longest `to - from` of a series, ms. */
  readonly maxRangeMs: number
  /** Most points of one series (one per minute). */
  readonly maxSeriesPoints: number
  readonly commerce: CommerceServices
  /** Wall clock, epoch ms. */
  now(): number
  /** Whether the instance has caught up with the topics (told to live subscribers). */
  ready(): boolean
  /** Changes a live subscriber may have pending before it is told to resync. */
  readonly liveMaxPending: number
}

/** Default length of a sales series: 6 hours of window ends. */
export const DEFAULT_SERIES_MS = 6 * HOUR_MS

/** One event of `commerce.live`. */
export type CommerceLiveEvent =
  /** First event: the subscription is registered; changes from now on are delivered. Read what you show. */
  | { readonly kind: 'subscribed'; readonly instanceId: string; readonly ready: boolean }
  /** The top list of the last hour, when its window's sales changed or the minute turned (a new last hour). */
  | { readonly kind: 'top'; readonly top: TopProductsResult }
  /** A 1-hour window of one of the subscribed products changed: the point to replace in its series. */
  | { readonly kind: 'sales'; readonly productId: number; readonly point: SalesPoint }
  /** A product's ratings changed (null: deleted). */
  | { readonly kind: 'productRating'; readonly productId: number; readonly rating: ProductRatingView | null }
  /** A category's ratings changed (null: deleted, the category has no ratings left). */
  | { readonly kind: 'categoryRating'; readonly category: string; readonly rating: CategoryRatingView | null }
  /** Changes were dropped (the subscriber was too slow): re-read everything. */
  | { readonly kind: 'resync' }

/** What a live subscriber's queue holds: a change, or "the top list is due". */
type CommerceLiveItem = CommerceChange | { readonly kind: 'top' }

function liveItemKey(item: CommerceLiveItem): string {
  switch (item.kind) {
    case 'sales':
      return `s|${item.productId}|${item.windowStart}`
    case 'productRating':
      return `p|${item.productId}`
    case 'categoryRating':
      return `c|${item.category}`
    case 'top':
      return 't'
  }
}

/** The events of one live subscriber until `stop` aborts. */
async function* commerceLiveEvents(
  services: CommerceRouterServices,
  input: { products: number[]; topLimit: number },
  stop: AbortSignal
): AsyncGenerator<CommerceLiveEvent, void, unknown> {
  const { data } = services.commerce
  const queue = new LiveQueue<CommerceLiveItem>(services.liveMaxPending, liveItemKey)
  const products = new Set(input.products)
  const unsubscribe = services.commerce.changes.onCommerceChanges((changes) => {
    const lastHourStart = lastHourWindow(services.now()).windowStartMs
    for (const c of changes) {
      if (c.kind !== 'sales') queue.push(c)
      else {
        if (products.has(c.productId)) queue.push(c)
        if (c.windowStart === lastHourStart) queue.push({ kind: 'top' })
      }
    }
  })
  // At each minute turn "the last hour" is another window: the top list changes without any record.
  let minuteTimer: ReturnType<typeof setTimeout> | undefined
  const scheduleTop = (): void => {
    minuteTimer = setTimeout(
      () => {
        queue.push({ kind: 'top' })
        scheduleTop()
      },
      MINUTE_MS - (services.now() % MINUTE_MS) + 5
    )
    minuteTimer.unref?.()
  }
  scheduleTop()
  const render = (c: CommerceLiveItem): CommerceLiveEvent => {
    switch (c.kind) {
      case 'top':
        return { kind: 'top', top: topProducts(data, services.now(), input.topLimit) }
      case 'sales': {
        const f = data.sales.get(c.productId, c.windowStart)
        const point: SalesPoint = {
          windowStart: c.windowStart,
          windowEnd: c.windowStart + HOUR_MS,
          orders: f?.orders ?? 0,
          units: f?.units ?? 0,
          amountCents: f?.amountCents ?? 0
        }
        return { kind: 'sales', productId: c.productId, point }
      }
      case 'productRating':
        return { kind: 'productRating', productId: c.productId, rating: data.ratings.product(c.productId) ?? null }
      case 'categoryRating':
        return { kind: 'categoryRating', category: c.category, rating: data.ratings.category(c.category) ?? null }
    }
  }
  yield* liveEventStream(
    queue,
    stop,
    (): CommerceLiveEvent => ({ kind: 'subscribed', instanceId: services.instanceId, ready: services.ready() }),
    render,
    () => {
      if (minuteTimer !== undefined) clearTimeout(minuteTimer)
      unsubscribe()
    }
  )
}

/** Builds the `commerce` router over `services`. */
export function createCommerceRouter(services: CommerceRouterServices) {
  const { data } = services.commerce
  return t.router({
    products: readProcedure.input(commerceProductsInput).query(({ input }): ProductsResult => productSummaries(data, input.at ?? services.now())),

    sales: readProcedure.input(commerceSalesInput).query(({ input }): ProductSalesResult => {
      const at = input.at ?? services.now()
      const to = input.to ?? lastHourWindow(at).windowEndMs + MINUTE_MS
      const from = input.from ?? to - DEFAULT_SERIES_MS
      if (from > to) badQuery(`from (${from}) must not be after to (${to}, the default: the minute after the last hour ends)`)
      checkRange(from, to, services.maxRangeMs)
      checkSeriesPoints(from, to, MINUTE_MS, services.maxSeriesPoints)
      return productSales(data, input.productId, at, from, to)
    }),

    top: readProcedure.input(commerceTopInput).query(({ input }): TopProductsResult => topProducts(data, input.at ?? services.now(), input.limit)),

    productRatings: readProcedure.input(productRatingsInput).query(({ input }): ProductRatingsResult => productRatings(data, input.category, input.limit)),

    categoryRatings: readProcedure.query((): CategoryRatingsResult => categoryRatings(data)),

    live: readProcedure.input(commerceLiveInput).subscription(({ input, signal }): AsyncGenerator<CommerceLiveEvent, void, unknown> => {
      return commerceLiveEvents(services, input, signal ?? new AbortController().signal)
    })
  })
}

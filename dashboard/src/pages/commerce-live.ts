/**
 * The commerce page's data: the top products of the last hour, the known products, the chosen
 * product's sales series and the ratings per product and per category, each read with a query and
 * kept current by `commerce.live`.
 *
 * As on the traffic page, the subscription is opened first and every `subscribed` event (the first,
 * and again after a reconnect) re-reads everything; events that arrive while a read is in flight wait
 * and are applied on top of its answer, the others are applied in batches every 250 ms. The server
 * computes each event after the change it reports, so the last event of a key carries its latest
 * state. At each minute turn "the last hour" moves on: the series and the lists are read again
 * (quietly), and the server pushes the new top list.
 */
import { batch, createEffect, createSignal, onCleanup, untrack, type Accessor } from 'solid-js'
import { api, call, problemOf } from '../api/client.ts'
import type { ApiProblem } from '../api/errors.ts'
import { createLiveSubscription, type LiveStatus } from '../api/live.ts'
import type {
  CategoryRatingsResult,
  CommerceLiveEvent,
  CommerceProducts,
  ProductRating,
  ProductRatingsResult,
  SalesPoint,
  TopProductsResult
} from '../api/types.ts'
import { applyCategoryRating, applyProductRating, applySalesPoints, fromSalesResult, type SalesSeriesState } from '../lib/commerce-data.ts'
import { msUntilNextMinute } from '../lib/time-range.ts'

/** Products in the top list. */
export const TOP_LIMIT = 10
/** Products in the ratings table. */
export const RATINGS_LIMIT = 200
const FLUSH_MS = 250

/** One query answer kept current by events. */
export interface LiveValue<T> {
  readonly value: Accessor<T | undefined>
  readonly problem: Accessor<ApiProblem | undefined>
  /** A visible (not quiet) read is in flight. */
  readonly loading: Accessor<boolean>
  /** Reads again; `quiet` keeps the loading state off (the old answer stays on screen either way). */
  load(quiet: boolean): void
}

interface LiveCell<T, TEvent> extends LiveValue<T> {
  push(event: TEvent): void
  /** Forgets the answer and pending events (the query changed). */
  reset(): void
}

/**
 * A query answer patched by events: events wait while a read is in flight and are applied on top of
 * its answer; otherwise they are applied every `FLUSH_MS`. `onApplied` counts what was applied.
 */
function createLiveCell<T, TEvent>(
  read: () => Promise<T> | undefined,
  apply: (value: T, events: readonly TEvent[]) => T,
  onApplied: (n: number) => void
): LiveCell<T, TEvent> {
  const [value, setValue] = createSignal<T | undefined>(undefined)
  const [problem, setProblem] = createSignal<ApiProblem | undefined>(undefined)
  const [loading, setLoading] = createSignal(false)
  let generation = 0
  let settled = true
  let pending: TEvent[] = []
  let flushTimer: ReturnType<typeof setTimeout> | undefined

  const applyPending = (base: T | undefined): void => {
    const events = pending
    pending = []
    if (base === undefined || events.length === 0) {
      if (base !== undefined) setValue(() => base)
      return
    }
    setValue(() => apply(base, events))
    onApplied(events.length)
  }
  const flush = (): void => {
    flushTimer = undefined
    if (settled && pending.length > 0) applyPending(untrack(value))
  }
  const load = (quiet: boolean): void => {
    const request = read()
    if (request === undefined) return
    const gen = ++generation
    settled = false
    if (!quiet) setLoading(true)
    request.then(
      (fresh) => {
        if (gen !== generation) return
        settled = true
        batch(() => {
          applyPending(fresh)
          setProblem(undefined)
          setLoading(false)
        })
      },
      (err: unknown) => {
        if (gen !== generation) return
        settled = true
        batch(() => {
          // The answer on screen stays, with what happened since.
          applyPending(untrack(value))
          setProblem(problemOf(err))
          setLoading(false)
        })
      }
    )
  }
  onCleanup(() => {
    if (flushTimer !== undefined) clearTimeout(flushTimer)
  })
  return {
    value,
    problem,
    loading,
    load,
    push: (event) => {
      pending.push(event)
      if (settled) flushTimer ??= setTimeout(flush, FLUSH_MS)
    },
    reset: () => {
      generation++
      settled = true
      pending = []
      batch(() => {
        setValue(undefined)
        setProblem(undefined)
        setLoading(false)
      })
    }
  }
}

export interface CommerceLiveArgs {
  /** The product whose sales series is shown (null: none chosen yet). */
  readonly productId: Accessor<number | null>
  /** The category the product ratings are filtered by (null: all). */
  readonly category: Accessor<string | null>
  readonly live: Accessor<boolean>
}

export interface CommerceLive {
  readonly top: LiveValue<TopProductsResult>
  readonly products: LiveValue<CommerceProducts>
  readonly series: LiveValue<SalesSeriesState>
  readonly productRatings: LiveValue<ProductRatingsResult>
  readonly categoryRatings: LiveValue<CategoryRatingsResult>
  readonly liveStatus: Accessor<LiveStatus>
  readonly liveProblem: Accessor<ApiProblem | undefined>
  /** Events applied so far (tests wait on it). */
  readonly liveUpdates: Accessor<number>
  /** When the last event was applied, epoch ms. */
  readonly lastLiveAt: Accessor<number | null>
}

/** Creates the commerce page's data (call inside a component). */
export function createCommerceLive(args: CommerceLiveArgs): CommerceLive {
  const [liveUpdates, setLiveUpdates] = createSignal(0)
  const [lastLiveAt, setLastLiveAt] = createSignal<number | null>(null)
  const applied = (n: number): void => {
    batch(() => {
      setLiveUpdates((u) => u + n)
      setLastLiveAt(Date.now())
    })
  }

  const top = createLiveCell<TopProductsResult, TopProductsResult>(
    () => call((c) => c.commerce.top.query({ limit: TOP_LIMIT })),
    // The newest last hour wins: an event computed before the minute turned does not replace a newer answer.
    (current, events) => events.reduce((best, e) => (e.windowEnd >= best.windowEnd ? e : best), current),
    applied
  )
  const products = createLiveCell<CommerceProducts, never>(
    () => call((c) => c.commerce.products.query({})),
    (current) => current,
    applied
  )
  const series = createLiveCell<SalesSeriesState, { productId: number; point: SalesPoint }>(
    () => {
      const productId = untrack(args.productId)
      return productId === null ? undefined : call((c) => c.commerce.sales.query({ productId })).then(fromSalesResult)
    },
    (current, events) => applySalesPoints(current, events),
    applied
  )
  const productRatings = createLiveCell<ProductRatingsResult, { productId: number; rating: ProductRating | null }>(
    () => call((c) => c.commerce.productRatings.query({ category: untrack(args.category), limit: RATINGS_LIMIT })),
    (current, events) => {
      const category = untrack(args.category)
      let items = current.items
      let total = current.total
      for (const e of events) {
        const had = items.some((p) => p.productId === e.productId)
        items = applyProductRating(items, e.productId, e.rating, category, RATINGS_LIMIT)
        const has = e.rating !== null && (category === null || e.rating.category === category)
        // `total` counts beyond the limit: adjust it by what the event added or removed.
        if (had !== has) total += has ? 1 : -1
      }
      return { total, items }
    },
    applied
  )
  const categoryRatings = createLiveCell<CategoryRatingsResult, { category: string; rating: CategoryRatingsResult['items'][number] | null }>(
    () => call((c) => c.commerce.categoryRatings.query()),
    (current, events) => ({ items: events.reduce((items, e) => applyCategoryRating(items, e.category, e.rating), current.items) }),
    applied
  )

  const readAll = (quiet: boolean): void => {
    top.load(quiet && untrack(top.value) !== undefined)
    products.load(quiet && untrack(products.value) !== undefined)
    series.load(quiet && untrack(series.value) !== undefined)
    productRatings.load(quiet && untrack(productRatings.value) !== undefined)
    categoryRatings.load(quiet && untrack(categoryRatings.value) !== undefined)
  }

  // Another product: its series, with a loading state. Another category: its ratings.
  let lastProduct: number | null | undefined
  createEffect(() => {
    const productId = args.productId()
    untrack(() => {
      if (productId === lastProduct) return
      lastProduct = productId
      series.reset()
      series.load(false)
    })
  })
  let lastCategory: string | null | undefined
  createEffect(() => {
    const category = args.category()
    untrack(() => {
      if (category === lastCategory) return
      lastCategory = category
      productRatings.reset()
      productRatings.load(false)
    })
  })
  top.load(false)
  products.load(false)
  categoryRatings.load(false)

  // At each minute turn the last hour is another window.
  let minuteTimer: ReturnType<typeof setTimeout> | undefined
  const tickMinute = (): void => {
    top.load(true)
    products.load(true)
    series.load(true)
    minuteTimer = setTimeout(tickMinute, msUntilNextMinute(Date.now()) + 50)
  }
  minuteTimer = setTimeout(tickMinute, msUntilNextMinute(Date.now()) + 50)
  onCleanup(() => {
    if (minuteTimer !== undefined) clearTimeout(minuteTimer)
  })

  // The subscription follows the chosen product.
  const { liveStatus, liveProblem } = createLiveSubscription<number | null, CommerceLiveEvent>({
    live: args.live,
    input: args.productId,
    open: (productId, handlers) => api().commerce.live.subscribe({ products: productId === null ? [] : [productId], topLimit: TOP_LIMIT }, handlers),
    onSubscribed: () => readAll(true),
    onEvent: (event) => {
      switch (event.kind) {
        case 'resync':
          readAll(true)
          break
        case 'top':
          top.push(event.top)
          break
        case 'sales':
          series.push({ productId: event.productId, point: event.point })
          break
        case 'productRating':
          productRatings.push({ productId: event.productId, rating: event.rating })
          break
        case 'categoryRating':
          categoryRatings.push({ category: event.category, rating: event.rating })
          break
      }
    }
  })

  return { top, products, series, productRatings, categoryRatings, liveStatus, liveProblem, liveUpdates, lastLiveAt }
}

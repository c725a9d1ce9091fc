/**
 * A deterministic model of a shop, shared by the simulator, the tests and the reference: the same
 * options give the same records in the same order.
 *
 * A catalogue of products (ids 1..N, each with a category and a unit price) sells and gets rated at
 * random times (exponential gaps); a few products are popular (a skewed pick). Sales have 1-5 units
 * at the product's price; ratings cluster around the product's quality. Optional fractions of
 * records are delivered out of order (1-50 s after their event time: within the 1-minute grace),
 * delivered late (2-10 minutes: beyond grace), or move their product to another category (the
 * rating, and the product's later ones, name the new category). For the seed-JSON format, extra
 * invalid records of every kind the bridge rejects are mixed in (not counted in `events`).
 */
import type { ProductRated, ProductSold } from '../../schemas/index.ts'
import { checkCount, checkFraction, checkSeed, checkStartMs, Prng, TimeQueue } from '../shared/index.ts'
import { MINUTE_MS } from './config.ts'

/** Options of the generator; fractions are probabilities in [0, 1]. */
export interface CommerceGeneratorOptions {
  /** PRNG seed (uint32). */
  readonly seed: number
  /** Number of sale and rating events (delayed ones included; invalid extras not). */
  readonly events: number
  /** Event time of the first event, epoch ms. */
  readonly startMs: number
  /** Products in the catalogue, ids 1..N. Default 50. */
  readonly products?: number
  /** Categories the products are spread over. Default 8. */
  readonly categories?: number
  /** Mean event-time gap between two events, ms. Default 250. */
  readonly meanGapMs?: number
  /** Share of sales among the events (the rest are ratings). Default 0.7. */
  readonly saleFraction?: number
  /** Events delivered 1-50 s after their event time. Default 0.02. */
  readonly outOfOrderFraction?: number
  /** Events delivered 2-10 minutes after their event time (beyond the default grace). Default 0.001. */
  readonly lateFraction?: number
  /** Ratings that move their product to another category. Default 0.001. */
  readonly recategorizeFraction?: number
  /** Extra invalid seed-JSON records per event. Default 0. */
  readonly invalidFraction?: number
}

/** The kinds of invalid seed-JSON records (one per rejection reason of the bridge). */
export const INVALID_VARIANTS = [
  'not-json',
  'not-object',
  'unknown-event',
  'missing-field',
  'mistyped-field',
  'rating-out-of-range',
  'negative-amount',
  'non-numeric-amount'
] as const

/** One of `INVALID_VARIANTS`. */
export type InvalidVariant = (typeof INVALID_VARIANTS)[number]

/** One record as the simulator sends it, in send order. */
export type CommerceRecord =
  | { readonly kind: 'sold'; readonly value: ProductSold }
  | { readonly kind: 'rated'; readonly value: ProductRated }
  /** `text`: the record's value as sent to `analytics`; `timestampMs`: its Kafka timestamp. */
  | { readonly kind: 'invalid'; readonly variant: InvalidVariant; readonly productId: number; readonly text: string; readonly timestampMs: number }

const CATEGORY_NAMES = ['Software', 'Books', 'Garden', 'Toys', 'Music', 'Food', 'Sports', 'Office', 'Games', 'Tools', 'Beauty', 'Pets']

interface Product {
  readonly id: number
  readonly name: string
  category: string
  readonly priceCents: number
  /** Mean stars. */
  readonly quality: number
}

/** The event-time range the generator covers for `events` events, ms (an estimate, for choosing a start). */
export function estimatedDurationMs(events: number, meanGapMs = 250): number {
  return events * meanGapMs
}

/** The catalogue of the model: what `commerceRecords` sells (before any recategorization). */
export function commerceCatalogue(
  options: Pick<CommerceGeneratorOptions, 'seed' | 'products' | 'categories'>
): Array<{ id: number; name: string; category: string; priceCents: number }> {
  return catalogue(
    new Prng(options.seed),
    checkCount('products', options.products, 50, 1, 1_000_000),
    checkCount('categories', options.categories, 8, 1, 1000)
  ).map(({ id, name, category, priceCents }) => ({ id, name, category, priceCents }))
}

function catalogue(prng: Prng, products: number, categories: number): Product[] {
  const names = Array.from({ length: categories }, (_, i) => CATEGORY_NAMES[i] ?? `Category ${i + 1}`)
  return Array.from({ length: products }, (_, i) => ({
    id: i + 1,
    name: `Product ${i + 1}`,
    category: prng.pick(names),
    priceCents: 99 + Math.floor(prng.next() * 20_000),
    quality: 1.5 + 3.4 * prng.next()
  }))
}

/** The invalid seed-JSON text of `variant`, derived from a valid event of the product. */
function invalidText(variant: InvalidVariant, product: Product, prng: Prng): string {
  const sold = { event_name: 'productSold', name_of_product: product.name, product_id: product.id, no_of_units: 1, amount: product.priceCents / 100 }
  const rated = { event_name: 'productRated', name_of_product: product.name, product_id: product.id, rating: 3, category: product.category }
  switch (variant) {
    case 'not-json':
      return JSON.stringify(sold).slice(0, 20 + Math.floor(prng.next() * 20))
    case 'not-object':
      return prng.next() < 0.5 ? JSON.stringify([sold]) : JSON.stringify('productSold')
    case 'unknown-event':
      return JSON.stringify({ ...sold, event_name: prng.pick(['productReturned', 'productViewed', 'ProductSold']) })
    case 'missing-field': {
      const base: Record<string, unknown> = prng.next() < 0.5 ? { ...sold } : { ...rated }
      delete base[prng.pick(Object.keys(base).filter((k) => k !== 'event_name'))]
      return JSON.stringify(base)
    }
    case 'mistyped-field':
      return prng.next() < 0.5 ? JSON.stringify({ ...sold, no_of_units: '1' }) : JSON.stringify({ ...rated, product_id: String(product.id) })
    case 'rating-out-of-range':
      return JSON.stringify({ ...rated, rating: prng.pick([0, 6, 10, -1]) })
    case 'negative-amount':
      return JSON.stringify({ ...sold, amount: prng.next() < 0.5 ? -sold.amount : String(-sold.amount) })
    case 'non-numeric-amount':
      return JSON.stringify({ ...sold, amount: prng.pick(['N/A', '12,50', '$12.50', 'twelve']) })
  }
}

/** The records of the model, lazily, in send order. */
export function* commerceRecords(options: CommerceGeneratorOptions): Generator<CommerceRecord> {
  const seed = checkSeed(options.seed)
  const events = checkCount('events', options.events, 0, 0, Number.MAX_SAFE_INTEGER)
  const startMs = checkStartMs(options.startMs)
  const meanGapMs = options.meanGapMs ?? 250
  if (!(meanGapMs > 0 && meanGapMs <= 3_600_000)) throw new RangeError(`meanGapMs must be in (0, 3600000], got ${String(options.meanGapMs)}`)
  const saleFraction = checkFraction('saleFraction', options.saleFraction, 0.7)
  const outOfOrder = checkFraction('outOfOrderFraction', options.outOfOrderFraction, 0.02)
  const late = checkFraction('lateFraction', options.lateFraction, 0.001)
  const recategorize = checkFraction('recategorizeFraction', options.recategorizeFraction, 0.001)
  const invalid = checkFraction('invalidFraction', options.invalidFraction, 0)
  const categories = checkCount('categories', options.categories, 8, 1, 1000)
  const prng = new Prng(seed)
  const products = catalogue(prng, checkCount('products', options.products, 50, 1, 1_000_000), categories)
  const categoryNames = [...new Set(products.map((p) => p.category))]
  const queue = new TimeQueue<CommerceRecord>()
  let t = startMs
  for (let n = 0; n < events; n++) {
    t += Math.round(prng.exponential(1 / meanGapMs))
    while (queue.peekAt() <= t) yield queue.pop() as CommerceRecord
    // Skewed popularity: low ids sell and get rated more often.
    const product = products[Math.floor(products.length * prng.next() ** 2)] as Product
    if (invalid > 0 && prng.next() < invalid) {
      const variant = prng.pick(INVALID_VARIANTS)
      yield { kind: 'invalid', variant, productId: product.id, text: invalidText(variant, product, prng), timestampMs: t }
    }
    let record: CommerceRecord
    if (prng.next() < saleFraction) {
      const units = 1 + Math.min(4, Math.floor(prng.exponential(1)))
      record = { kind: 'sold', value: { product_id: product.id, product_name: product.name, units, amount_cents: units * product.priceCents, timestamp: t } }
    } else {
      if (categoryNames.length > 1 && prng.next() < recategorize) product.category = prng.pick(categoryNames.filter((c) => c !== product.category))
      const rating = Math.min(5, Math.max(1, Math.round(product.quality + 1.2 * prng.gaussian())))
      record = { kind: 'rated', value: { product_id: product.id, product_name: product.name, rating, category: product.category, timestamp: t } }
    }
    const u = prng.next()
    if (u < late) queue.push(t + Math.round(prng.uniform(2 * MINUTE_MS, 10 * MINUTE_MS)), record)
    else if (u < late + outOfOrder) queue.push(t + Math.round(prng.uniform(1_000, 50_000)), record)
    else yield record
  }
  while (queue.size > 0) yield queue.pop() as CommerceRecord
}

/** The generated records as an array (tests). */
export function generateCommerceRecords(options: CommerceGeneratorOptions): CommerceRecord[] {
  return [...commerceRecords(options)]
}

/**
 * The seed's JSON text of a typed event, as the seed's producers publish it on `analytics`. The
 * spelling varies deterministically with the event (so the bridge sees every form): the
 * discriminator is `event_name` or `event`, the amount a number or a string, in currency units.
 */
export function toSeedJson(record: { kind: 'sold'; value: ProductSold } | { kind: 'rated'; value: ProductRated }): string {
  const variant = record.value.timestamp + record.value.product_id
  const discriminator = variant % 2 === 0 ? 'event_name' : 'event'
  if (record.kind === 'sold') {
    const { value } = record
    const amount = (value.amount_cents / 100).toFixed(2)
    return JSON.stringify({
      [discriminator]: 'productSold',
      name_of_product: value.product_name,
      product_id: value.product_id,
      no_of_units: value.units,
      amount: variant % 3 === 0 ? amount : Number(amount)
    })
  }
  const { value } = record
  return JSON.stringify({
    [discriminator]: 'productRated',
    name_of_product: value.product_name,
    product_id: value.product_id,
    rating: value.rating,
    category: value.category
  })
}

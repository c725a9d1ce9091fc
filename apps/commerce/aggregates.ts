/**
 * The running aggregates of the commerce topology, their store serdes (compact binary layouts, not
 * Avro: they live in stores, changelogs and the category repartition topic, never in a contract
 * topic), the DSL's initializer/adder/subtractor functions and the conversion to the contract's values.
 */
import {
  SerdeError,
  type CategoryRating,
  type ProductRated,
  type ProductRating,
  type ProductSalesWindow,
  type ProductSold,
  type Serde
} from '../../schemas/index.ts'
import { RATING_STARS } from './config.ts'

/** Sales of one product in one window. */
export interface SalesAggregate {
  readonly orders: number
  readonly units: number
  readonly amountCents: number
}

/** Count, sum and histogram of a set of ratings (a product's, or a category's). */
export interface RatingStats {
  readonly count: number
  readonly sum: number
  /** `RATING_STARS` counts: index 0 is 1 star. */
  readonly histogram: readonly number[]
}

/** All ratings of one product, with its name and category as of its latest rating. */
export interface ProductRatingAggregate extends RatingStats {
  readonly productName: string
  readonly category: string
  /** Event time of the rating the name and category come from (the greatest seen; on a tie the last to arrive). */
  readonly latestMs: number
}

/** The initial sales aggregate. */
export const EMPTY_SALES: SalesAggregate = { orders: 0, units: 0, amountCents: 0 }

/** The initial rating statistics. */
export const EMPTY_RATING_STATS: RatingStats = { count: 0, sum: 0, histogram: [0, 0, 0, 0, 0] }

/** The initial product aggregate (replaced by the first rating's name and category). */
export const EMPTY_PRODUCT_RATING: ProductRatingAggregate = { ...EMPTY_RATING_STATS, productName: '', category: '', latestMs: Number.NEGATIVE_INFINITY }

/** Adds a sale to a window. */
export function addSale(agg: SalesAggregate, sale: ProductSold): SalesAggregate {
  return { orders: agg.orders + 1, units: agg.units + sale.units, amountCents: agg.amountCents + sale.amount_cents }
}

/** Adds a rating to a product; a rating at least as recent as the latest one sets the name and category. */
export function addRating(agg: ProductRatingAggregate, rating: ProductRated): ProductRatingAggregate {
  const histogram = [...agg.histogram]
  histogram[rating.rating - 1] = (histogram[rating.rating - 1] ?? 0) + 1
  const newer = rating.timestamp >= agg.latestMs
  return {
    count: agg.count + 1,
    sum: agg.sum + rating.rating,
    histogram,
    productName: newer ? rating.product_name : agg.productName,
    category: newer ? rating.category : agg.category,
    latestMs: newer ? rating.timestamp : agg.latestMs
  }
}

/** The statistics part of a product aggregate (what its category adds up). */
export function ratingStatsOf(agg: RatingStats): RatingStats {
  return { count: agg.count, sum: agg.sum, histogram: [...agg.histogram] }
}

/** `agg + stats` (the category adder). */
export function addStats(agg: RatingStats, stats: RatingStats): RatingStats {
  return { count: agg.count + stats.count, sum: agg.sum + stats.sum, histogram: agg.histogram.map((n, i) => n + (stats.histogram[i] ?? 0)) }
}

/** `agg - stats` (the category subtractor: a product's previous statistics leave its old category). */
export function subtractStats(agg: RatingStats, stats: RatingStats): RatingStats {
  return { count: agg.count - stats.count, sum: agg.sum - stats.sum, histogram: agg.histogram.map((n, i) => n - (stats.histogram[i] ?? 0)) }
}

/** The contract's `ProductSalesWindow`. */
export function toProductSalesWindow(productId: number, windowStartMs: number, windowEndMs: number, agg: SalesAggregate): ProductSalesWindow {
  return { product_id: productId, window_start: windowStartMs, window_end: windowEndMs, orders: agg.orders, units: agg.units, amount_cents: agg.amountCents }
}

/** The contract's `ProductRating`. */
export function toProductRating(productId: number, agg: ProductRatingAggregate): ProductRating {
  return {
    product_id: productId,
    product_name: agg.productName,
    category: agg.category,
    count: agg.count,
    sum: agg.sum,
    average: agg.sum / agg.count,
    histogram: [...agg.histogram]
  }
}

/** The contract's `CategoryRating`. */
export function toCategoryRating(category: string, agg: RatingStats): CategoryRating {
  return { category, count: agg.count, sum: agg.sum, average: agg.sum / agg.count, histogram: [...agg.histogram] }
}

const STATS_BYTES = 8 * (2 + RATING_STARS)

/** Binary layout of a `SalesAggregate`: f64 BE orders | f64 BE units | f64 BE amount cents (24 bytes). */
export const salesAggregateSerde: Serde<SalesAggregate> = {
  serialize(_topic, agg) {
    // Unpooled: the record cache keeps this buffer (see storeKeySerde).
    const out = Buffer.allocUnsafeSlow(24)
    out.writeDoubleBE(agg.orders, 0)
    out.writeDoubleBE(agg.units, 8)
    out.writeDoubleBE(agg.amountCents, 16)
    return out
  },
  deserialize(topic, data) {
    if (data.length !== 24) throw new SerdeError('COMMERCE_SALES_AGGREGATE', `corrupt sales aggregate on ${topic} (${data.length} bytes)`)
    return { orders: data.readDoubleBE(0), units: data.readDoubleBE(8), amountCents: data.readDoubleBE(16) }
  }
}

function writeStats(out: Buffer, stats: RatingStats): void {
  out.writeDoubleBE(stats.count, 0)
  out.writeDoubleBE(stats.sum, 8)
  for (let i = 0; i < RATING_STARS; i++) out.writeDoubleBE(stats.histogram[i] ?? 0, 16 + 8 * i)
}

function readStats(data: Buffer): RatingStats {
  const histogram: number[] = []
  for (let i = 0; i < RATING_STARS; i++) histogram.push(data.readDoubleBE(16 + 8 * i))
  return { count: data.readDoubleBE(0), sum: data.readDoubleBE(8), histogram }
}

/** Binary layout of `RatingStats`: f64 BE count | f64 BE sum | 5 x f64 BE histogram (56 bytes). */
export const ratingStatsSerde: Serde<RatingStats> = {
  serialize(_topic, stats) {
    const out = Buffer.allocUnsafeSlow(STATS_BYTES)
    writeStats(out, stats)
    return out
  },
  deserialize(topic, data) {
    if (data.length !== STATS_BYTES) throw new SerdeError('COMMERCE_RATING_STATS', `corrupt rating statistics on ${topic} (${data.length} bytes)`)
    return readStats(data)
  }
}

/**
 * Binary layout of a `ProductRatingAggregate`:
 *   rating stats (56 bytes, as `ratingStatsSerde`) | f64 BE latest ms | u32 BE name length
 *   | UTF-8 product name | UTF-8 category (rest)
 */
export const productRatingAggregateSerde: Serde<ProductRatingAggregate> = {
  serialize(_topic, agg) {
    const nameBytes = Buffer.byteLength(agg.productName, 'utf8')
    const out = Buffer.allocUnsafeSlow(STATS_BYTES + 12 + nameBytes + Buffer.byteLength(agg.category, 'utf8'))
    writeStats(out, agg)
    out.writeDoubleBE(agg.latestMs, STATS_BYTES)
    out.writeUInt32BE(nameBytes, STATS_BYTES + 8)
    out.write(agg.productName, STATS_BYTES + 12, 'utf8')
    out.write(agg.category, STATS_BYTES + 12 + nameBytes, 'utf8')
    return out
  },
  deserialize(topic, data) {
    const nameBytes = data.length >= STATS_BYTES + 12 ? data.readUInt32BE(STATS_BYTES + 8) : -1
    if (nameBytes < 0 || STATS_BYTES + 12 + nameBytes > data.length) {
      throw new SerdeError('COMMERCE_PRODUCT_RATING', `corrupt product rating aggregate on ${topic} (${data.length} bytes)`)
    }
    const nameEnd = STATS_BYTES + 12 + nameBytes
    return {
      ...readStats(data),
      latestMs: data.readDoubleBE(STATS_BYTES),
      productName: data.toString('utf8', STATS_BYTES + 12, nameEnd),
      category: data.toString('utf8', nameEnd)
    }
  }
}

/**
 * A reference implementation of the commerce contract, written as plain loops over the typed events
 * and sharing no code with the topology: it gives the expected final value per key of
 * `commerce.sales.1h`, `commerce.product-ratings` and `commerce.category-ratings`, and how many
 * (record, window) pairs the sales windows drop as late.
 *
 * Definitions applied (CONTRACTS.md, "Commerce analytics", and the topology's documented choices):
 * - events are in delivery order; a product's events share a partition of the typed topic (key =
 *   product id, Kafka's murmur2 partitioner), and stream time is per partition: the highest event
 *   time taken so far from it;
 * - a sale counts in every 1-hour window, advancing by 1 minute, that contains its event time, unless
 *   window end + grace <= stream time when it arrives (late: left out of that window only);
 * - a product's rating statistics count all its ratings; its name and category are those of its
 *   rating with the greatest event time (on a tie, the one delivered last);
 * - a category's statistics are the sum of the statistics of the products whose category it is;
 *   a category without any is absent.
 */
import { partitionForKey } from '../../processors/index.ts'
import type { CategoryRating, ProductRated, ProductRating, ProductSalesWindow, ProductSold } from '../../schemas/index.ts'

/** Options of the reference: the typed topics' partition count and the grace, ms. */
export interface CommerceReferenceOptions {
  /** Partitions of `commerce.product-sold` (stream time is per partition). Default 6. */
  readonly partitions?: number
  /** Grace of the sales windows, ms. Default 60,000. */
  readonly graceMs?: number
}

/** The expected outputs (latest value per key) and the late drops of the sales windows. */
export interface CommerceReferenceResult {
  readonly sales1h: Map<string, ProductSalesWindow>
  readonly productRatings: Map<string, ProductRating>
  readonly categoryRatings: Map<string, CategoryRating>
  /** (sale, window) pairs dropped because the window had closed. */
  readonly lateDrops: number
  /** Sales taken per partition of the typed topic. */
  readonly salesByPartition: number[]
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** The expected outputs for `events` in delivery order (other record kinds are ignored). */
export function referenceCommerceOutputs(events: Iterable<{ kind: string; value?: unknown }>, options: CommerceReferenceOptions = {}): CommerceReferenceResult {
  const partitions = options.partitions ?? 6
  const grace = options.graceMs ?? MINUTE
  const streamTime = new Array<number>(partitions).fill(-1)
  const salesByPartition = new Array<number>(partitions).fill(0)
  const sales1h = new Map<string, ProductSalesWindow>()
  const products = new Map<number, { name: string; category: string; latest: number; ratings: number[] }>()
  let lateDrops = 0

  for (const event of events) {
    if (event.kind === 'sold') {
      const sale = event.value as ProductSold
      const p = partitionForKey(Buffer.from(String(sale.product_id), 'utf8'), partitions)
      salesByPartition[p] = (salesByPartition[p] ?? 0) + 1
      const now = Math.max(streamTime[p] ?? -1, sale.timestamp)
      streamTime[p] = now
      // Every window [s, s + 1 h) with s a multiple of a minute, s >= 0, containing the sale.
      for (let start = Math.floor(sale.timestamp / MINUTE) * MINUTE; start > sale.timestamp - HOUR && start >= 0; start -= MINUTE) {
        if (start + HOUR <= now - grace) {
          lateDrops++
          continue
        }
        const key = `${sale.product_id}|${start}`
        const cell = sales1h.get(key) ?? { product_id: sale.product_id, window_start: start, window_end: start + HOUR, orders: 0, units: 0, amount_cents: 0 }
        sales1h.set(key, { ...cell, orders: cell.orders + 1, units: cell.units + sale.units, amount_cents: cell.amount_cents + sale.amount_cents })
      }
    } else if (event.kind === 'rated') {
      const rating = event.value as ProductRated
      let product = products.get(rating.product_id)
      if (product === undefined) {
        product = { name: rating.product_name, category: rating.category, latest: rating.timestamp, ratings: [] }
        products.set(rating.product_id, product)
      }
      product.ratings.push(rating.rating)
      if (rating.timestamp >= product.latest) {
        product.name = rating.product_name
        product.category = rating.category
        product.latest = rating.timestamp
      }
    }
  }

  const productRatings = new Map<string, ProductRating>()
  const categories = new Map<string, number[]>()
  for (const [id, product] of products) {
    const histogram = [1, 2, 3, 4, 5].map((stars) => product.ratings.filter((r) => r === stars).length)
    const sum = product.ratings.reduce((a, b) => a + b, 0)
    productRatings.set(String(id), {
      product_id: id,
      product_name: product.name,
      category: product.category,
      count: product.ratings.length,
      sum,
      average: sum / product.ratings.length,
      histogram
    })
    categories.set(product.category, [...(categories.get(product.category) ?? []), ...product.ratings])
  }
  const categoryRatings = new Map<string, CategoryRating>()
  for (const [category, ratings] of categories) {
    const sum = ratings.reduce((a, b) => a + b, 0)
    categoryRatings.set(category, {
      category,
      count: ratings.length,
      sum,
      average: sum / ratings.length,
      histogram: [1, 2, 3, 4, 5].map((stars) => ratings.filter((r) => r === stars).length)
    })
  }
  return { sales1h, productRatings, categoryRatings, lateDrops, salesByPartition }
}

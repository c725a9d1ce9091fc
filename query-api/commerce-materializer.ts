/**
 * Turns the records of the commerce output topics (`commerce.sales.1h`, `commerce.product-ratings`,
 * `commerce.category-ratings`, see apps/commerce/README.md) into the sales and ratings indexes:
 * latest value per key, tombstones delete. Values are Avro (Confluent wire format) read with the
 * registry serde; a record whose key or value breaks the contract is refused (counted and logged),
 * never half-applied. Each applied change is announced to live subscribers.
 *
 * Called by the `Materializer` (option `commerce`), which looks up the writer schemas of a whole
 * batch before applying any of it.
 */
import { COMMERCE_TOPICS, HOUR_MS, MINUTE_MS, parseProductKey, parseSalesKey, RATING_STARS, type CommerceTopics } from '../apps/commerce/index.ts'
import type { CategoryRating, ProductRating, ProductSalesWindow, SchemaRegistryClient } from '../schemas/index.ts'
import { AvroValueReader } from './avro-reader.ts'
import type { CategoryRatingView, ProductRatingView, RatingFigures, RatingsIndex, StarHistogram } from './ratings-index.ts'
import { RecordRefused, type RefusalCounter } from './refusals.ts'
import type { SalesFigures, SalesIndex } from './sales-index.ts'
import type { FollowedRecord, FollowerLogger } from './topic-follower.ts'

/** Names of the commerce output topics the API materializes. */
export type CommerceOutputTopics = Pick<CommerceTopics, 'sales1h' | 'productRatings' | 'categoryRatings'>

/** Default names: the contract's. */
export const DEFAULT_COMMERCE_TOPICS: CommerceOutputTopics = {
  sales1h: COMMERCE_TOPICS.sales1h,
  productRatings: COMMERCE_TOPICS.productRatings,
  categoryRatings: COMMERCE_TOPICS.categoryRatings
}

/** One applied change of the commerce indexes (null: deleted). */
export type CommerceChange =
  | { readonly kind: 'sales'; readonly productId: number; readonly windowStart: number; readonly sales: SalesFigures | null }
  | { readonly kind: 'productRating'; readonly productId: number; readonly rating: ProductRatingView | null }
  | { readonly kind: 'categoryRating'; readonly category: string; readonly rating: CategoryRatingView | null }

/** Counters of what was materialized from the commerce topics. */
export interface CommerceCounts {
  readonly salesWindowsWritten: number
  readonly salesWindowsDeleted: number
  readonly productRatingsWritten: number
  readonly productRatingsDeleted: number
  readonly categoryRatingsWritten: number
  readonly categoryRatingsDeleted: number
}

/** Options of `CommerceMaterializer`. */
export interface CommerceMaterializerOptions {
  topics: CommerceOutputTopics
  registry: SchemaRegistryClient
  sales: SalesIndex
  ratings: RatingsIndex
  /** Where refused records are counted (share the traffic materializer's). */
  refusals: RefusalCounter
  logger?: FollowerLogger | undefined
}

type Role = keyof CommerceOutputTopics

function count(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RecordRefused(`${field} ${value} is not a non-negative integer`)
  return value
}

/**
 * Checks a rating value's statistics: a histogram of 5 counts whose total is `count` (at least 1:
 * a set left without ratings is a tombstone), `sum` = the stars of those counts, `average` = sum / count.
 */
function ratingFigures(v: { count: number; sum: number; average: number; histogram: number[] }): RatingFigures {
  if (!Array.isArray(v.histogram) || v.histogram.length !== RATING_STARS) {
    throw new RecordRefused(`histogram has ${Array.isArray(v.histogram) ? v.histogram.length : 'no'} counts, not ${RATING_STARS}`)
  }
  const histogram = v.histogram.map((n, i) => count(n, `histogram[${i}]`))
  const total = histogram.reduce((s, n) => s + n, 0)
  const stars = histogram.reduce((s, n, i) => s + n * (i + 1), 0)
  if (count(v.count, 'count') !== total || v.count < 1) throw new RecordRefused(`count ${v.count} is not the histogram's total ${total} (at least 1)`)
  if (count(v.sum, 'sum') !== stars) throw new RecordRefused(`sum ${v.sum} is not the histogram's stars ${stars}`)
  const average = v.sum / v.count
  if (!Number.isFinite(v.average) || Math.abs(v.average - average) > 1e-9 * average) {
    throw new RecordRefused(`average ${v.average} is not sum / count (${average})`)
  }
  return { count: v.count, sum: v.sum, average: v.average, histogram: histogram as unknown as StarHistogram }
}

/** Applies records of the commerce output topics to the sales and ratings indexes. */
export class CommerceMaterializer {
  private readonly topics_: CommerceOutputTopics
  private readonly roles: ReadonlyMap<string, Role>
  private readonly sales_: SalesIndex
  private readonly ratings_: RatingsIndex
  private readonly refusals_: RefusalCounter
  private readonly logger_: FollowerLogger | undefined
  private readonly readers: {
    readonly sales1h: AvroValueReader<ProductSalesWindow>
    readonly productRatings: AvroValueReader<ProductRating>
    readonly categoryRatings: AvroValueReader<CategoryRating>
  }
  private readonly listeners = new Set<(changes: readonly CommerceChange[]) => void>()
  private counts_ = {
    salesWindowsWritten: 0,
    salesWindowsDeleted: 0,
    productRatingsWritten: 0,
    productRatingsDeleted: 0,
    categoryRatingsWritten: 0,
    categoryRatingsDeleted: 0
  }

  constructor(options: CommerceMaterializerOptions) {
    this.topics_ = options.topics
    this.roles = new Map<string, Role>([
      [options.topics.sales1h, 'sales1h'],
      [options.topics.productRatings, 'productRatings'],
      [options.topics.categoryRatings, 'categoryRatings']
    ])
    if (this.roles.size !== 3) throw new TypeError('CommerceMaterializer: the three commerce topics must be different')
    this.sales_ = options.sales
    this.ratings_ = options.ratings
    this.refusals_ = options.refusals
    this.logger_ = options.logger
    this.readers = {
      sales1h: AvroValueReader.of('runnel.commerce.ProductSalesWindow', options.registry),
      productRatings: AvroValueReader.of('runnel.commerce.ProductRating', options.registry),
      categoryRatings: AvroValueReader.of('runnel.commerce.CategoryRating', options.registry)
    }
  }

  /** The topics this materializer applies. */
  get topics(): CommerceOutputTopics {
    return this.topics_
  }

  get counts(): CommerceCounts {
    return { ...this.counts_ }
  }

  /** Calls `listener` with every batch of applied changes; returns the unsubscribe function. */
  onCommerceChanges(listener: (changes: readonly CommerceChange[]) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Looks up the writer schemas not seen yet of the batch's commerce records; rejects when the registry fails. */
  async resolveSchemas(records: readonly FollowedRecord[]): Promise<void> {
    const pending = new Map<string, Promise<void>>()
    for (const r of records) {
      const role = this.roles.get(r.topic)
      if (role !== undefined) this.readers[role].resolution(r.topic, r.value, role, pending)
    }
    await Promise.all(pending.values())
  }

  /** Applies the batch's commerce records in order (other topics are skipped); schemas must be resolved. */
  applyResolved(records: readonly FollowedRecord[]): void {
    const changes: CommerceChange[] = []
    for (const record of records) {
      const role = this.roles.get(record.topic)
      if (role === undefined) continue
      try {
        changes.push(this.apply_(role, record))
      } catch (err) {
        if (!(err instanceof RecordRefused)) throw err
        this.refusals_.refuse(record, err.message)
      }
    }
    if (changes.length === 0) return
    for (const listener of this.listeners) {
      try {
        listener(changes)
      } catch (err) {
        this.logger_?.warn({ err: (err as Error).message }, 'query-api: a commerce live listener failed')
      }
    }
  }

  /** Resolves the schemas, then applies (tests; the follower goes through the `Materializer`). */
  async apply(records: readonly FollowedRecord[]): Promise<void> {
    await this.resolveSchemas(records)
    this.applyResolved(records)
  }

  private apply_(role: Role, record: FollowedRecord): CommerceChange {
    switch (role) {
      case 'sales1h': {
        const change = this.salesWindow(record)
        this.sales_.put(change.productId, change.windowStart, change.sales)
        if (change.sales === null) this.counts_.salesWindowsDeleted++
        else this.counts_.salesWindowsWritten++
        return change
      }
      case 'productRatings': {
        const change = this.productRating(record)
        this.ratings_.putProduct(change.productId, change.rating)
        if (change.rating === null) this.counts_.productRatingsDeleted++
        else this.counts_.productRatingsWritten++
        return change
      }
      case 'categoryRatings': {
        const change = this.categoryRating(record)
        this.ratings_.putCategory(change.category, change.rating)
        if (change.rating === null) this.counts_.categoryRatingsDeleted++
        else this.counts_.categoryRatingsWritten++
        return change
      }
    }
  }

  private salesWindow(record: FollowedRecord): CommerceChange & { kind: 'sales' } {
    const keyText = record.key?.toString('utf8')
    const key = keyText === undefined ? undefined : parseSalesKey(keyText)
    if (key === undefined) throw new RecordRefused(`key ${JSON.stringify(keyText ?? null)} is not "product_id|window_start_ms"`)
    if (key.windowStartMs % MINUTE_MS !== 0) throw new RecordRefused(`window start ${key.windowStartMs} is not on a minute boundary`)
    const base = { kind: 'sales' as const, productId: key.productId, windowStart: key.windowStartMs }
    if (record.value === null) return { ...base, sales: null }
    const v = this.readers.sales1h.decode(record.topic, record.value)
    if (v.product_id !== key.productId || v.window_start !== key.windowStartMs) {
      throw new RecordRefused(`value (${v.product_id}|${v.window_start}) does not match its key`)
    }
    if (v.window_end - v.window_start !== HOUR_MS) throw new RecordRefused(`window [${v.window_start}, ${v.window_end}) is not 1 hour long`)
    return { ...base, sales: { orders: count(v.orders, 'orders'), units: count(v.units, 'units'), amountCents: count(v.amount_cents, 'amount_cents') } }
  }

  private productRating(record: FollowedRecord): CommerceChange & { kind: 'productRating' } {
    const keyText = record.key?.toString('utf8')
    const productId = keyText === undefined ? undefined : parseProductKey(keyText)
    if (productId === undefined) throw new RecordRefused(`key ${JSON.stringify(keyText ?? null)} is not a product id (a decimal integer)`)
    if (record.value === null) return { kind: 'productRating', productId, rating: null }
    const v = this.readers.productRatings.decode(record.topic, record.value)
    if (v.product_id !== productId) throw new RecordRefused(`value (product ${v.product_id}) does not match its key`)
    if (v.category.trim() === '') throw new RecordRefused('category is blank')
    return { kind: 'productRating', productId, rating: { productId, productName: v.product_name, category: v.category, ...ratingFigures(v) } }
  }

  private categoryRating(record: FollowedRecord): CommerceChange & { kind: 'categoryRating' } {
    const category = record.key?.toString('utf8')
    if (category === undefined || category.trim() === '') throw new RecordRefused(`key ${JSON.stringify(category ?? null)} is not a category`)
    if (record.value === null) return { kind: 'categoryRating', category, rating: null }
    const v = this.readers.categoryRatings.decode(record.topic, record.value)
    if (v.category !== category) throw new RecordRefused(`value (category ${JSON.stringify(v.category)}) does not match its key`)
    return { kind: 'categoryRating', category, rating: { category, ...ratingFigures(v) } }
  }
}

/**
 * The commerce topology (CONTRACTS.md, "Commerce analytics"), on the library's DSL:
 *
 *   analytics (seed JSON) -> bridge (bridge.ts) -> commerce.product-sold / commerce.product-rated, analytics.dlq
 *
 *   commerce.product-sold (key product_id) -> guard -> groupByKey -> windowedBy(1 h, advance 1 min, grace 1 min)
 *     .aggregate(orders, units, amount_cents)                               -> commerce.sales.1h
 *   commerce.product-rated (key product_id) -> guard -> groupByKey -> aggregate   -> commerce.product-ratings
 *     KTable.groupBy(category) ==[<app>-commerce-ratings-by-category-repartition]==> aggregate(adder, subtractor)
 *                                                                           -> commerce.category-ratings
 *
 * The typed inputs are keyed by product id, so the two per-product aggregations need no repartition
 * (`groupByKey` after `split`, which keeps the key). A category's ratings are those of the products
 * whose latest category it is: the product table is re-grouped by category through a real
 * repartition topic, each product's previous statistics are subtracted from its previous category and
 * the new ones added. So `commerce.category-ratings` always equals the sum of `commerce.product-ratings`
 * per category, even when a product changes category (its past ratings move with it). A category
 * left without ratings is deleted (tombstone).
 *
 * The guard sends typed records that break the contract to the typed dead-letter topic (default
 * `runnel-commerce-dlq`, the runtime's DLQ of the application) instead of letting them corrupt an
 * aggregate: a negative product_id, a key that is not the value's product_id (it would be aggregated
 * under the wrong product and partition), units < 1, amount_cents < 0, a rating outside 1-5 (the histogram has five
 * buckets), a blank category. Their value there is the decoded record as JSON text.
 */
import type { ConsumedRecord, ProcessorContext, ProcessorSupplier, TimestampExtractor } from '../../processors/index.ts'
import {
  avroSerde,
  bytesSerde,
  stringSerde,
  type CategoryRating,
  type ProductRated,
  type ProductRating,
  type ProductSalesWindow,
  type ProductSold,
  type SchemaRegistryClient,
  type Serde
} from '../../schemas/index.ts'
import { StreamsBuilder, TimeWindows, type KStream, type StoreType, type Topology } from '../../topology/index.ts'
import {
  addRating,
  addSale,
  addStats,
  EMPTY_PRODUCT_RATING,
  EMPTY_RATING_STATS,
  EMPTY_SALES,
  productRatingAggregateSerde,
  ratingStatsOf,
  ratingStatsSerde,
  salesAggregateSerde,
  subtractStats,
  toCategoryRating,
  toProductRating,
  toProductSalesWindow
} from './aggregates.ts'
import { addCommerceBridge, BridgeErrorCodes } from './bridge.ts'
import {
  categoryKey,
  HOUR_MS,
  MINUTE_MS,
  parseProductKey,
  productKey,
  resolveCommerceSettings,
  salesKey,
  type CommerceSettings,
  type ResolvedCommerceSettings
} from './config.ts'
import { deadLetterHeaders, type Rejection } from './dead-letters.ts'
import { storeKeySerde } from '../shared/index.ts'

/** Store names of the topology (changelogs: `<application id>-<store>-changelog`). */
export const COMMERCE_STORES = {
  sales1h: 'commerce-sales-1h-store',
  productRatings: 'commerce-product-ratings-store',
  categoryRatings: 'commerce-category-ratings-store'
} as const

/** Name of the category repartition topic: `<application id>-commerce-ratings-by-category-repartition`. */
export const CATEGORY_REPARTITION = 'commerce-ratings-by-category'

/** Codes of the typed-input guard's rejections (the `runnel.dlq.error.code` header). */
export const TypedInputErrorCodes = {
  KEY_MISMATCH: 'COMMERCE_KEY_MISMATCH',
  INVALID_FIELD: BridgeErrorCodes.INVALID_FIELD,
  RATING_OUT_OF_RANGE: BridgeErrorCodes.RATING_OUT_OF_RANGE,
  NEGATIVE_AMOUNT: BridgeErrorCodes.NEGATIVE_AMOUNT
} as const

/** The Avro serdes of the commerce topics. */
export interface CommerceSerdes {
  readonly productSold: Serde<ProductSold>
  readonly productRated: Serde<ProductRated>
  readonly salesWindow: Serde<ProductSalesWindow>
  readonly productRating: Serde<ProductRating>
  readonly categoryRating: Serde<CategoryRating>
}

/** The Avro serdes of the contract over one registry client (`configure` registers each subject). */
export function commerceSerdes(registry: SchemaRegistryClient): CommerceSerdes {
  return {
    productSold: avroSerde('runnel.commerce.ProductSold', { registry }),
    productRated: avroSerde('runnel.commerce.ProductRated', { registry }),
    salesWindow: avroSerde('runnel.commerce.ProductSalesWindow', { registry }),
    productRating: avroSerde('runnel.commerce.ProductRating', { registry }),
    categoryRating: avroSerde('runnel.commerce.CategoryRating', { registry })
  }
}

/** Options of `buildCommerceTopology`: where the serdes get schemas, which parts to run, plus the settings. */
export interface CommerceTopologyOptions extends CommerceSettings {
  /** Registry client of the Avro serdes. Required unless `serdes` is given. */
  readonly registry?: SchemaRegistryClient
  /** Serdes to use instead of Avro serdes over `registry`. */
  readonly serdes?: CommerceSerdes
  /** Include the seed bridge (`analytics` -> typed topics). Default true. */
  readonly bridge?: boolean
  /** Include the analytics (typed topics -> outputs). Default true. */
  readonly analytics?: boolean
  /** Use in-memory inner stores instead of RocksDB (the test driver always does). Default false. */
  readonly inMemoryStores?: boolean
}

/** Event time of a typed event: its `timestamp` field (producers also set the Kafka timestamp to it). */
export function commerceEventTimestamp<V extends { timestamp: number }>(): TimestampExtractor<string | null, V | null> {
  return (record: ConsumedRecord<string | null, V | null>) => record.value?.timestamp ?? record.timestampMs
}

function keyMismatch(key: string | null, productId: number): Rejection | undefined {
  if (!Number.isSafeInteger(productId) || productId < 0) {
    return { code: TypedInputErrorCodes.INVALID_FIELD, message: `product_id must be an integer from 0 to 2^53 - 1, got ${productId}`, field: 'product_id' }
  }
  if (key === productKey(productId)) return undefined
  const message = `the key ${JSON.stringify(key)} is not the product_id ${productId} as a decimal string`
  return { code: TypedInputErrorCodes.KEY_MISMATCH, message, field: 'key' }
}

/** Why a typed sale breaks the contract, or undefined. */
export function checkProductSold(key: string | null, sale: ProductSold): Rejection | undefined {
  if (sale.units < 1) return { code: TypedInputErrorCodes.INVALID_FIELD, message: `units must be at least 1, got ${sale.units}`, field: 'units' }
  if (sale.amount_cents < 0) {
    return { code: TypedInputErrorCodes.NEGATIVE_AMOUNT, message: `amount_cents must not be negative, got ${sale.amount_cents}`, field: 'amount_cents' }
  }
  return keyMismatch(key, sale.product_id)
}

/** Why a typed rating breaks the contract, or undefined. */
export function checkProductRated(key: string | null, rating: ProductRated): Rejection | undefined {
  if (rating.rating < 1 || rating.rating > 5) {
    return { code: TypedInputErrorCodes.RATING_OUT_OF_RANGE, message: `rating must be from 1 to 5, got ${rating.rating}`, field: 'rating' }
  }
  if (rating.category.trim() === '') return { code: TypedInputErrorCodes.INVALID_FIELD, message: 'category must not be blank', field: 'category' }
  return keyMismatch(key, rating.product_id)
}

/** Dead letter of a rejected typed record: its value as JSON text, headers naming the rejection. */
function typedDeadLetterProcessor<V>(
  check: (key: string | null, value: V) => Rejection | undefined
): ProcessorSupplier<string | null, V, string | null, Buffer> {
  return () => {
    let context: ProcessorContext<string | null, Buffer>
    return {
      init(ctx) {
        context = ctx
      },
      process(record) {
        const rejection = check(record.key, record.value) ?? { code: 'UNKNOWN', message: 'rejected' }
        context.forward({
          key: record.key,
          value: Buffer.from(JSON.stringify(record.value), 'utf8'),
          timestampMs: record.timestampMs,
          headers: deadLetterHeaders(context as ProcessorContext<unknown, unknown>, record.headers, rejection, record.timestampMs)
        })
      }
    }
  }
}

/**
 * The records of `stream` that pass `check`, keyed as before (no repartition follows); the others go
 * to `deadLetterTopic`. Null values pass (the aggregations skip and count them).
 */
function guarded<V>(
  stream: KStream<string | null, V | null>,
  name: string,
  check: (key: string | null, value: V) => Rejection | undefined,
  deadLetterTopic: string
): KStream<string, V> {
  const branches = stream
    .split({ name: `${name}-` })
    .branch((key, value) => value !== null && check(key, value) !== undefined, {
      name: 'rejected',
      chain: (rejected) =>
        rejected
          .process(typedDeadLetterProcessor(check as (key: string | null, value: V | null) => Rejection | undefined), { name: `${name}-dead-letter` })
          .to(deadLetterTopic, { name: `${name}-dlq-sink`, keySerde: stringSerde as Serde<string | null>, valueSerde: bytesSerde })
    })
    .defaultBranch({ name: 'accepted' })
  return branches.get(`${name}-accepted`) as unknown as KStream<string, V>
}

/** The sales, product and category aggregations over the typed topics. */
function addCommerceAnalytics(builder: StreamsBuilder, settings: ResolvedCommerceSettings, serdes: CommerceSerdes, storeType: StoreType): void {
  const { topics } = settings
  const sold = builder.stream<string | null, ProductSold | null>(topics.productSold, {
    name: 'commerce-product-sold-source',
    keySerde: stringSerde,
    valueSerde: serdes.productSold,
    timestampExtractor: commerceEventTimestamp<ProductSold>()
  })
  guarded(sold, 'commerce-sales-guard', checkProductSold, settings.typedDeadLetterTopic)
    .groupByKey({ keySerde: storeKeySerde, valueSerde: serdes.productSold })
    .windowedBy(TimeWindows.ofSizeAndGrace(HOUR_MS, settings.graceMs).advanceBy(MINUTE_MS))
    .aggregate(
      () => EMPTY_SALES,
      (_key, sale, agg) => addSale(agg, sale),
      {
        storeName: COMMERCE_STORES.sales1h,
        keySerde: storeKeySerde,
        valueSerde: salesAggregateSerde,
        storeType,
        retentionMs: settings.storeRetentionMs
      }
    )
    .toStream({ name: 'commerce-sales-1h-changes' })
    .map(
      (windowed, agg) => {
        const productId = parseProductKey(windowed.key) ?? -1
        const { startMs, endMs } = windowed.window
        return { key: salesKey(productId, startMs), value: agg === null ? null : toProductSalesWindow(productId, startMs, endMs, agg) }
      },
      { name: 'commerce-sales-1h-output' }
    )
    .to(topics.sales1h, { name: 'commerce-sales-1h-sink', keySerde: stringSerde, valueSerde: serdes.salesWindow as Serde<ProductSalesWindow | null> })

  const rated = builder.stream<string | null, ProductRated | null>(topics.productRated, {
    name: 'commerce-product-rated-source',
    keySerde: stringSerde,
    valueSerde: serdes.productRated,
    timestampExtractor: commerceEventTimestamp<ProductRated>()
  })
  const products = guarded(rated, 'commerce-ratings-guard', checkProductRated, settings.typedDeadLetterTopic)
    .groupByKey({ keySerde: storeKeySerde, valueSerde: serdes.productRated })
    .aggregate(
      () => EMPTY_PRODUCT_RATING,
      (_key, rating, agg) => addRating(agg, rating),
      {
        storeName: COMMERCE_STORES.productRatings,
        keySerde: storeKeySerde,
        valueSerde: productRatingAggregateSerde,
        storeType
      }
    )
  products
    .toStream({ name: 'commerce-product-ratings-changes' })
    .mapValues((agg, key) => (agg === null ? null : toProductRating(parseProductKey(key) ?? -1, agg)), { name: 'commerce-product-ratings-output' })
    .to(topics.productRatings, {
      name: 'commerce-product-ratings-sink',
      keySerde: stringSerde,
      valueSerde: serdes.productRating as Serde<ProductRating | null>
    })

  products
    .groupBy((_productKey, agg) => ({ key: categoryKey(agg.category), value: ratingStatsOf(agg) }), {
      name: CATEGORY_REPARTITION,
      keySerde: storeKeySerde,
      valueSerde: ratingStatsSerde
    })
    .aggregate(
      () => EMPTY_RATING_STATS,
      (_key, stats, agg) => addStats(agg, stats),
      (_key, stats, agg) => subtractStats(agg, stats),
      {
        storeName: COMMERCE_STORES.categoryRatings,
        keySerde: storeKeySerde,
        valueSerde: ratingStatsSerde,
        storeType
      }
    )
    .toStream({ name: 'commerce-category-ratings-changes' })
    .mapValues((agg, key) => (agg === null || agg.count === 0 ? null : toCategoryRating(key, agg)), { name: 'commerce-category-ratings-output' })
    .to(topics.categoryRatings, {
      name: 'commerce-category-ratings-sink',
      keySerde: stringSerde,
      valueSerde: serdes.categoryRating as Serde<CategoryRating | null>
    })
}

/**
 * Builds the commerce topology: the bridge and the analytics (either may be left out). Settings are
 * validated here (errors name the option).
 */
export function buildCommerceTopology(options: CommerceTopologyOptions): Topology {
  const settings = resolveCommerceSettings(options)
  if (options.serdes === undefined && options.registry === undefined) {
    throw new TypeError('buildCommerceTopology: option "registry" (a SchemaRegistryClient) is required unless "serdes" is given')
  }
  const bridge = options.bridge ?? true
  const analytics = options.analytics ?? true
  if (!bridge && !analytics) throw new TypeError('buildCommerceTopology: options "bridge" and "analytics" are both false: nothing to run')
  const serdes = options.serdes ?? commerceSerdes(options.registry as SchemaRegistryClient)
  const builder = new StreamsBuilder()
  if (bridge) addCommerceBridge(builder, settings.topics, serdes)
  if (analytics) addCommerceAnalytics(builder, settings, serdes, options.inMemoryStores === true ? 'in-memory' : 'persistent')
  return builder.build()
}

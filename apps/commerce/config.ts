/**
 * The commerce application's settings (CONTRACTS.md, "Commerce analytics"): topic names, the record
 * keys of the output topics (encoders and parsers, shared with the query API), window sizes and the
 * defaults of grace, retention and partition counts, declared once by `commerceSettingsSchema` (its
 * worker variables and `--help` rows are read off it) and validated once.
 */
import { z } from 'zod'
import { AppConfigError, checkDistinctTopics, parseSettings, settingVariable, topicNameSchema, topicsSchema, windowedAppSettings } from '../shared/index.ts'

/** Topic names of the commerce contract. */
export const COMMERCE_TOPICS = {
  /** The seed's schemaless JSON events (`productSold`, `productRated`). */
  analytics: 'analytics',
  /** Events of `analytics` the bridge rejected, with the reason in headers. */
  analyticsDlq: 'analytics.dlq',
  productSold: 'commerce.product-sold',
  productRated: 'commerce.product-rated',
  sales1h: 'commerce.sales.1h',
  productRatings: 'commerce.product-ratings',
  categoryRatings: 'commerce.category-ratings'
} as const

/** The topics of one deployment (tests use unique names). */
export interface CommerceTopics {
  readonly analytics: string
  readonly analyticsDlq: string
  readonly productSold: string
  readonly productRated: string
  readonly sales1h: string
  readonly productRatings: string
  readonly categoryRatings: string
}

/** One minute: the advance of the sales windows and the default grace, ms. */
export const MINUTE_MS = 60_000
/** One hour: the size of the sales windows, ms. */
export const HOUR_MS = 3_600_000
/** Default grace of the sales windows after their end, ms. */
export const DEFAULT_GRACE_MS = MINUTE_MS
/** Default retention of the output topics, ms (2 days). */
export const DEFAULT_OUTPUT_RETENTION_MS = 2 * 24 * HOUR_MS
/** Default retention of the sales window store, ms (1 day, as Kafka Streams' DSL). */
export const DEFAULT_STORE_RETENTION_MS = 24 * HOUR_MS
/** Default partition count of the input topics (`analytics` and the two typed topics). */
export const DEFAULT_INPUT_PARTITIONS = 6
/** Default partition count of the output topics and `analytics.dlq`. */
export const DEFAULT_OUTPUT_PARTITIONS = 6
/** Number of rating values: 1 to 5 stars (the histograms' length). */
export const RATING_STARS = 5

/** Default dead-letter topic of the analytics topology: the runtime's `<application id>-dlq` of `runnel-commerce`. */
export const DEFAULT_TYPED_DEAD_LETTER_TOPIC = 'runnel-commerce-dlq'

/**
 * Settings of the commerce application, each declared once: default (the contract's), check, doc and
 * the worker's variable. The store retention's default depends on the grace (`resolveCommerceSettings`).
 */
export const commerceSettingsSchema = z.object({
  topics: topicsSchema(
    COMMERCE_TOPICS,
    {
      analytics: 'COMMERCE_ANALYTICS_TOPIC',
      analyticsDlq: 'COMMERCE_ANALYTICS_DLQ_TOPIC',
      productSold: 'COMMERCE_PRODUCT_SOLD_TOPIC',
      productRated: 'COMMERCE_PRODUCT_RATED_TOPIC',
      sales1h: 'COMMERCE_SALES_TOPIC',
      productRatings: 'COMMERCE_PRODUCT_RATINGS_TOPIC',
      categoryRatings: 'COMMERCE_CATEGORY_RATINGS_TOPIC'
    },
    {
      analytics: 'seed JSON input',
      analyticsDlq: 'rejected seed events',
      productSold: 'typed input',
      productRated: 'typed input',
      sales1h: 'output topic',
      productRatings: 'output topic',
      categoryRatings: 'output topic'
    }
  ).prefault({}),
  // The worker passes `<application id>-dlq`, where the runtime also puts records it cannot deserialize.
  typedDeadLetterTopic: topicNameSchema()
    .default(DEFAULT_TYPED_DEAD_LETTER_TOPIC)
    .meta(settingVariable('COMMERCE_TYPED_DLQ_TOPIC', 'text', '<APPLICATION_ID>-dlq'))
    .describe('rejected typed events: records that break the contract (a key that is not the product id, a rating outside 1-5...)'),
  ...windowedAppSettings(
    'COMMERCE',
    {
      graceMs: DEFAULT_GRACE_MS,
      outputRetentionMs: DEFAULT_OUTPUT_RETENTION_MS,
      storeRetentionMs: DEFAULT_STORE_RETENTION_MS,
      inputPartitions: DEFAULT_INPUT_PARTITIONS,
      outputPartitions: DEFAULT_OUTPUT_PARTITIONS
    },
    {
      graceMs: 'grace of the 1-hour sales windows, ms',
      storeRetentionMs: 'retention of the sales window store, ms; at least 1 h + grace',
      inputPartitions: 'partitions of the input topics when created',
      outputPartitions: 'partitions of the output and dead-letter topics when created'
    }
  )
})

/** Settings of the commerce application; every field is optional and has the contract's default. */
export type CommerceSettings = z.input<typeof commerceSettingsSchema>

/** Settings with every default filled in. */
export type ResolvedCommerceSettings = Readonly<Omit<z.output<typeof commerceSettingsSchema>, 'storeRetentionMs'> & { storeRetentionMs: number }>

/** A bad commerce setting; `option` names it. */
export class CommerceConfigError extends AppConfigError {
  constructor(option: string, message: string) {
    super('COMMERCE_BAD_OPTION', option, message)
  }
}

/** Fills in defaults and checks every setting, throwing a `CommerceConfigError` naming the bad one. */
export function resolveCommerceSettings(settings: CommerceSettings = {}): ResolvedCommerceSettings {
  const fail = (option: string, message: string): CommerceConfigError => new CommerceConfigError(option, message)
  const parsed = parseSettings(commerceSettingsSchema, settings, fail)
  const { topics, typedDeadLetterTopic, graceMs } = parsed
  checkDistinctTopics([...Object.values(topics), typedDeadLetterTopic], { ...topics, typedDeadLetterTopic }, fail)
  const storeRetentionMs = parsed.storeRetentionMs ?? Math.max(DEFAULT_STORE_RETENTION_MS, HOUR_MS + graceMs)
  if (storeRetentionMs < HOUR_MS + graceMs) {
    throw new CommerceConfigError('storeRetentionMs', `must be at least the 1-hour window size + graceMs (${HOUR_MS + graceMs}), got ${storeRetentionMs}`)
  }
  return { ...parsed, storeRetentionMs }
}

/** Key of the typed inputs and of `commerce.product-ratings`: the product id as a decimal string. */
export function productKey(productId: number): string {
  return String(productId)
}

/** The product id of a `productKey`, or undefined when `key` is not a canonical non-negative decimal integer. */
export function parseProductKey(key: string): number | undefined {
  if (!/^(0|[1-9]\d{0,15})$/.test(key)) return undefined
  const id = Number(key)
  return Number.isSafeInteger(id) ? id : undefined
}

/** Key of `commerce.sales.1h`: `${product_id}|${window_start_ms}`, e.g. `3|1763726400000`. */
export function salesKey(productId: number, windowStartMs: number): string {
  return `${productId}|${windowStartMs}`
}

/** The parts of a `salesKey`, or undefined when `key` is not one. */
export function parseSalesKey(key: string): { productId: number; windowStartMs: number } | undefined {
  const bar = key.indexOf('|')
  if (bar < 0) return undefined
  const productId = parseProductKey(key.slice(0, bar))
  const start = key.slice(bar + 1)
  if (productId === undefined || !/^(0|[1-9]\d{0,15})$/.test(start)) return undefined
  const windowStartMs = Number(start)
  return Number.isSafeInteger(windowStartMs) ? { productId, windowStartMs } : undefined
}

/** Key of `commerce.category-ratings`: the category itself (UTF-8). */
export function categoryKey(category: string): string {
  return category
}

/**
 * The window that answers "sales in the last hour" at `nowMs`: the one ending at `nowMs` rounded
 * down to the minute (CONTRACTS.md), e.g. at 12:34:56 the window [11:34:00, 12:34:00).
 */
export function lastHourWindow(nowMs: number): { windowStartMs: number; windowEndMs: number } {
  const windowEndMs = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS
  return { windowStartMs: windowEndMs - HOUR_MS, windowEndMs }
}

/**
 * The commerce application's settings (CONTRACTS.md, "Commerce analytics"): topic names, the record
 * keys of the output topics (encoders and parsers, shared with the query API), window sizes and the
 * defaults of grace, retention and partition counts, validated once.
 */
import { AppConfigError, settingChecks } from '../shared/index.ts'

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

/** Settings of the commerce application; every field is optional and has the contract's default. */
export interface CommerceSettings {
  readonly topics?: Partial<CommerceTopics>
  /**
   * Where the analytics topology sends typed input records that break the contract (a key that is
   * not the product id, a rating outside 1-5...). Default `runnel-commerce-dlq` (the worker passes
   * `<application id>-dlq`, where the runtime also puts records it cannot deserialize).
   */
  readonly typedDeadLetterTopic?: string
  /** Grace of the 1-hour sales windows after their end, ms. Default 60,000. */
  readonly graceMs?: number
  /** `retention.ms` of the compacted output topics. Default 2 days. */
  readonly outputRetentionMs?: number
  /** How long the sales window store keeps windows, ms. Default 1 day; at least 1 h + grace. */
  readonly storeRetentionMs?: number
  /** Partitions of the input topics when the worker creates them. Default 6. */
  readonly inputPartitions?: number
  /** Partitions of each output topic (and of `analytics.dlq`) when the worker creates it. Default 6. */
  readonly outputPartitions?: number
}

/** Settings with every default filled in. */
export interface ResolvedCommerceSettings {
  readonly topics: CommerceTopics
  readonly typedDeadLetterTopic: string
  readonly graceMs: number
  readonly outputRetentionMs: number
  readonly storeRetentionMs: number
  readonly inputPartitions: number
  readonly outputPartitions: number
}

/** Default dead-letter topic of the analytics topology: the runtime's `<application id>-dlq` of `runnel-commerce`. */
export const DEFAULT_TYPED_DEAD_LETTER_TOPIC = 'runnel-commerce-dlq'

/** A bad commerce setting; `option` names it. */
export class CommerceConfigError extends AppConfigError {
  constructor(option: string, message: string) {
    super('COMMERCE_BAD_OPTION', option, message)
    this.name = 'CommerceConfigError'
  }
}

const check = settingChecks((option, message) => new CommerceConfigError(option, message))

/** Fills in defaults and checks every setting, throwing a `CommerceConfigError` naming the bad one. */
export function resolveCommerceSettings(settings: CommerceSettings = {}): ResolvedCommerceSettings {
  if (typeof settings !== 'object' || settings === null) throw new CommerceConfigError('settings', 'must be an object')
  const topics: CommerceTopics = check.topics<keyof CommerceTopics>(COMMERCE_TOPICS, settings.topics)
  const typedDeadLetterTopic = settings.typedDeadLetterTopic === undefined
    ? DEFAULT_TYPED_DEAD_LETTER_TOPIC
    : check.topicName('typedDeadLetterTopic', settings.typedDeadLetterTopic)
  check.distinct([...Object.values(topics), typedDeadLetterTopic], { ...topics, typedDeadLetterTopic })
  const graceMs = check.durationMs('graceMs', settings.graceMs, DEFAULT_GRACE_MS, 0)
  const storeRetentionMs = check.durationMs('storeRetentionMs', settings.storeRetentionMs, Math.max(DEFAULT_STORE_RETENTION_MS, HOUR_MS + graceMs), 1)
  if (storeRetentionMs < HOUR_MS + graceMs) {
    throw new CommerceConfigError('storeRetentionMs', `must be at least the 1-hour window size + graceMs (${HOUR_MS + graceMs}), got ${storeRetentionMs}`)
  }
  return {
    topics,
    typedDeadLetterTopic,
    graceMs,
    outputRetentionMs: check.durationMs('outputRetentionMs', settings.outputRetentionMs, DEFAULT_OUTPUT_RETENTION_MS, 1),
    storeRetentionMs,
    inputPartitions: check.partitions('inputPartitions', settings.inputPartitions, DEFAULT_INPUT_PARTITIONS),
    outputPartitions: check.partitions('outputPartitions', settings.outputPartitions, DEFAULT_OUTPUT_PARTITIONS)
  }
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

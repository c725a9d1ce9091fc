/**
 * The seed bridge (CONTRACTS.md, "Commerce analytics", seed compatibility): reads the seed's
 * schemaless JSON events from `analytics`, validates each one, and writes the typed Avro event to
 * `commerce.product-sold` or `commerce.product-rated` (key = product_id as a decimal string, event
 * time = the Kafka record timestamp). Everything else goes to `analytics.dlq`: the original key and
 * value bytes, untouched, with headers naming the error code, message and field and the source
 * topic, partition and offset (dead-letters.ts). Nothing is dropped silently.
 *
 *   analytics (bytes) -> commerce-bridge-validate -> sold    -> commerce.product-sold
 *                                                   rated   -> commerce.product-rated
 *                                                   invalid -> analytics.dlq
 *
 * Validation, in this order (the first problem found is the reason):
 * 1. the value is valid UTF-8 JSON (`COMMERCE_NOT_JSON`; a record without a value too) holding an object
 *    (`COMMERCE_NOT_OBJECT`);
 * 2. the discriminator `event_name`, or `event` when `event_name` is absent, is a string
 *    (`COMMERCE_MISSING_FIELD` / `COMMERCE_INVALID_FIELD`; both present and different is invalid)
 *    naming `productSold` or `productRated` (`COMMERCE_UNKNOWN_EVENT`; case-sensitive, as the seed);
 * 3. `product_id`: a JSON number that is an integer from 0 to 2^53 - 1 (a numeric string is rejected:
 *    it is the key of everything downstream, so it must be unambiguous), then `name_of_product`: a
 *    string (may be empty);
 * 4. productSold: `no_of_units` an integer from 1 to 2^31 - 1 (Avro int); `amount` a number or a
 *    numeric string (decimal or exponent notation, surrounding spaces allowed) in currency units,
 *    `COMMERCE_NON_NUMERIC_AMOUNT` for another string, `COMMERCE_NEGATIVE_AMOUNT` below 0;
 *    `amount_cents = Math.round(amount * 100)`, which must be a safe integer;
 * 5. productRated: `rating` an integer (`COMMERCE_INVALID_FIELD` for 4.5 or "4") from 1 to 5
 *    (`COMMERCE_RATING_OUT_OF_RANGE`), `category` a string that is not empty or blank.
 * A missing field and a `null` one are both `COMMERCE_MISSING_FIELD`. Unknown fields are ignored.
 */
import type { ProcessorContext, ProcessorSupplier, StreamRecord } from '../../processors/index.ts'
import { bytesSerde, stringSerde, type ProductRated, type ProductSold, type Serde } from '../../schemas/index.ts'
import type { KStream, StreamsBuilder } from '../../topology/index.ts'
import { productKey, type CommerceTopics } from './config.ts'
import { deadLetterHeaders, type Rejection } from './dead-letters.ts'

/** Stable codes of the bridge's rejections (the `runnel.dlq.error.code` header of `analytics.dlq`). */
export const BridgeErrorCodes = {
  NOT_JSON: 'COMMERCE_NOT_JSON',
  NOT_OBJECT: 'COMMERCE_NOT_OBJECT',
  UNKNOWN_EVENT: 'COMMERCE_UNKNOWN_EVENT',
  MISSING_FIELD: 'COMMERCE_MISSING_FIELD',
  INVALID_FIELD: 'COMMERCE_INVALID_FIELD',
  RATING_OUT_OF_RANGE: 'COMMERCE_RATING_OUT_OF_RANGE',
  NEGATIVE_AMOUNT: 'COMMERCE_NEGATIVE_AMOUNT',
  NON_NUMERIC_AMOUNT: 'COMMERCE_NON_NUMERIC_AMOUNT'
} as const

/** One of `BridgeErrorCodes`. */
export type BridgeErrorCode = (typeof BridgeErrorCodes)[keyof typeof BridgeErrorCodes]

/** The two event names of the seed. */
export const SEED_EVENT_NAMES = { sold: 'productSold', rated: 'productRated' } as const

/** What validation makes of one `analytics` record. */
export type BridgedEvent =
  | { readonly kind: 'sold'; readonly event: ProductSold }
  | { readonly kind: 'rated'; readonly event: ProductRated }
  | { readonly kind: 'invalid'; readonly rejection: Rejection & { readonly code: BridgeErrorCode } }

const INT32_MAX = 2_147_483_647
// Fatal: bytes that are not UTF-8 are rejected instead of becoming U+FFFD inside a product name.
const UTF8 = new TextDecoder('utf-8', { fatal: true })
// Decimal or exponent notation, as JSON numbers and PHP's numeric strings write amounts.
const NUMERIC = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/

type Fields = Readonly<Record<string, unknown>>

function reject(code: BridgeErrorCode, message: string, field?: string): BridgedEvent {
  return { kind: 'invalid', rejection: field === undefined ? { code, message } : { code, message, field } }
}

function missing(field: string): BridgedEvent {
  return reject(BridgeErrorCodes.MISSING_FIELD, `field ${field} is missing`, field)
}

function mistyped(field: string, expected: string, value: unknown): BridgedEvent {
  return reject(BridgeErrorCodes.INVALID_FIELD, `field ${field} must be ${expected}, got ${preview(value)}`, field)
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/** `product_id` and `name_of_product`, common to both events. */
function productFields(fields: Fields): { id: number; name: string } | BridgedEvent {
  const id = fields.product_id
  if (id === undefined || id === null) return missing('product_id')
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return mistyped('product_id', 'an integer from 0 to 2^53 - 1', id)
  const name = fields.name_of_product
  if (name === undefined || name === null) return missing('name_of_product')
  if (typeof name !== 'string') return mistyped('name_of_product', 'a string', name)
  return { id, name }
}

function soldEvent(fields: Fields, timestampMs: number): BridgedEvent {
  const product = productFields(fields)
  if ('kind' in product) return product
  const units = fields.no_of_units
  if (units === undefined || units === null) return missing('no_of_units')
  if (typeof units !== 'number' || !Number.isInteger(units) || units < 1 || units > INT32_MAX) {
    return mistyped('no_of_units', `an integer from 1 to ${INT32_MAX}`, units)
  }
  const raw = fields.amount
  if (raw === undefined || raw === null) return missing('amount')
  let amount: number
  if (typeof raw === 'number') {
    amount = raw
  } else if (typeof raw === 'string') {
    if (!NUMERIC.test(raw)) return reject(BridgeErrorCodes.NON_NUMERIC_AMOUNT, `field amount is a string that is not a number: ${preview(raw)}`, 'amount')
    amount = Number(raw)
  } else {
    return mistyped('amount', 'a number or a numeric string', raw)
  }
  if (amount < 0) return reject(BridgeErrorCodes.NEGATIVE_AMOUNT, `field amount must not be negative, got ${preview(raw)}`, 'amount')
  // `+ 0` turns -0 (from "-0") into 0.
  const cents = Math.round(amount * 100) + 0
  if (!Number.isSafeInteger(cents)) return mistyped('amount', 'at most 2^53 - 1 cents', raw)
  return { kind: 'sold', event: { product_id: product.id, product_name: product.name, units, amount_cents: cents, timestamp: timestampMs } }
}

function ratedEvent(fields: Fields, timestampMs: number): BridgedEvent {
  const product = productFields(fields)
  if ('kind' in product) return product
  const rating = fields.rating
  if (rating === undefined || rating === null) return missing('rating')
  if (typeof rating !== 'number' || !Number.isInteger(rating)) return mistyped('rating', 'an integer', rating)
  if (rating < 1 || rating > 5) return reject(BridgeErrorCodes.RATING_OUT_OF_RANGE, `field rating must be from 1 to 5, got ${rating}`, 'rating')
  const category = fields.category
  if (category === undefined || category === null) return missing('category')
  if (typeof category !== 'string' || category.trim() === '') return mistyped('category', 'a non-empty string', category)
  return { kind: 'rated', event: { product_id: product.id, product_name: product.name, rating, category, timestamp: timestampMs } }
}

/** Validates one `analytics` record value (rules in the file comment); `timestampMs` becomes the event time. */
export function bridgeEvent(value: Buffer | null, timestampMs: number): BridgedEvent {
  if (value === null) return reject(BridgeErrorCodes.NOT_JSON, 'the record has no value')
  let parsed: unknown
  try {
    parsed = JSON.parse(UTF8.decode(value))
  } catch (err) {
    return reject(BridgeErrorCodes.NOT_JSON, `the value is not JSON: ${(err as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return reject(BridgeErrorCodes.NOT_OBJECT, `the value must be a JSON object, got ${Array.isArray(parsed) ? 'an array' : preview(parsed)}`)
  }
  const fields = parsed as Fields
  const eventName = fields.event_name ?? fields.event
  const field = fields.event_name !== undefined && fields.event_name !== null ? 'event_name' : 'event'
  if (eventName === undefined || eventName === null) return missing('event_name')
  if (typeof eventName !== 'string') return mistyped(field, 'a string', eventName)
  if (fields.event_name !== undefined && fields.event !== undefined && fields.event !== null && fields.event !== fields.event_name) {
    return mistyped('event', `absent or equal to event_name (${preview(fields.event_name)})`, fields.event)
  }
  switch (eventName) {
    case SEED_EVENT_NAMES.sold:
      return soldEvent(fields, timestampMs)
    case SEED_EVENT_NAMES.rated:
      return ratedEvent(fields, timestampMs)
    default:
      return reject(BridgeErrorCodes.UNKNOWN_EVENT, `unknown event ${preview(eventName)}; known: ${Object.values(SEED_EVENT_NAMES).join(', ')}`, field)
  }
}

/** A validated record on its way to a branch; invalid ones carry their original value bytes. */
type Routed = BridgedEvent & { readonly raw: Buffer | null }

function validateProcessor(): ProcessorSupplier<Buffer | null, Buffer | null, Buffer | null, Routed> {
  return () => {
    let context: ProcessorContext<Buffer | null, Routed>
    return {
      init(ctx) {
        context = ctx
      },
      process(record: StreamRecord<Buffer | null, Buffer | null>) {
        const result = bridgeEvent(record.value, record.timestampMs)
        const headers =
          result.kind === 'invalid'
            ? deadLetterHeaders(context as ProcessorContext<unknown, unknown>, record.headers, result.rejection, record.timestampMs)
            : record.headers
        context.forward({ key: record.key, value: { ...result, raw: record.value }, timestampMs: record.timestampMs, headers })
      }
    }
  }
}

/** Serdes of the bridge's typed outputs. */
export interface BridgeSerdes {
  readonly productSold: Serde<ProductSold>
  readonly productRated: Serde<ProductRated>
}

/** Processor names of the bridge. */
export const BRIDGE_PROCESSORS = {
  source: 'commerce-bridge-source',
  validate: 'commerce-bridge-validate',
  sold: 'commerce-bridge-sold',
  rated: 'commerce-bridge-rated',
  invalid: 'commerce-bridge-invalid'
} as const

const rawSerde = bytesSerde as Serde<Buffer | null>

/** Adds the bridge to `builder`: `topics.analytics` -> typed topics and `topics.analyticsDlq`. */
export function addCommerceBridge(
  builder: StreamsBuilder,
  topics: Pick<CommerceTopics, 'analytics' | 'analyticsDlq' | 'productSold' | 'productRated'>,
  serdes: BridgeSerdes
): void {
  const routed: KStream<Buffer | null, Routed> = builder
    .stream<Buffer | null, Buffer | null>(topics.analytics, { name: BRIDGE_PROCESSORS.source, keySerde: bytesSerde, valueSerde: bytesSerde })
    .process(validateProcessor(), { name: BRIDGE_PROCESSORS.validate })
  routed
    .flatMap((_key, value) => (value.kind === 'sold' ? [{ key: productKey(value.event.product_id), value: value.event }] : []), {
      name: BRIDGE_PROCESSORS.sold
    })
    .to(topics.productSold, { name: 'commerce-bridge-sold-sink', keySerde: stringSerde, valueSerde: serdes.productSold })
  routed
    .flatMap((_key, value) => (value.kind === 'rated' ? [{ key: productKey(value.event.product_id), value: value.event }] : []), {
      name: BRIDGE_PROCESSORS.rated
    })
    .to(topics.productRated, { name: 'commerce-bridge-rated-sink', keySerde: stringSerde, valueSerde: serdes.productRated })
  routed
    .flatMap((key, value) => (value.kind === 'invalid' ? [{ key, value: value.raw }] : []), { name: BRIDGE_PROCESSORS.invalid })
    .to(topics.analyticsDlq, { name: 'commerce-bridge-dlq-sink', keySerde: rawSerde, valueSerde: rawSerde })
}

/**
 * The shop simulator: produces the commerce inputs with kafkajs and @kafkajs/confluent-schema-registry
 * (idempotent producer, Kafka timestamp = event time). `--format typed` writes Avro `ProductSold` /
 * `ProductRated` to `commerce.product-sold` / `commerce.product-rated` (key = product id);
 * `--format seed-json` writes the seed's JSON to `analytics`, with `--invalid-fraction` of invalid
 * events of every kind the bridge rejects. The seed publishes without a key; the simulator keys
 * `analytics` records by product id so that a product's events keep their order through the bridge
 * (the bridge itself ignores the key). It generates the deterministic model of generator.ts, or
 * replays a JSON-lines dataset file (`--out` writes one); `npm run simulate -- commerce --help`.
 *
 * Records go out in batches, one produce request in flight at a time, so each partition keeps the
 * generator's order (the reference implementation relies on it).
 */
import {
  confluentRegistry,
  CONNECTION_FLAGS,
  continuingStartMs,
  defaultStartMs,
  flagsUsage,
  MODEL_FLAGS,
  parseFlags,
  progressReporter,
  readJsonLines,
  registerAvroSchema,
  sendingFlags,
  sendingOptionsOf,
  sendRecords,
  withoutUndefined,
  writeJsonLines,
  type Environment,
  type OutgoingRecord,
  type SendingOptions
} from '../shared/index.ts'
import { COMMERCE_TOPICS, DEFAULT_INPUT_PARTITIONS } from './config.ts'
import {
  commerceRecords,
  estimatedDurationMs,
  INVALID_VARIANTS,
  toSeedJson,
  type CommerceGeneratorOptions,
  type CommerceRecord,
  type InvalidVariant
} from './generator.ts'

/** What the simulator writes: typed Avro events, or the seed's JSON on `analytics`. */
export const SIMULATOR_FORMATS = ['typed', 'seed-json'] as const

/** One of `SIMULATOR_FORMATS`. */
export type SimulatorFormat = (typeof SIMULATOR_FORMATS)[number]

/** Options of a simulator run. */
export interface CommerceSimulatorOptions extends SendingOptions {
  readonly format: SimulatorFormat
  readonly topics: { readonly analytics: string; readonly productSold: string; readonly productRated: string }
  /** The generated model (`startMs` undefined: chosen so that the data ends about now). */
  readonly generator: Omit<CommerceGeneratorOptions, 'startMs'> & { readonly startMs?: number }
}

/** What a run sent (or wrote). */
export interface CommerceSimulatorResult {
  readonly sold: number
  readonly rated: number
  readonly invalid: number
  /** Invalid records not sent because the typed format cannot carry them. */
  readonly skipped: number
  readonly durationMs: number
}

const FLAGS = {
  ...CONNECTION_FLAGS,
  format: { type: 'string', help: "typed (Avro to the typed topics, default) or seed-json (the seed's JSON on analytics)" },
  'analytics-topic': { type: 'string', help: `seed-json topic (default $COMMERCE_ANALYTICS_TOPIC or ${COMMERCE_TOPICS.analytics})` },
  'sold-topic': { type: 'string', help: `typed sales topic (default $COMMERCE_PRODUCT_SOLD_TOPIC or ${COMMERCE_TOPICS.productSold})` },
  'rated-topic': { type: 'string', help: `typed ratings topic (default $COMMERCE_PRODUCT_RATED_TOPIC or ${COMMERCE_TOPICS.productRated})` },
  partitions: { type: 'string', help: `partitions when a topic is created (default ${DEFAULT_INPUT_PARTITIONS})` },
  count: { type: 'string', help: 'sale and rating events to send (default 100000)' },
  products: { type: 'string', help: 'products in the catalogue, ids 1..N (default 50)' },
  categories: { type: 'string', help: 'product categories (default 8)' },
  ...MODEL_FLAGS,
  'mean-gap': { type: 'string', help: 'mean event-time gap between events, ms (default 250)' },
  'sale-fraction': { type: 'string', help: 'share of sales among the events, the rest are ratings (default 0.7)' },
  'out-of-order': { type: 'string', help: 'fraction delivered 1-50 s late, within grace (default 0.02)' },
  late: { type: 'string', help: 'fraction delivered 2-10 minutes late, beyond grace (default 0.001)' },
  recategorize: { type: 'string', help: 'fraction of ratings that move their product to another category (default 0.001)' },
  'invalid-fraction': { type: 'string', help: `seed-json: extra invalid events per event, of every kind (${INVALID_VARIANTS.join(', ')}) (default 0)` },
  ...sendingFlags({
    replay: 'replay a JSON-lines dataset (written by --out) instead of generating',
    out: 'write the generated records to a JSON-lines dataset (for --replay) instead of sending'
  })
} as const

/** The `--help` text. */
export function commerceSimulatorUsage(): string {
  return flagsUsage('npm run simulate -- commerce [flags]: a shop selling and getting rated, to Kafka.', FLAGS)
}

/** Parses the command line; `help` when --help was asked. Errors name the flag. */
export function parseCommerceSimulatorArgs(args: readonly string[], env: Environment = process.env): CommerceSimulatorOptions | 'help' {
  const read = parseFlags(FLAGS, args)
  if (read === 'help') return 'help'
  const format = read.text('format') ?? 'typed'
  if (!(SIMULATOR_FORMATS as readonly string[]).includes(format)) {
    throw new Error(`--format must be one of ${SIMULATOR_FORMATS.join(', ')}, got ${JSON.stringify(format)}`)
  }
  const startMs = read.epochMs('start')
  const sending = sendingOptionsOf(read, env, DEFAULT_INPUT_PARTITIONS)
  const invalidFraction = read.fraction('invalid-fraction')
  if (invalidFraction !== undefined && invalidFraction > 0 && format !== 'seed-json') {
    throw new Error('--invalid-fraction needs --format seed-json (typed topics cannot carry invalid JSON)')
  }
  return {
    ...sending,
    format: format as SimulatorFormat,
    topics: {
      analytics: read.topic('analytics-topic', env.COMMERCE_ANALYTICS_TOPIC?.trim() || COMMERCE_TOPICS.analytics),
      productSold: read.topic('sold-topic', env.COMMERCE_PRODUCT_SOLD_TOPIC?.trim() || COMMERCE_TOPICS.productSold),
      productRated: read.topic('rated-topic', env.COMMERCE_PRODUCT_RATED_TOPIC?.trim() || COMMERCE_TOPICS.productRated)
    },
    generator: {
      seed: read.integer('seed', 1, 0, 0xffffffff),
      events: read.integer('count', 100_000, 0),
      products: read.integer('products', 50, 1, 1_000_000),
      categories: read.integer('categories', 8, 1, 1000),
      meanGapMs: read.integer('mean-gap', 250, 1, 3_600_000),
      ...(startMs !== undefined ? { startMs } : {}),
      ...withoutUndefined({
        outOfOrderFraction: read.fraction('out-of-order'),
        lateFraction: read.fraction('late'),
        recategorizeFraction: read.fraction('recategorize'),
        saleFraction: read.fraction('sale-fraction'),
        invalidFraction
      })
    }
  }
}

function isCount(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min
}

/** Checks one dataset line, naming the file position and field when it is wrong. */
function checkRecord(value: unknown, where: string): CommerceRecord {
  const r = value as Record<string, unknown> | null
  if (r === null || typeof r !== 'object') throw new Error(`${where}: expected a JSON object`)
  const v = r.value as Record<string, unknown> | null | undefined
  const field = (ok: boolean, name: string, what: string): void => {
    if (!ok) throw new Error(`${where}: ${name} must be ${what}`)
  }
  switch (r.kind) {
    case 'sold':
    case 'rated': {
      field(v !== null && typeof v === 'object', 'value', 'an object')
      const e = v as Record<string, unknown>
      field(isCount(e.product_id, 0), 'value.product_id', 'a non-negative integer')
      field(typeof e.product_name === 'string', 'value.product_name', 'a string')
      field(isCount(e.timestamp, 0), 'value.timestamp', 'epoch ms (a non-negative integer)')
      if (r.kind === 'sold') {
        field(isCount(e.units, 1) && (e.units as number) <= 2_147_483_647, 'value.units', 'an integer from 1 to 2^31 - 1')
        field(isCount(e.amount_cents, 0), 'value.amount_cents', 'a non-negative integer')
        return {
          kind: 'sold',
          value: {
            product_id: e.product_id as number,
            product_name: e.product_name as string,
            units: e.units as number,
            amount_cents: e.amount_cents as number,
            timestamp: e.timestamp as number
          }
        }
      }
      field(isCount(e.rating, 1) && (e.rating as number) <= 5, 'value.rating', 'an integer from 1 to 5')
      field(typeof e.category === 'string' && e.category.trim() !== '', 'value.category', 'a non-empty string')
      return {
        kind: 'rated',
        value: {
          product_id: e.product_id as number,
          product_name: e.product_name as string,
          rating: e.rating as number,
          category: e.category as string,
          timestamp: e.timestamp as number
        }
      }
    }
    case 'invalid':
      field((INVALID_VARIANTS as readonly unknown[]).includes(r.variant), 'variant', `one of ${INVALID_VARIANTS.join(', ')}`)
      field(isCount(r.productId, 0), 'productId', 'a non-negative integer')
      field(typeof r.text === 'string', 'text', 'a string')
      field(isCount(r.timestampMs, 0), 'timestampMs', 'epoch ms (a non-negative integer)')
      return {
        kind: 'invalid',
        variant: r.variant as InvalidVariant,
        productId: r.productId as number,
        text: r.text as string,
        timestampMs: r.timestampMs as number
      }
    default:
      throw new Error(`${where}: kind must be sold, rated or invalid, got ${JSON.stringify(r.kind)}`)
  }
}

/** The records of a JSON-lines dataset, in file order (blank lines are skipped). */
export function readCommerceDataset(path: string): AsyncGenerator<CommerceRecord> {
  return readJsonLines(path, checkRecord)
}

function tally(): { sold: number; rated: number; invalid: number; skipped: number } {
  return { sold: 0, rated: 0, invalid: 0, skipped: 0 }
}

/** Writes the generated records as JSON lines (a dataset for `--replay`). */
async function writeDataset(path: string, records: Iterable<CommerceRecord>): Promise<CommerceSimulatorResult> {
  const started = Date.now()
  const counts = tally()
  await writeJsonLines(
    path,
    (function* (): Generator<CommerceRecord> {
      for (const record of records) {
        counts[record.kind]++
        yield record
      }
    })()
  )
  return { ...counts, durationMs: Date.now() - started }
}

function eventTimeOf(record: CommerceRecord): number {
  return record.kind === 'invalid' ? record.timestampMs : record.value.timestamp
}

/** Runs the simulator: generate (or replay) and send, or write a dataset file. */
export async function runCommerceSimulator(options: CommerceSimulatorOptions): Promise<CommerceSimulatorResult> {
  const { generator, topics } = options
  const typedTopics = [topics.productSold, topics.productRated]
  const startMs =
    options.continueBackfillMs !== undefined
      ? await continuingStartMs(
          { ...options, continueBackfillMs: options.continueBackfillMs },
          options.format === 'typed' ? typedTopics : [topics.analytics],
          1,
          'commerce simulator'
        )
      : (generator.startMs ?? defaultStartMs(options.realtime, estimatedDurationMs(generator.events, generator.meanGapMs)))
  const generated = (): Iterable<CommerceRecord> => commerceRecords({ ...generator, startMs })
  if (options.outFile !== undefined) return writeDataset(options.outFile, generated())

  const typed = options.format === 'typed'
  const registry = confluentRegistry(options.registryUrl, options.registryAuth)
  const schemaIds = typed
    ? {
        sold: await registerAvroSchema(registry, 'runnel.commerce.ProductSold', topics.productSold),
        rated: await registerAvroSchema(registry, 'runnel.commerce.ProductRated', topics.productRated)
      }
    : undefined
  const total = options.replayFile === undefined ? generator.events : undefined
  const counts = tally()
  const progress = progressReporter(options.progress, (seconds) => {
    const sent = counts.sold + counts.rated
    const share = total !== undefined && total > 0 ? ` (${((100 * sent) / total).toFixed(1)}%)` : ''
    return (
      `commerce simulator: ${sent.toLocaleString('en-US')}${total !== undefined ? ` / ${total.toLocaleString('en-US')}` : ''} events${share} ` +
      `(${counts.sold.toLocaleString('en-US')} sales, ${counts.rated.toLocaleString('en-US')} ratings), ${Math.round(sent / seconds).toLocaleString('en-US')}/s, ` +
      `${counts.invalid} invalid${counts.skipped > 0 ? `, ${counts.skipped} skipped` : ''}`
    )
  })
  const encode = async (record: CommerceRecord): Promise<OutgoingRecord | undefined> => {
    const timestampMs = eventTimeOf(record)
    if (record.kind === 'invalid') {
      if (typed) {
        counts.skipped++
        return undefined
      }
      counts.invalid++
      return { topic: topics.analytics, key: String(record.productId), value: record.text, timestampMs }
    }
    counts[record.kind]++
    const key = String(record.value.product_id)
    if (schemaIds === undefined) return { topic: topics.analytics, key, value: toSeedJson(record), timestampMs }
    return record.kind === 'sold'
      ? { topic: topics.productSold, key, value: await registry.encode(schemaIds.sold, record.value), timestampMs }
      : { topic: topics.productRated, key, value: await registry.encode(schemaIds.rated, record.value), timestampMs }
  }
  const { durationMs } = await sendRecords(options, {
    clientId: 'runnel-commerce-simulator',
    topics: typed ? [topics.productSold, topics.productRated] : [topics.analytics],
    source: options.replayFile !== undefined ? readCommerceDataset(options.replayFile) : generated(),
    eventTimeMs: eventTimeOf,
    encode,
    progress
  })
  progress.done(durationMs)
  return { ...counts, durationMs }
}

/** Entry point of `npm run simulate -- commerce`. */
export async function main(args: readonly string[]): Promise<void> {
  const options = parseCommerceSimulatorArgs(args)
  if (options === 'help') {
    process.stdout.write(commerceSimulatorUsage())
    return
  }
  await runCommerceSimulator(options)
}

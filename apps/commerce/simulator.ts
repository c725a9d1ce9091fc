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
import { createReadStream, createWriteStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import { Kafka, logLevel, Partitioners, type Message, type Producer } from 'kafkajs'
import { avroSchemas, DEFAULT_SCHEMA_REGISTRY_URL } from '../../schemas/index.ts'
import { helpTable, parseBrokers, parseRegistryUrl } from '../cli.ts'
import { COMMERCE_TOPICS, DEFAULT_INPUT_PARTITIONS, MINUTE_MS } from './config.ts'
import {
  commerceRecords, estimatedDurationMs, INVALID_VARIANTS, toSeedJson, type CommerceGeneratorOptions, type CommerceRecord,
  type InvalidVariant
} from './generator.ts'

/** What the simulator writes: typed Avro events, or the seed's JSON on `analytics`. */
export const SIMULATOR_FORMATS = ['typed', 'seed-json'] as const

/** One of `SIMULATOR_FORMATS`. */
export type SimulatorFormat = (typeof SIMULATOR_FORMATS)[number]

/** Options of a simulator run. */
export interface CommerceSimulatorOptions {
  readonly brokers: readonly string[]
  readonly registryUrl: string
  readonly format: SimulatorFormat
  readonly topics: { readonly analytics: string; readonly productSold: string; readonly productRated: string }
  /** Partitions when the simulator creates a topic (an existing topic keeps its count). */
  readonly partitions: number
  /** The generated model (`startMs` undefined: chosen so that the data ends about now). */
  readonly generator: Omit<CommerceGeneratorOptions, 'startMs'> & { readonly startMs?: number }
  /** Replays this JSON-lines dataset instead of generating. */
  readonly replayFile?: string
  /** Writes the generated records to this JSON-lines file instead of sending them. */
  readonly outFile?: string
  /** Records per second; 0 = as fast as the machine allows. */
  readonly ratePerSecond: number
  /** Records per produce request. */
  readonly batchSize: number
  /** Sends each record when the wall clock reaches its event time (the start defaults to now). */
  readonly realtime: boolean
  /** Where the progress line goes (`null`: nowhere). Default stderr. */
  readonly progress?: NodeJS.WritableStream | null
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
  brokers: { type: 'string', help: 'bootstrap brokers, comma-separated host:port (default $KAFKA_BROKERS or 127.0.0.1:9092)' },
  registry: { type: 'string', help: `schema registry URL (default $SCHEMA_REGISTRY_URL or ${DEFAULT_SCHEMA_REGISTRY_URL})` },
  format: { type: 'string', help: 'typed (Avro to the typed topics, default) or seed-json (the seed\'s JSON on analytics)' },
  'analytics-topic': { type: 'string', help: `seed-json topic (default ${COMMERCE_TOPICS.analytics})` },
  'sold-topic': { type: 'string', help: `typed sales topic (default ${COMMERCE_TOPICS.productSold})` },
  'rated-topic': { type: 'string', help: `typed ratings topic (default ${COMMERCE_TOPICS.productRated})` },
  partitions: { type: 'string', help: `partitions when a topic is created (default ${DEFAULT_INPUT_PARTITIONS})` },
  count: { type: 'string', help: 'sale and rating events to send (default 100000)' },
  products: { type: 'string', help: 'products in the catalogue, ids 1..N (default 50)' },
  categories: { type: 'string', help: 'product categories (default 8)' },
  seed: { type: 'string', help: 'PRNG seed: the same seed and --start give the same records (default 1)' },
  start: { type: 'string', help: 'event time of the start, ISO-8601 or epoch ms (default: so that the data ends about now; --realtime: now)' },
  'mean-gap': { type: 'string', help: 'mean event-time gap between events, ms (default 250)' },
  'sale-fraction': { type: 'string', help: 'share of sales among the events, the rest are ratings (default 0.7)' },
  'out-of-order': { type: 'string', help: 'fraction delivered 1-50 s late, within grace (default 0.02)' },
  late: { type: 'string', help: 'fraction delivered 2-10 minutes late, beyond grace (default 0.001)' },
  recategorize: { type: 'string', help: 'fraction of ratings that move their product to another category (default 0.001)' },
  'invalid-fraction': { type: 'string', help: `seed-json: extra invalid events per event, of every kind (${INVALID_VARIANTS.join(', ')}) (default 0)` },
  rate: { type: 'string', help: 'records per second, 0 = as fast as possible (default 0)' },
  batch: { type: 'string', help: 'records per produce request (default 2000)' },
  realtime: { type: 'boolean', help: 'send each record when the wall clock reaches its event time' },
  replay: { type: 'string', help: 'replay a JSON-lines dataset (written by --out) instead of generating' },
  out: { type: 'string', help: 'write the generated records to a JSON-lines dataset (for --replay) instead of sending' },
  quiet: { type: 'boolean', help: 'no progress line' },
  help: { type: 'boolean', help: 'this help' }
} as const

type Flag = keyof typeof FLAGS

/** The `--help` text. */
export function commerceSimulatorUsage(): string {
  return [
    'npm run simulate -- commerce [flags]: a shop selling and getting rated, to Kafka.',
    '',
    ...helpTable(Object.fromEntries(Object.entries(FLAGS).map(([name, flag]) => [name, flag.help])), '--'),
    ''
  ].join('\n')
}

/** Parses the command line; `help` when --help was asked. Errors name the flag. */
export function parseCommerceSimulatorArgs(
  args: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env
): CommerceSimulatorOptions | 'help' {
  let values: Record<string, string | boolean | undefined>
  try {
    const options = Object.fromEntries(Object.entries(FLAGS).map(([name, flag]) => [name, { type: flag.type }]))
    values = parseArgs({ args: [...args], options: options as never, strict: true, allowPositionals: false }).values as typeof values
  } catch (err) {
    throw new Error(`${(err as Error).message} (see --help)`, { cause: err })
  }
  if (values.help === true) return 'help'
  const str = (name: Flag): string | undefined => values[name] as string | undefined
  const int = (name: Flag, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = str(name)
    if (raw === undefined) return fallback
    const n = Number(raw)
    if (raw.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new Error(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`)
    }
    return n
  }
  const frac = (name: Flag): number | undefined => {
    const raw = str(name)
    if (raw === undefined) return undefined
    const n = Number(raw)
    if (raw.trim() === '' || !(n >= 0 && n <= 1)) throw new Error(`--${name} must be a fraction in [0, 1], got ${JSON.stringify(raw)}`)
    return n
  }
  const topic = (name: Flag, fallback: string): string => {
    const value = str(name) ?? fallback
    if (!/^[A-Za-z0-9._-]{1,249}$/.test(value)) throw new Error(`--${name} must be 1-249 characters of [A-Za-z0-9._-], got ${JSON.stringify(value)}`)
    return value
  }
  const format = str('format') ?? 'typed'
  if (!(SIMULATOR_FORMATS as readonly string[]).includes(format)) {
    throw new Error(`--format must be one of ${SIMULATOR_FORMATS.join(', ')}, got ${JSON.stringify(format)}`)
  }
  let startMs: number | undefined
  const start = str('start')
  if (start !== undefined) {
    startMs = /^\d+$/.test(start) ? Number(start) : Date.parse(start)
    if (!Number.isSafeInteger(startMs) || startMs < 0) throw new Error(`--start must be an ISO-8601 time or epoch ms, got ${JSON.stringify(start)}`)
  }
  if (str('replay') !== undefined && str('out') !== undefined) throw new Error('--replay and --out exclude each other')
  const invalidFraction = frac('invalid-fraction')
  if (invalidFraction !== undefined && invalidFraction > 0 && format !== 'seed-json') {
    throw new Error('--invalid-fraction needs --format seed-json (typed topics cannot carry invalid JSON)')
  }
  const optional = {
    outOfOrderFraction: frac('out-of-order'), lateFraction: frac('late'), recategorizeFraction: frac('recategorize'),
    saleFraction: frac('sale-fraction'), invalidFraction
  }
  const generator: CommerceSimulatorOptions['generator'] = {
    seed: int('seed', 1, 0, 0xffffffff),
    events: int('count', 100_000, 0),
    products: int('products', 50, 1, 1_000_000),
    categories: int('categories', 8, 1, 1000),
    meanGapMs: int('mean-gap', 250, 1, 3_600_000),
    ...(startMs !== undefined ? { startMs } : {}),
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined))
  }
  const replay = str('replay')
  const out = str('out')
  return {
    brokers: parseBrokers(str('brokers') ?? env.KAFKA_BROKERS, '--brokers'),
    registryUrl: parseRegistryUrl(str('registry') ?? env.SCHEMA_REGISTRY_URL, '--registry'),
    format: format as SimulatorFormat,
    topics: {
      analytics: topic('analytics-topic', COMMERCE_TOPICS.analytics),
      productSold: topic('sold-topic', COMMERCE_TOPICS.productSold),
      productRated: topic('rated-topic', COMMERCE_TOPICS.productRated)
    },
    generator,
    partitions: int('partitions', DEFAULT_INPUT_PARTITIONS, 1, 10_000),
    ratePerSecond: int('rate', 0, 0),
    batchSize: int('batch', 2000, 1),
    realtime: values.realtime === true,
    ...(replay !== undefined ? { replayFile: replay } : {}),
    ...(out !== undefined ? { outFile: out } : {}),
    ...(values.quiet === true ? { progress: null } : {})
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
  const field = (ok: boolean, name: string, what: string): void => { if (!ok) throw new Error(`${where}: ${name} must be ${what}`) }
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
            product_id: e.product_id as number, product_name: e.product_name as string, units: e.units as number,
            amount_cents: e.amount_cents as number, timestamp: e.timestamp as number
          }
        }
      }
      field(isCount(e.rating, 1) && (e.rating as number) <= 5, 'value.rating', 'an integer from 1 to 5')
      field(typeof e.category === 'string' && e.category.trim() !== '', 'value.category', 'a non-empty string')
      return {
        kind: 'rated',
        value: {
          product_id: e.product_id as number, product_name: e.product_name as string, rating: e.rating as number,
          category: e.category as string, timestamp: e.timestamp as number
        }
      }
    }
    case 'invalid':
      field((INVALID_VARIANTS as readonly unknown[]).includes(r.variant), 'variant', `one of ${INVALID_VARIANTS.join(', ')}`)
      field(isCount(r.productId, 0), 'productId', 'a non-negative integer')
      field(typeof r.text === 'string', 'text', 'a string')
      field(isCount(r.timestampMs, 0), 'timestampMs', 'epoch ms (a non-negative integer)')
      return {
        kind: 'invalid', variant: r.variant as InvalidVariant, productId: r.productId as number, text: r.text as string, timestampMs: r.timestampMs as number
      }
    default:
      throw new Error(`${where}: kind must be sold, rated or invalid, got ${JSON.stringify(r.kind)}`)
  }
}

/** The records of a JSON-lines dataset, in file order (blank lines are skipped). */
export async function* readCommerceDataset(path: string): AsyncGenerator<CommerceRecord> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })
  let n = 0
  for await (const line of lines) {
    n++
    if (line.trim() === '') continue
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch (err) {
      throw new Error(`${path}:${n}: not JSON: ${(err as Error).message}`, { cause: err })
    }
    yield checkRecord(parsed, `${path}:${n}`)
  }
}

function tally(): { sold: number; rated: number; invalid: number; skipped: number } {
  return { sold: 0, rated: 0, invalid: 0, skipped: 0 }
}

/** Writes the generated records as JSON lines (a dataset for `--replay`). */
async function writeDataset(path: string, records: Iterable<CommerceRecord>): Promise<CommerceSimulatorResult> {
  const out = createWriteStream(path, 'utf8')
  const started = Date.now()
  const counts = tally()
  for (const record of records) {
    if (!out.write(`${JSON.stringify(record)}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
    counts[record.kind]++
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())))
  return { ...counts, durationMs: Date.now() - started }
}

/** Creates the topics with kafkajs when they do not exist. */
async function ensureTopics(kafka: Kafka, topics: readonly string[], partitions: number): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const existing = new Set(await admin.listTopics())
    const missing = topics.filter((t) => !existing.has(t))
    if (missing.length > 0) await admin.createTopics({ topics: missing.map((topic) => ({ topic, numPartitions: partitions })), waitForLeaders: true })
  } finally {
    await admin.disconnect()
  }
}

/** A progress line: rewritten in place on a terminal, a line every 5 s otherwise. */
function progressReporter(
  stream: NodeJS.WritableStream | null, total: number | undefined
): { update(counts: ReturnType<typeof tally>): void; done(result: CommerceSimulatorResult): void } {
  const started = Date.now()
  const tty = (stream as { isTTY?: boolean } | null)?.isTTY === true
  let lastAt = 0
  const line = (c: ReturnType<typeof tally>): string => {
    const sent = c.sold + c.rated
    const seconds = Math.max(0.001, (Date.now() - started) / 1000)
    const share = total !== undefined && total > 0 ? ` (${((100 * sent) / total).toFixed(1)}%)` : ''
    return `commerce simulator: ${sent.toLocaleString('en-US')}${total !== undefined ? ` / ${total.toLocaleString('en-US')}` : ''} events${share} ` +
      `(${c.sold.toLocaleString('en-US')} sales, ${c.rated.toLocaleString('en-US')} ratings), ${Math.round(sent / seconds).toLocaleString('en-US')}/s, ` +
      `${c.invalid} invalid${c.skipped > 0 ? `, ${c.skipped} skipped` : ''}`
  }
  return {
    update(counts) {
      if (stream === null) return
      const now = Date.now()
      if (now - lastAt < (tty ? 250 : 5000)) return
      lastAt = now
      stream.write(tty ? `\r${line(counts)}` : `${line(counts)}\n`)
    },
    done(result) {
      if (stream === null) return
      stream.write(`${tty ? '\r' : ''}${line(result)} in ${(result.durationMs / 1000).toFixed(1)} s\n`)
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function eventTimeOf(record: CommerceRecord): number {
  return record.kind === 'invalid' ? record.timestampMs : record.value.timestamp
}

/** Runs the simulator: generate (or replay) and send, or write a dataset file. */
export async function runCommerceSimulator(options: CommerceSimulatorOptions): Promise<CommerceSimulatorResult> {
  const { generator } = options
  const startMs = generator.startMs ?? (options.realtime
    ? Date.now()
    : Math.floor((Date.now() - estimatedDurationMs(generator.events, generator.meanGapMs)) / MINUTE_MS) * MINUTE_MS)
  const generated = (): Iterable<CommerceRecord> => commerceRecords({ ...generator, startMs })
  if (options.outFile !== undefined) return writeDataset(options.outFile, generated())
  const source: Iterable<CommerceRecord> | AsyncIterable<CommerceRecord> =
    options.replayFile !== undefined ? readCommerceDataset(options.replayFile) : generated()

  const typed = options.format === 'typed'
  const { topics } = options
  const kafka = new Kafka({ clientId: 'runnel-commerce-simulator', brokers: [...options.brokers], logLevel: logLevel.ERROR })
  await ensureTopics(kafka, typed ? [topics.productSold, topics.productRated] : [topics.analytics], options.partitions)
  const registry = new SchemaRegistry({ host: options.registryUrl })
  const register = async (name: 'runnel.commerce.ProductSold' | 'runnel.commerce.ProductRated', topic: string): Promise<number> =>
    (await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(avroSchemas[name]) }, { subject: `${topic}-value` })).id
  const schemaIds = typed
    ? { sold: await register('runnel.commerce.ProductSold', topics.productSold), rated: await register('runnel.commerce.ProductRated', topics.productRated) }
    : undefined
  // Idempotent: a send retried after a lost acknowledgement must not duplicate input.
  const producer: Producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1
  })
  await producer.connect()
  const progress = progressReporter(options.progress === undefined ? process.stderr : options.progress,
    options.replayFile === undefined ? generator.events : undefined)
  const started = Date.now()
  const batchSize = options.ratePerSecond > 0 ? Math.max(1, Math.min(options.batchSize, Math.ceil(options.ratePerSecond / 20))) : options.batchSize
  const counts = tally()
  let sentRecords = 0
  let inFlight: Promise<unknown> = Promise.resolve()
  let batch = new Map<string, Message[]>()
  let batched = 0
  const flush = async (): Promise<void> => {
    if (batched === 0) return
    const topicMessages = [...batch].map(([topic, messages]) => ({ topic, messages }))
    batch = new Map()
    batched = 0
    // One request in flight keeps each partition in send order; the next batch encodes meanwhile.
    await inFlight
    inFlight = producer.sendBatch({ topicMessages, acks: -1 })
    progress.update(counts)
    if (options.ratePerSecond > 0) {
      const aheadMs = (1000 * sentRecords) / options.ratePerSecond - (Date.now() - started)
      if (aheadMs > 0) await sleep(aheadMs)
    }
  }
  const add = (topic: string, message: Message): void => {
    const list = batch.get(topic)
    if (list === undefined) batch.set(topic, [message])
    else list.push(message)
    batched++
    sentRecords++
  }
  try {
    for await (const record of source) {
      const timestampMs = eventTimeOf(record)
      if (options.realtime && timestampMs > Date.now()) {
        await flush()
        await sleep(timestampMs - Date.now())
      }
      const timestamp = String(timestampMs)
      if (record.kind === 'invalid') {
        if (typed) {
          counts.skipped++
          continue
        }
        add(topics.analytics, { key: String(record.productId), value: record.text, timestamp })
        counts.invalid++
      } else if (schemaIds !== undefined) {
        const id = record.kind === 'sold' ? schemaIds.sold : schemaIds.rated
        const topic = record.kind === 'sold' ? topics.productSold : topics.productRated
        add(topic, { key: String(record.value.product_id), value: await registry.encode(id, record.value), timestamp })
        counts[record.kind]++
      } else {
        add(topics.analytics, { key: String(record.value.product_id), value: toSeedJson(record), timestamp })
        counts[record.kind]++
      }
      if (batched >= batchSize) await flush()
    }
    await flush()
    await inFlight
  } finally {
    await producer.disconnect()
  }
  const result = { ...counts, durationMs: Date.now() - started }
  progress.done(result)
  return result
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

/**
 * What the apps' simulators share: their common flags (cluster, model seed and start, sending,
 * datasets), the options those flags give, JSON-lines datasets (`--out` writes one, `--replay` reads
 * it back), the progress line, and the sending loop: kafkajs with an idempotent producer, records in
 * batches with one produce request in flight at a time, so that each partition keeps the model's
 * order (the apps' reference implementations rely on it) while the next batch is encoded, at a
 * given rate or in real time, and where a run that continues its topic (`--continue`) starts.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import { Kafka, logLevel, Partitioners, type Message } from 'kafkajs'
import { avroSchemas, DEFAULT_SCHEMA_REGISTRY_URL, schemaRegistryAuthFromEnv, type SchemaRegistryAuth } from '../../schemas/index.ts'
import { parseBrokers, parseRegistryUrl, type Environment, type FlagReader, type FlagSpec } from './cli.ts'
import { continuationStart, newestTimestampMs } from './continuation.ts'
import { ensureTopics } from './topics.ts'

/** `--brokers` and `--registry` (defaults from `$KAFKA_BROKERS` and `$SCHEMA_REGISTRY_URL`). */
export const CONNECTION_FLAGS = {
  brokers: { type: 'string', help: 'bootstrap brokers, comma-separated host:port (default $KAFKA_BROKERS or 127.0.0.1:9092)' },
  registry: { type: 'string', help: `schema registry URL (default $SCHEMA_REGISTRY_URL or ${DEFAULT_SCHEMA_REGISTRY_URL})` }
} as const satisfies Record<string, FlagSpec>

/** `--seed` and `--start` of a deterministic model. */
export const MODEL_FLAGS = {
  seed: { type: 'string', help: 'PRNG seed: the same seed and --start give the same records (default 1)' },
  start: { type: 'string', help: 'event time of the start, ISO-8601 or epoch ms (default: so that the data ends about now; --realtime: now)' }
} as const satisfies Record<string, FlagSpec>

/** The flags of how records are sent (and `--quiet`, `--help`); `dataset` words the help of `--replay` and `--out`. */
export function sendingFlags(dataset: { readonly replay: string; readonly out: string }) {
  return {
    rate: { type: 'string', help: 'records per second, 0 = as fast as possible (default 0)' },
    batch: { type: 'string', help: 'records per produce request (default 2000)' },
    realtime: { type: 'boolean', help: 'send each record when the wall clock reaches its event time' },
    continue: {
      type: 'string',
      help:
        'real time, continuing the topic (ms): an empty topic first gets the last <ms> of data at once (up to now), one with data ' +
        'continues after its newest record when that is within <ms>, else from now (overrides --start)'
    },
    replay: { type: 'string', help: dataset.replay },
    out: { type: 'string', help: dataset.out },
    quiet: { type: 'boolean', help: 'no progress line' },
    help: { type: 'boolean', help: 'this help' }
  } as const satisfies Record<string, FlagSpec>
}

/** Options of any simulator run besides its model. */
export interface SendingOptions {
  readonly brokers: readonly string[]
  readonly registryUrl: string
  /** Credentials sent to the registry (env SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO or SCHEMA_REGISTRY_BEARER_AUTH_TOKEN). */
  readonly registryAuth?: SchemaRegistryAuth
  /** Partitions when the simulator creates a topic (an existing topic keeps its count). */
  readonly partitions: number
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
  /**
   * `--continue`: real time, starting where the topic's data ends (see `continuationStart`); the
   * backfill of an empty topic and how recent its newest record must be, ms.
   */
  readonly continueBackfillMs?: number
  /** Where the progress line goes (`null`: nowhere). Default stderr. */
  readonly progress?: NodeJS.WritableStream | null
}

type SendingFlag = keyof typeof CONNECTION_FLAGS | keyof ReturnType<typeof sendingFlags> | 'partitions' | 'start'

/** The sending options of parsed flags (`--partitions` defaults to `defaultPartitions`). */
export function sendingOptionsOf(read: FlagReader<SendingFlag>, env: Environment, defaultPartitions: number): SendingOptions {
  const replay = read.text('replay')
  const out = read.text('out')
  if (replay !== undefined && out !== undefined) throw new Error('--replay and --out exclude each other')
  const continueText = read.text('continue')
  let continueBackfillMs: number | undefined
  if (continueText !== undefined) {
    continueBackfillMs = Number(continueText)
    if (!/^\d+$/.test(continueText) || !Number.isSafeInteger(continueBackfillMs))
      throw new Error(`--continue must be a number of ms, got ${JSON.stringify(continueText)}`)
    if (replay !== undefined || out !== undefined) throw new Error('--continue generates and sends: it excludes --replay and --out')
    if (read.epochMs('start') !== undefined) throw new Error('--continue chooses the start: it excludes --start')
  }
  return {
    brokers: parseBrokers(read.text('brokers') ?? env.KAFKA_BROKERS, '--brokers'),
    registryUrl: parseRegistryUrl(read.text('registry') ?? env.SCHEMA_REGISTRY_URL, '--registry'),
    ...withRegistryAuth(schemaRegistryAuthFromEnv(env)),
    partitions: read.integer('partitions', defaultPartitions, 1, 10_000),
    ratePerSecond: read.integer('rate', 0, 0),
    batchSize: read.integer('batch', 2000, 1),
    realtime: read.given('realtime') || continueBackfillMs !== undefined,
    ...(continueBackfillMs !== undefined ? { continueBackfillMs } : {}),
    ...(replay !== undefined ? { replayFile: replay } : {}),
    ...(out !== undefined ? { outFile: out } : {}),
    ...(read.given('quiet') ? { progress: null } : {})
  }
}

/** Where a model starts when `--start` is not given: now in real time, else so that `durationMs` of data ends about now (on a minute). */
export function defaultStartMs(realtime: boolean, durationMs: number): number {
  return realtime ? Date.now() : Math.floor((Date.now() - durationMs) / 60_000) * 60_000
}

/**
 * The start of a `--continue` run over `topics` (see `continuationStart`), logged on stderr as one line
 * naming the topics, the start and why (backfill of an empty topic, continuation, or now).
 */
export async function continuingStartMs(
  options: SendingOptions & { readonly continueBackfillMs: number },
  topics: readonly string[],
  gapMs: number,
  label: string
): Promise<number> {
  const newest = await newestTimestampMs(options.brokers, topics)
  const { startMs, reason } = continuationStart(newest, Date.now(), { backfillMs: options.continueBackfillMs, gapMs })
  const at = new Date(startMs).toISOString()
  const why =
    reason === 'backfill'
      ? `${topics.join(', ')} empty: backfilling from ${at} up to now, then real time`
      : reason === 'continue'
        ? `${topics.join(', ')} has data up to ${new Date(newest ?? 0).toISOString()}: continuing from ${at} (no backfill)`
        : `${topics.join(', ')} has only older data (up to ${new Date(newest ?? 0).toISOString()}): real time from now (no backfill)`
  process.stderr.write(`${label}: ${why}\n`)
  return startMs
}

/** The values of a JSON-lines file in file order (blank lines are skipped), each checked by `check` (`where` is `path:line`). */
export async function* readJsonLines<T>(path: string, check: (value: unknown, where: string) => T): AsyncGenerator<T> {
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
    yield check(parsed, `${path}:${n}`)
  }
}

/** Writes each value as one line of JSON. */
export async function writeJsonLines(path: string, values: Iterable<unknown>): Promise<void> {
  const out = createWriteStream(path, 'utf8')
  for (const value of values) {
    if (!out.write(`${JSON.stringify(value)}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())))
}

/** A progress line (see `progressReporter`). */
export interface Progress {
  /** Writes the line when it is due: a terminal every 250 ms (in place), anything else every 5 s. */
  update(): void
  /** Writes the final line with the duration. */
  done(durationMs: number): void
}

/** A progress line made by `line` (given the seconds since the start) on `stream` (default stderr; `null`: none). */
export function progressReporter(stream: NodeJS.WritableStream | null | undefined, line: (seconds: number) => string): Progress {
  const out = stream === undefined ? process.stderr : stream
  const started = Date.now()
  const tty = (out as { isTTY?: boolean } | null)?.isTTY === true
  let lastAt = 0
  const text = (): string => line(Math.max(0.001, (Date.now() - started) / 1000))
  return {
    update() {
      if (out === null) return
      const now = Date.now()
      if (now - lastAt < (tty ? 250 : 5000)) return
      lastAt = now
      out.write(tty ? `\r${text()}` : `${text()}\n`)
    },
    done(durationMs) {
      if (out === null) return
      out.write(`${tty ? '\r' : ''}${text()} in ${(durationMs / 1000).toFixed(1)} s\n`)
    }
  }
}

/** Registers an Avro schema of the contract under `<topic>-value`; resolves its id. */
export async function registerAvroSchema(registry: SchemaRegistry, name: keyof typeof avroSchemas, topic: string): Promise<number> {
  const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(avroSchemas[name]) }, { subject: `${topic}-value` })
  return id
}

/** One Kafka record to send. */
export interface OutgoingRecord {
  readonly topic: string
  readonly key: string
  readonly value: Buffer | string
  /** Kafka timestamp, epoch ms. */
  readonly timestampMs: number
}

/** What `sendRecords` sends and how it reports. */
export interface SendingRun<TRecord> {
  /** Client id of the kafkajs clients. */
  readonly clientId: string
  /** Topics to create when missing (with `partitions`). */
  readonly topics: readonly string[]
  readonly source: Iterable<TRecord> | AsyncIterable<TRecord>
  /** Event time of a record: with `realtime` it is sent once the wall clock reaches it. */
  readonly eventTimeMs: (record: TRecord) => number
  /** The Kafka record of `record`, or undefined to leave it out (the caller counts what it sends). */
  readonly encode: (record: TRecord) => Promise<OutgoingRecord | undefined> | OutgoingRecord | undefined
  /** Updated after each batch. */
  readonly progress: Progress
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Sends the records of `run.source` in order; resolves how long sending took (from the producer's
 * connection). Idempotent producer: a send retried after a lost acknowledgement must not duplicate
 * input (the reference implementations and the tests rely on each record being in its topic once).
 */
export async function sendRecords<TRecord>(options: SendingOptions, run: SendingRun<TRecord>): Promise<{ durationMs: number }> {
  const kafka = new Kafka({ clientId: run.clientId, brokers: [...options.brokers], logLevel: logLevel.ERROR })
  // Created (with the broker's default replication) and awaited through kafka/: a topic created
  // a moment ago can still be unknown to a busy broker's metadata (a simulator exited on it once).
  await ensureTopics(
    options.brokers,
    run.topics.map((name) => ({ name, partitions: options.partitions, configs: [] })),
    -1,
    run.clientId
  )
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1
  })
  await producer.connect()
  const started = Date.now()
  const batchSize = options.ratePerSecond > 0 ? Math.max(1, Math.min(options.batchSize, Math.ceil(options.ratePerSecond / 20))) : options.batchSize
  let sent = 0
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
    run.progress.update()
    if (options.ratePerSecond > 0) {
      const aheadMs = (1000 * sent) / options.ratePerSecond - (Date.now() - started)
      if (aheadMs > 0) await sleep(aheadMs)
    }
  }
  try {
    for await (const record of run.source) {
      if (options.realtime) {
        const dueMs = run.eventTimeMs(record)
        if (dueMs > Date.now()) {
          await flush()
          await sleep(dueMs - Date.now())
        }
      }
      const outgoing = await run.encode(record)
      if (outgoing === undefined) continue
      const message = { key: outgoing.key, value: outgoing.value, timestamp: String(outgoing.timestampMs) }
      const list = batch.get(outgoing.topic)
      if (list === undefined) batch.set(outgoing.topic, [message])
      else list.push(message)
      batched++
      sent++
      if (batched >= batchSize) await flush()
    }
    await flush()
    await inFlight
  } finally {
    await producer.disconnect()
  }
  return { durationMs: Date.now() - started }
}

function withRegistryAuth(auth: SchemaRegistryAuth | undefined): { registryAuth?: SchemaRegistryAuth } {
  return auth === undefined ? {} : { registryAuth: auth }
}

/**
 * The Confluent client (kafkajs') of `registryUrl`, sending `auth`: basic auth through its own
 * option, a bearer token through a request middleware (the client has no option for it).
 */
export function confluentRegistry(registryUrl: string, auth: SchemaRegistryAuth | undefined): SchemaRegistry {
  if (auth === undefined) return new SchemaRegistry({ host: registryUrl })
  if ('basic' in auth) return new SchemaRegistry({ host: registryUrl, auth: { username: auth.basic.username, password: auth.basic.password } })
  const bearer = `Bearer ${auth.bearerToken}`
  return new SchemaRegistry({
    host: registryUrl,
    middlewares: [() => ({ request: (request) => request.enhance({ headers: { authorization: bearer } }) })]
  })
}

/**
 * The sensor simulator: produces `traffic.observations` with kafkajs and
 * @kafkajs/confluent-schema-registry (key = sensor_id, Kafka timestamp = event timestamp, value
 * Avro in the Confluent wire format). It generates the deterministic model of generator.ts, or
 * replays a JSON-lines dataset file; `npm run simulate -- traffic --help` lists the flags.
 *
 * Records go out in batches, one produce request in flight at a time, so each partition keeps the
 * generator's order (the reference implementation relies on it) while encoding overlaps the network.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs'
import { avroSchemas, DEFAULT_SCHEMA_REGISTRY_URL, TravelerTypeSymbols, type SensorObservation } from '../../schemas/index.ts'
import { DEFAULT_INPUT_PARTITIONS, TRAFFIC_TOPICS } from './config.ts'
import { estimatedObservationsPerSecond, malformedBytes, trafficRecords, type GeneratedRecord, type TrafficGeneratorOptions } from './generator.ts'

/** Options of a simulator run. */
export interface SimulatorOptions {
  readonly brokers: readonly string[]
  readonly registryUrl: string
  readonly topic: string
  /** Partitions when the simulator creates the topic (an existing topic keeps its count). */
  readonly partitions: number
  /** The generated model (`startMs` undefined: chosen so that the data ends about now). */
  readonly generator: Omit<TrafficGeneratorOptions, 'startMs'> & { readonly startMs?: number }
  /** Replays this JSON-lines file of SensorObservation instead of generating. */
  readonly replayFile?: string
  /** Writes the generated observations to this JSON-lines file instead of sending them. */
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

/** What a run sent. */
export interface SimulatorResult {
  readonly observations: number
  readonly malformed: number
  readonly durationMs: number
  /** Event-time range of the observations, epoch ms (-1 when none). */
  readonly firstTimestampMs: number
  readonly lastTimestampMs: number
}

const FLAGS = {
  brokers: { type: 'string', help: 'bootstrap brokers, comma-separated host:port (default $KAFKA_BROKERS or 127.0.0.1:9092)' },
  registry: { type: 'string', help: `schema registry URL (default $SCHEMA_REGISTRY_URL or ${DEFAULT_SCHEMA_REGISTRY_URL})` },
  topic: { type: 'string', help: `topic to produce to (default ${TRAFFIC_TOPICS.observations})` },
  partitions: { type: 'string', help: `partitions when the topic is created (default ${DEFAULT_INPUT_PARTITIONS})` },
  count: { type: 'string', help: 'observations to send (default 100000)' },
  sensors: { type: 'string', help: 'number of sensors s-1..s-N (default 20)' },
  seed: { type: 'string', help: 'PRNG seed: the same seed and --start give the same records (default 1)' },
  start: { type: 'string', help: 'event time of the start, ISO-8601 or epoch ms (default: so that the data ends about now; --realtime: now)' },
  rate: { type: 'string', help: 'records per second, 0 = as fast as possible (default 0)' },
  batch: { type: 'string', help: 'records per produce request (default 2000)' },
  'out-of-order': { type: 'string', help: 'fraction delivered 1-20 s late, within grace (default 0.01)' },
  late: { type: 'string', help: 'fraction delivered 95-300 s late, beyond grace (default 0.001)' },
  duplicates: { type: 'string', help: 'fraction sent twice (default 0.002)' },
  malformed: { type: 'string', help: 'extra records that are not valid Confluent Avro, as a fraction (default 0.0005)' },
  unknown: { type: 'string', help: 'fraction of observations classified UNKNOWN (default 0.01)' },
  occlusions: { type: 'string', help: 'fraction of travelers hidden for 31-40 s (default 0.05)' },
  realtime: { type: 'boolean', help: 'send each record when the wall clock reaches its event time' },
  replay: { type: 'string', help: 'replay a JSON-lines file of SensorObservation (file order) instead of generating' },
  out: { type: 'string', help: 'write the generated observations to a JSON-lines file (for --replay) instead of sending' },
  quiet: { type: 'boolean', help: 'no progress line' },
  help: { type: 'boolean', help: 'this help' }
} as const

/** The `--help` text. */
export function simulatorUsage(): string {
  const width = Math.max(...Object.keys(FLAGS).map((k) => k.length)) + 2
  return [
    'npm run simulate -- traffic [flags]: roadside sensors reporting travelers to Kafka (Avro, key = sensor_id).',
    '',
    ...Object.entries(FLAGS).map(([name, flag]) => `  --${name.padEnd(width)}${flag.help}`),
    ''
  ].join('\n')
}

/** Parses the command line; `help` when --help was asked. Errors name the flag. */
export function parseSimulatorArgs(args: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): SimulatorOptions | 'help' {
  let values: Record<string, string | boolean | undefined>
  try {
    const options = Object.fromEntries(Object.entries(FLAGS).map(([name, flag]) => [name, { type: flag.type }]))
    values = parseArgs({ args: [...args], options: options as never, strict: true, allowPositionals: false }).values as typeof values
  } catch (err) {
    throw new Error(`${(err as Error).message} (see --help)`, { cause: err })
  }
  if (values.help === true) return 'help'
  const str = (name: keyof typeof FLAGS): string | undefined => values[name] as string | undefined
  const int = (name: keyof typeof FLAGS, fallback: number, min: number): number => {
    const raw = str(name)
    if (raw === undefined) return fallback
    const n = Number(raw)
    if (raw.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`)
    return n
  }
  const frac = (name: keyof typeof FLAGS): number | undefined => {
    const raw = str(name)
    if (raw === undefined) return undefined
    const n = Number(raw)
    if (raw.trim() === '' || !(n >= 0 && n <= 1)) throw new Error(`--${name} must be a fraction in [0, 1], got ${JSON.stringify(raw)}`)
    return n
  }
  const brokers = (str('brokers') ?? env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim()).filter((b) => b !== '')
  if (brokers.length === 0 || !brokers.every((b) => /^[^\s:]+:\d{1,5}$/.test(b))) throw new Error(`--brokers must be comma-separated host:port, got ${JSON.stringify(str('brokers') ?? env.KAFKA_BROKERS)}`)
  const registryUrl = str('registry') ?? (env.SCHEMA_REGISTRY_URL?.trim() || DEFAULT_SCHEMA_REGISTRY_URL)
  if (!/^https?:\/\/./.test(registryUrl)) throw new Error(`--registry must be an http(s) URL, got ${JSON.stringify(registryUrl)}`)
  let startMs: number | undefined
  const start = str('start')
  if (start !== undefined) {
    startMs = /^\d+$/.test(start) ? Number(start) : Date.parse(start)
    if (!Number.isSafeInteger(startMs) || startMs < 0) throw new Error(`--start must be an ISO-8601 time or epoch ms, got ${JSON.stringify(start)}`)
  }
  const topic = str('topic') ?? TRAFFIC_TOPICS.observations
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw new Error(`--topic must be 1-249 characters of [A-Za-z0-9._-], got ${JSON.stringify(topic)}`)
  if (str('replay') !== undefined && str('out') !== undefined) throw new Error('--replay and --out exclude each other')
  const fractions = {
    outOfOrderFraction: frac('out-of-order'), lateFraction: frac('late'), duplicateFraction: frac('duplicates'),
    malformedFraction: frac('malformed'), unknownFraction: frac('unknown'), occlusionFraction: frac('occlusions')
  }
  const generator: SimulatorOptions['generator'] = {
    seed: int('seed', 1, 0),
    sensors: int('sensors', 20, 1),
    observations: int('count', 100_000, 0),
    ...(startMs !== undefined ? { startMs } : {}),
    ...Object.fromEntries(Object.entries(fractions).filter(([, v]) => v !== undefined))
  }
  if (generator.seed > 0xffffffff) throw new Error(`--seed must be below 2^32, got ${generator.seed}`)
  const replay = str('replay')
  const out = str('out')
  return {
    brokers, registryUrl, topic, generator,
    partitions: int('partitions', DEFAULT_INPUT_PARTITIONS, 1),
    ratePerSecond: int('rate', 0, 0),
    batchSize: int('batch', 2000, 1),
    realtime: values.realtime === true,
    ...(replay !== undefined ? { replayFile: replay } : {}),
    ...(out !== undefined ? { outFile: out } : {}),
    ...(values.quiet === true ? { progress: null } : {})
  }
}

/** Checks one replayed observation, naming the file position and field when it is wrong. */
function checkObservation(value: unknown, where: string): SensorObservation {
  const o = value as Record<string, unknown>
  if (o === null || typeof o !== 'object') throw new Error(`${where}: expected a JSON object`)
  for (const field of ['sensor_id', 'traveler_id'] as const) {
    if (typeof o[field] !== 'string') throw new Error(`${where}: ${field} must be a string`)
  }
  for (const field of ['x', 'y'] as const) {
    if (typeof o[field] !== 'number' || !Number.isFinite(o[field])) throw new Error(`${where}: ${field} must be a finite number`)
  }
  if (!Number.isSafeInteger(o.timestamp) || (o.timestamp as number) < 0) throw new Error(`${where}: timestamp must be epoch ms (a non-negative integer)`)
  const type = o.traveler_type ?? 'UNKNOWN'
  if (!(TravelerTypeSymbols as readonly unknown[]).includes(type)) throw new Error(`${where}: traveler_type must be one of ${TravelerTypeSymbols.join(', ')}`)
  return { sensor_id: o.sensor_id as string, traveler_id: o.traveler_id as string, traveler_type: type as SensorObservation['traveler_type'], x: o.x as number, y: o.y as number, timestamp: o.timestamp as number }
}

/** The observations of a JSON-lines dataset file, in file order (blank lines are skipped). */
export async function* readReplayFile(path: string): AsyncGenerator<GeneratedRecord> {
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
    const value = checkObservation(parsed, `${path}:${n}`)
    yield { kind: 'observation', key: value.sensor_id, value }
  }
}

/** Writes the generated observations as JSON lines (a dataset for `--replay`). */
async function writeDataset(path: string, records: Iterable<GeneratedRecord>): Promise<SimulatorResult> {
  const out = createWriteStream(path, 'utf8')
  const started = Date.now()
  let observations = 0
  let first = -1
  let last = -1
  for (const record of records) {
    if (record.kind !== 'observation') continue
    if (!out.write(`${JSON.stringify(record.value)}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
    observations++
    if (first < 0) first = record.value.timestamp
    last = record.value.timestamp
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())))
  return { observations, malformed: 0, durationMs: Date.now() - started, firstTimestampMs: first, lastTimestampMs: last }
}

/** Creates the topic with kafkajs when it does not exist. */
async function ensureTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    if ((await admin.listTopics()).includes(topic)) return
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true })
  } finally {
    await admin.disconnect()
  }
}

/** A progress line: rewritten in place on a terminal, a line every 5 s otherwise. */
function progressReporter(stream: NodeJS.WritableStream | null, total: number | undefined): { update(sent: number, malformed: number): void; done(result: SimulatorResult): void } {
  const started = Date.now()
  const tty = (stream as { isTTY?: boolean } | null)?.isTTY === true
  let lastAt = 0
  const line = (sent: number, malformed: number): string => {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000)
    const share = total !== undefined && total > 0 ? ` (${((100 * sent) / total).toFixed(1)}%)` : ''
    return `traffic simulator: ${sent.toLocaleString('en-US')}${total !== undefined ? ` / ${total.toLocaleString('en-US')}` : ''} observations${share}, ` +
      `${Math.round(sent / seconds).toLocaleString('en-US')}/s, ${malformed} malformed`
  }
  return {
    update(sent, malformed) {
      if (stream === null) return
      const now = Date.now()
      if (now - lastAt < (tty ? 250 : 5000)) return
      lastAt = now
      stream.write(tty ? `\r${line(sent, malformed)}` : `${line(sent, malformed)}\n`)
    },
    done(result) {
      if (stream === null) return
      stream.write(`${tty ? '\r' : ''}${line(result.observations, result.malformed)} in ${(result.durationMs / 1000).toFixed(1)} s\n`)
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs the simulator: generate (or replay) and send, or write a dataset file. */
export async function runSimulator(options: SimulatorOptions): Promise<SimulatorResult> {
  const { generator } = options
  const startMs = generator.startMs ?? (options.realtime
    ? Date.now()
    : Math.floor((Date.now() - (1000 * generator.observations) / estimatedObservationsPerSecond(generator.sensors ?? 20)) / 60_000) * 60_000)
  const generated = (): Iterable<GeneratedRecord> => trafficRecords({ ...generator, startMs })
  if (options.outFile !== undefined) return writeDataset(options.outFile, generated())
  const source: Iterable<GeneratedRecord> | AsyncIterable<GeneratedRecord> = options.replayFile !== undefined ? readReplayFile(options.replayFile) : generated()

  const kafka = new Kafka({ clientId: 'runnel-traffic-simulator', brokers: [...options.brokers], logLevel: logLevel.ERROR })
  await ensureTopic(kafka, options.topic, options.partitions)
  const registry = new SchemaRegistry({ host: options.registryUrl })
  const { id } = await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(avroSchemas['runnel.traffic.SensorObservation']) },
    { subject: `${options.topic}-value` })
  // Idempotent: a send retried after a lost acknowledgement must not duplicate input (the reference
  // implementation and the tests rely on each generated record being in the topic exactly once).
  const producer: Producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1
  })
  await producer.connect()
  const progress = progressReporter(options.progress === undefined ? process.stderr : options.progress, options.replayFile === undefined ? generator.observations : undefined)
  const started = Date.now()
  const batchSize = options.ratePerSecond > 0 ? Math.max(1, Math.min(options.batchSize, Math.ceil(options.ratePerSecond / 20))) : options.batchSize
  let observations = 0
  let malformed = 0
  let first = -1
  let last = -1
  let inFlight: Promise<unknown> = Promise.resolve()
  let batch: Array<{ key: string; value: Buffer; timestamp: string }> = []
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return
    const messages = batch
    batch = []
    // One request in flight keeps each partition in send order; the next batch encodes meanwhile.
    await inFlight
    inFlight = producer.send({ topic: options.topic, acks: -1, messages })
    progress.update(observations, malformed)
    if (options.ratePerSecond > 0) {
      const aheadMs = (1000 * (observations + malformed)) / options.ratePerSecond - (Date.now() - started)
      if (aheadMs > 0) await sleep(aheadMs)
    }
  }
  try {
    for await (const record of source) {
      const timestampMs = record.value.timestamp
      if (options.realtime && timestampMs > Date.now()) {
        await flush()
        await sleep(timestampMs - Date.now())
      }
      const valid = await registry.encode(id, record.value)
      if (record.kind === 'malformed') {
        batch.push({ key: record.key, value: malformedBytes(record.variant, valid, record.value), timestamp: String(timestampMs) })
        malformed++
      } else {
        batch.push({ key: record.key, value: valid, timestamp: String(timestampMs) })
        observations++
        if (first < 0) first = timestampMs
        last = timestampMs
      }
      if (batch.length >= batchSize) await flush()
    }
    await flush()
    await inFlight
  } finally {
    await producer.disconnect()
  }
  const result = { observations, malformed, durationMs: Date.now() - started, firstTimestampMs: first, lastTimestampMs: last }
  progress.done(result)
  return result
}

/** Entry point of `npm run simulate -- traffic`. */
export async function main(args: readonly string[]): Promise<void> {
  const options = parseSimulatorArgs(args)
  if (options === 'help') {
    process.stdout.write(simulatorUsage())
    return
  }
  await runSimulator(options)
}

/**
 * The sensor simulator: produces `traffic.observations` with kafkajs and
 * @kafkajs/confluent-schema-registry (key = sensor_id, Kafka timestamp = event timestamp, value
 * Avro in the Confluent wire format). It generates the deterministic model of generator.ts, or
 * replays a JSON-lines dataset file; `npm run simulate -- traffic --help` lists the flags.
 *
 * Records go out in batches, one produce request in flight at a time, so each partition keeps the
 * generator's order (the reference implementation relies on it) while encoding overlaps the network.
 */
import { TravelerTypeSymbols, type SensorObservation } from '../../schemas/index.ts'
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
  type SendingOptions
} from '../shared/index.ts'
import { DEFAULT_INPUT_PARTITIONS, VISIT_GAP_MS } from './config.ts'
import { TRAFFIC_TOPICS } from './contract.ts'
import { estimatedObservationsPerSecond, malformedBytes, trafficRecords, type GeneratedRecord, type TrafficGeneratorOptions } from './generator.ts'

/** Options of a simulator run. */
export interface SimulatorOptions extends SendingOptions {
  readonly topic: string
  /** The generated model (`startMs` undefined: chosen so that the data ends about now). */
  readonly generator: Omit<TrafficGeneratorOptions, 'startMs'> & { readonly startMs?: number }
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
  ...CONNECTION_FLAGS,
  topic: { type: 'string', help: `topic to produce to (default $TRAFFIC_OBSERVATIONS_TOPIC or ${TRAFFIC_TOPICS.observations})` },
  partitions: { type: 'string', help: `partitions when the topic is created (default ${DEFAULT_INPUT_PARTITIONS})` },
  count: { type: 'string', help: 'observations to send (default 100000)' },
  sensors: { type: 'string', help: 'number of sensors s-1..s-N (default 20)' },
  ...MODEL_FLAGS,
  'out-of-order': { type: 'string', help: 'fraction delivered 1-20 s late, within grace (default 0.01)' },
  late: { type: 'string', help: 'fraction delivered 95-300 s late, beyond grace (default 0.001)' },
  duplicates: { type: 'string', help: 'fraction sent twice (default 0.002)' },
  malformed: { type: 'string', help: 'extra records that are not valid Confluent Avro, as a fraction (default 0.0005)' },
  unknown: { type: 'string', help: 'fraction of observations classified UNKNOWN (default 0.01)' },
  occlusions: { type: 'string', help: 'fraction of travelers hidden for 31-40 s (default 0.05)' },
  ...sendingFlags({
    replay: 'replay a JSON-lines file of SensorObservation (file order) instead of generating',
    out: 'write the generated observations to a JSON-lines file (for --replay) instead of sending'
  })
} as const

/** The `--help` text. */
export function simulatorUsage(): string {
  return flagsUsage('npm run simulate -- traffic [flags]: roadside sensors reporting travelers to Kafka (Avro, key = sensor_id).', FLAGS)
}

/** Parses the command line; `help` when --help was asked. Errors name the flag. */
export function parseSimulatorArgs(args: readonly string[], env: Environment = process.env): SimulatorOptions | 'help' {
  const read = parseFlags(FLAGS, args)
  if (read === 'help') return 'help'
  const startMs = read.epochMs('start')
  const fractions = withoutUndefined({
    outOfOrderFraction: read.fraction('out-of-order'),
    lateFraction: read.fraction('late'),
    duplicateFraction: read.fraction('duplicates'),
    malformedFraction: read.fraction('malformed'),
    unknownFraction: read.fraction('unknown'),
    occlusionFraction: read.fraction('occlusions')
  })
  return {
    ...sendingOptionsOf(read, env, DEFAULT_INPUT_PARTITIONS),
    topic: read.topic('topic', env.TRAFFIC_OBSERVATIONS_TOPIC?.trim() || TRAFFIC_TOPICS.observations),
    generator: {
      seed: read.integer('seed', 1, 0, 0xffffffff),
      sensors: read.integer('sensors', 20, 1),
      observations: read.integer('count', 100_000, 0),
      ...(startMs !== undefined ? { startMs } : {}),
      ...fractions
    }
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
  return {
    sensor_id: o.sensor_id as string,
    traveler_id: o.traveler_id as string,
    traveler_type: type as SensorObservation['traveler_type'],
    x: o.x as number,
    y: o.y as number,
    timestamp: o.timestamp as number
  }
}

/** The observations of a JSON-lines dataset file, in file order (blank lines are skipped). */
export async function* readReplayFile(path: string): AsyncGenerator<GeneratedRecord> {
  for await (const value of readJsonLines(path, checkObservation)) yield { kind: 'observation', key: value.sensor_id, value }
}

/** Writes the generated observations as JSON lines (a dataset for `--replay`). */
async function writeDataset(path: string, records: Iterable<GeneratedRecord>): Promise<SimulatorResult> {
  const started = Date.now()
  let observations = 0
  let first = -1
  let last = -1
  await writeJsonLines(
    path,
    (function* (): Generator<SensorObservation> {
      for (const record of records) {
        if (record.kind !== 'observation') continue
        observations++
        if (first < 0) first = record.value.timestamp
        last = record.value.timestamp
        yield record.value
      }
    })()
  )
  return { observations, malformed: 0, durationMs: Date.now() - started, firstTimestampMs: first, lastTimestampMs: last }
}

/** Runs the simulator: generate (or replay) and send, or write a dataset file. */
export async function runSimulator(options: SimulatorOptions): Promise<SimulatorResult> {
  const { generator } = options
  // Continuing: one second more than the visit gap after the newest record, so that a traveler id the
  // model reuses never joins a visit (speed sample or session) of the previous run.
  const startMs =
    options.continueBackfillMs !== undefined
      ? await continuingStartMs({ ...options, continueBackfillMs: options.continueBackfillMs }, [options.topic], VISIT_GAP_MS + 1000, 'traffic simulator')
      : (generator.startMs ?? defaultStartMs(options.realtime, (1000 * generator.observations) / estimatedObservationsPerSecond(generator.sensors ?? 20)))
  const generated = (): Iterable<GeneratedRecord> => trafficRecords({ ...generator, startMs })
  if (options.outFile !== undefined) return writeDataset(options.outFile, generated())

  const registry = confluentRegistry(options.registryUrl, options.registryAuth)
  const id = await registerAvroSchema(registry, 'runnel.traffic.SensorObservation', options.topic)
  const total = options.replayFile === undefined ? generator.observations : undefined
  let observations = 0
  let malformed = 0
  let first = -1
  let last = -1
  const progress = progressReporter(options.progress, (seconds) => {
    const share = total !== undefined && total > 0 ? ` (${((100 * observations) / total).toFixed(1)}%)` : ''
    return (
      `traffic simulator: ${observations.toLocaleString('en-US')}${total !== undefined ? ` / ${total.toLocaleString('en-US')}` : ''} observations${share}, ` +
      `${Math.round(observations / seconds).toLocaleString('en-US')}/s, ${malformed} malformed`
    )
  })
  const { durationMs } = await sendRecords(options, {
    clientId: 'runnel-traffic-simulator',
    topics: [options.topic],
    source: options.replayFile !== undefined ? readReplayFile(options.replayFile) : generated(),
    eventTimeMs: (record) => record.value.timestamp,
    progress,
    encode: async (record) => {
      const timestampMs = record.value.timestamp
      const valid = await registry.encode(id, record.value)
      if (record.kind === 'malformed') {
        malformed++
        return { topic: options.topic, key: record.key, value: malformedBytes(record.variant, valid, record.value), timestampMs }
      }
      observations++
      if (first < 0) first = timestampMs
      last = timestampMs
      return { topic: options.topic, key: record.key, value: valid, timestampMs }
    }
  })
  progress.done(durationMs)
  return { observations, malformed, durationMs, firstTimestampMs: first, lastTimestampMs: last }
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

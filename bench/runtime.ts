/**
 * `npm run bench [-- runtime] [--records N] [--keys N] [--partitions N] [--guarantee at_least_once|exactly_once_v2]
 *   [--buffered N]` (records buffered per input partition, default 1000 as the runtime's default):
 * end-to-end rate of a stateful windowed count on the runtime beside the raw consume rate of the same
 * records with @platformatic/kafka alone, in one run, on the broker at KAFKA_BROKERS (default
 * 127.0.0.1:9092).
 *
 *  1. pre-produces N small records (default 1,000,000; keys `key-<i mod keys>`, 8-byte values,
 *     event time 1 ms apart, ending now) to a new topic;
 *  2. raw: a child process consumes them with the @platformatic/kafka consumer stream, timed from
 *     the moment the stream exists (group joined) to the last message;
 *  3. topology: a child process runs `KafkaStreams` with groupByKey -> 1-minute tumbling windows ->
 *     count (RocksDB, cached, change-logged) -> output topic, timed from the moment its tasks run
 *     until every input offset is committed (outputs and changelogs acknowledged first);
 *  4. prints both rates, their ratio (goal >= 0.7) and each child's peak RSS.
 * Both children are separate processes so that their memory is measured separately.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Admin, Consumer, MessagesStreamModes, Producer } from '@platformatic/kafka'
import { pino } from 'pino'
import { partitionForKey } from '../processors/index.ts'
import { KafkaStreams, type ProcessingGuarantee } from '../runtime/index.ts'
import { bytesSerde, longSerde, stringSerde } from '../schemas/index.ts'
import { StreamsBuilder, TimeWindows } from '../topology/index.ts'

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`)
  return i < 0 ? fallback : (args[i + 1] ?? fallback)
}

function positive(args: string[], name: string, fallback: number): number {
  const value = Number(arg(args, name, String(fallback)))
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`--${name} needs a positive integer, got ${arg(args, name, '')}`)
  return value
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')

/** What a child prints as its last stdout line. */
interface ChildResult {
  readonly records: number
  readonly elapsedMs: number
  readonly peakRssBytes: number
}

function report(result: ChildResult): void {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`)
}

function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024
}

async function produce(topic: string, records: number, keys: number, partitions: number): Promise<number> {
  const producer = new Producer({ clientId: 'bench-runtime-producer', bootstrapBrokers: brokers, idempotent: true, autocreateTopics: false })
  const started = performance.now()
  const keyBytes = Array.from({ length: keys }, (_, i) => Buffer.from(`key-${i}`))
  const keyPartitions = keyBytes.map((k) => partitionForKey(k, partitions))
  // Recent timestamps: records older than the topic's retention are deleted while the benchmark runs.
  const base = Date.now() - records
  const batch = 4000
  const inflight = new Set<Promise<unknown>>()
  for (let i = 0; i < records; i += batch) {
    const messages = []
    for (let j = i; j < Math.min(records, i + batch); j++) {
      const value = Buffer.allocUnsafe(8)
      value.writeBigInt64BE(BigInt(j))
      messages.push({ topic, key: keyBytes[j % keys] as Buffer, value, partition: keyPartitions[j % keys] as number, timestamp: BigInt(base + j) })
    }
    const sent = producer.send({ messages })
    inflight.add(sent)
    void sent.finally(() => inflight.delete(sent))
    if (inflight.size >= 8) await Promise.race(inflight)
  }
  await Promise.all(inflight)
  await producer.close()
  return performance.now() - started
}

/** Child: raw consumption with the @platformatic/kafka consumer stream. */
async function rawConsume(topic: string, records: number): Promise<void> {
  const consumer = new Consumer({ clientId: 'bench-runtime-raw', bootstrapBrokers: brokers, groupId: `${topic}-raw`, autocommit: false })
  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false })
  // From the moment the stream exists (group joined, before its first fetch) to the last record.
  const first = performance.now()
  let seen = 0
  let checksum = 0
  for await (const message of stream) {
    checksum += (message.value as Buffer).length
    if (++seen >= records) break
  }
  const elapsedMs = performance.now() - first
  if (checksum !== records * 8) throw new Error(`raw consume read ${checksum} value bytes, expected ${records * 8}`)
  await stream.close()
  await consumer.close(true)
  report({ records: seen, elapsedMs, peakRssBytes: peakRssBytes() })
}

/** Child: the windowed count on the runtime. */
async function topology(topic: string, records: number, guarantee: ProcessingGuarantee, buffered: number): Promise<void> {
  const appId = `${topic}-count`
  const output = `${appId}-out`
  const admin = new Admin({ clientId: 'bench-runtime-admin', bootstrapBrokers: brokers })
  await admin.createTopics({ topics: [output], partitions: 6, replicas: 1, configs: [{ name: 'cleanup.policy', value: 'compact' }] })
  await admin.close()
  const builder = new StreamsBuilder()
  builder
    .stream(topic, { keySerde: stringSerde, valueSerde: bytesSerde })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeWithNoGrace(60_000))
    .count({ storeName: 'counts' })
    .toStream()
    .map((windowed, count) => ({ key: `${windowed.key}@${windowed.window.startMs}`, value: count ?? 0 }))
    .to(output, { keySerde: stringSerde, valueSerde: longSerde })
  const stateDir = mkdtempSync(join(tmpdir(), 'runnel-bench-runtime-'))
  const streams = new KafkaStreams(builder.build(), {
    applicationId: appId,
    bootstrapServers: brokers,
    stateDir,
    processingGuarantee: guarantee,
    commitIntervalMs: 250,
    maxBufferedRecordsPerPartition: buffered,
    statusIntervalMs: 0,
    logger: pino({ level: 'warn' })
  })
  await streams.start()
  let first = 0
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      const status = streams.status()
      if (status.state === 'ERROR') {
        clearInterval(timer)
        reject(streams.error)
        return
      }
      // From the moment every task runs (group joined, state restored, before the first fetch returns).
      if (first === 0 && status.tasks.length > 0 && status.tasks.every((t) => t.phase === 'running')) first = performance.now()
      const committed = status.partitions.reduce((n, p) => n + Math.max(0, p.committedOffset), 0)
      if (committed >= records && status.partitions.length > 0) {
        clearInterval(timer)
        resolve()
      }
    }, 5)
  })
  const elapsedMs = performance.now() - first
  const processed = streams.status().recordsProcessedTotal
  await streams.close()
  rmSync(stateDir, { recursive: true, force: true })
  report({ records: processed, elapsedMs, peakRssBytes: peakRssBytes() })
}

async function child(args: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [join(import.meta.dirname, 'run.ts'), 'runtime', ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
    })
    proc.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '))
      if (code !== 0 || !line) reject(new Error(`bench child ${args.join(' ')} exited with ${code}: ${out.slice(-500)}`))
      else resolve(JSON.parse(line.slice(7)) as ChildResult)
    })
  })
}

export async function main(args: string[]): Promise<void> {
  const records = positive(args, 'records', 1_000_000)
  const guarantee = arg(args, 'guarantee', 'at_least_once') as ProcessingGuarantee
  const worker = arg(args, 'worker', '')
  if (worker !== '') {
    const topic = arg(args, 'topic', '')
    if (worker === 'raw') await rawConsume(topic, records)
    else if (worker === 'topology') await topology(topic, records, guarantee, positive(args, 'buffered', 1000))
    else throw new Error(`unknown --worker ${worker}`)
    return
  }
  const keys = positive(args, 'keys', 1000)
  const partitions = positive(args, 'partitions', 6)
  const topic = `bench-runtime-${Date.now().toString(36)}`
  const admin = new Admin({ clientId: 'bench-runtime-admin', bootstrapBrokers: brokers })
  await admin.createTopics({ topics: [topic], partitions, replicas: 1 })
  await admin.close()
  process.stdout.write(`runtime benchmark: ${fmt(records)} records, ${fmt(keys)} keys, ${partitions} partitions, ${guarantee}, broker ${brokers.join(',')}\n`)
  const produceMs = await produce(topic, records, keys, partitions)
  process.stdout.write(`  pre-produced in ${(produceMs / 1000).toFixed(1)} s (${fmt(records / (produceMs / 1000))} records/s)\n`)
  const common = ['--topic', topic, '--records', String(records), '--guarantee', guarantee, '--buffered', String(positive(args, 'buffered', 1000))]
  const raw = await child(['--worker', 'raw', ...common])
  const rawRate = raw.records / (raw.elapsedMs / 1000)
  process.stdout.write(
    `  raw consume (@platformatic/kafka stream): ${fmt(rawRate)} records/s (${(raw.elapsedMs / 1000).toFixed(2)} s), peak RSS ${fmt(raw.peakRssBytes / 1048576)} MiB\n`
  )
  const streams = await child(['--worker', 'topology', ...common])
  const streamsRate = streams.records / (streams.elapsedMs / 1000)
  process.stdout.write(
    `  windowed count topology (KafkaStreams, 1 instance): ${fmt(streamsRate)} records/s (${(streams.elapsedMs / 1000).toFixed(2)} s to drain and commit), worker peak RSS ${fmt(streams.peakRssBytes / 1048576)} MiB\n`
  )
  process.stdout.write(`  ratio topology / raw: ${(streamsRate / rawRate).toFixed(2)} (goal >= 0.7)\n`)
}

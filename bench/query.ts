/**
 * `npm run bench -- query [--sensors 20] [--types 6] [--hours 24] [--connections 32] [--duration 15] [--store rocksdb|memory]`
 *
 * Produces 24 hours of 1-minute window stats for every sensor and traveler type (20 x 6 x 1,440 =
 * 172,800 records by default, Avro through a registry started here) to fresh output topics on the
 * broker at KAFKA_BROKERS (default 127.0.0.1:9092), starts a query API instance that materializes
 * them (catch-up time and rate are printed), then loads `traffic.series` (all sensors, all types,
 * 24 h, 1m: 1,440 points, each combining 120 windows) from a separate process with autocannon and
 * prints p50/p99 latency and requests/s. The server keeps combined series between queries (a
 * repeated range costs only its changed minutes), so the time of one uncached combination is printed
 * too.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Admin, Producer, stringSerializer } from '@platformatic/kafka'
import { pino } from 'pino'
import { aggregateSeries, SeriesIndex, startQueryApi, type StoreKindName } from '../query-api/index.ts'
import { startRegistry } from '../registry/index.ts'
import { avroSerde, SchemaRegistryClient, TravelerTypeSymbols, type TrafficWindowStats } from '../schemas/index.ts'

const MIN = 60_000

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`)
  if (i < 0) return fallback
  const value = Number(args[i + 1])
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`bench query: --${name} must be a positive integer, got ${String(args[i + 1])}`)
  return value
}

interface AutocannonResult {
  latency: { p50: number; p99: number; average: number; max: number }
  requests: { average: number; total: number }
  throughput: { average: number }
  errors: number
  timeouts: number
  non2xx: number
  '2xx': number
}

export async function main(args: string[]): Promise<void> {
  const sensors = option(args, 'sensors', 20)
  const types = Math.min(option(args, 'types', 6), TravelerTypeSymbols.length)
  const hours = option(args, 'hours', 24)
  const connections = option(args, 'connections', 32)
  const duration = option(args, 'duration', 15)
  const storeIndex = args.indexOf('--store')
  const store = (storeIndex >= 0 ? args[storeIndex + 1] : 'rocksdb') as StoreKindName
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim())
  const suffix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
  const topics = { stats1m: `bench-query-stats1m-${suffix}`, stats5m: `bench-query-stats5m-${suffix}`, sessions: `bench-query-sessions-${suffix}` }
  const dir = mkdtempSync(join(tmpdir(), 'bench-query-'))

  const admin = new Admin({ clientId: 'bench-query-admin', bootstrapBrokers: brokers, retries: 1, timeout: 5000 })
  try {
    await admin.createTopics({
      topics: Object.values(topics),
      partitions: 6,
      replicas: 1,
      configs: [
        { name: 'cleanup.policy', value: 'compact,delete' },
        { name: 'retention.ms', value: String(7 * 86_400_000) }
      ]
    })
  } catch (err) {
    console.log(`query bench: no broker at ${brokers.join(',')} (${(err as Error).message}); start one with npm run kafka -- start`)
    await admin.close()
    return
  }
  await admin.close()

  const registry = await startRegistry({ port: 0, brokers, topic: `_schemas-bench-query-${suffix}` })
  const token = `bench-${randomBytes(12).toString('hex')}`
  let api: Awaited<ReturnType<typeof startQueryApi>> | undefined
  try {
    // Windows end at the last full minute, so the records are within the topics' time retention.
    const end = Math.floor(Date.now() / MIN) * MIN
    const from = end - hours * 60 * MIN
    const windows = hours * 60
    const total = sensors * types * windows
    const serde = avroSerde('runnel.traffic.TrafficWindowStats', { registry: new SchemaRegistryClient({ url: registry.url }) })
    await serde.configure(topics.stats1m, false)
    const producer = new Producer<string, Buffer, string, string>({
      clientId: 'bench-query-producer',
      bootstrapBrokers: brokers,
      acks: 1,
      serializers: { key: stringSerializer, value: (v) => v, headerKey: stringSerializer, headerValue: stringSerializer }
    })
    let seed = 1
    const rand = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      return seed / 2_147_483_648
    }
    const produceStarted = performance.now()
    let batch: Array<{ topic: string; key: string; value: Buffer; timestamp: bigint }> = []
    // The same windows in an index of this process, to time one uncached combination below.
    const local = new SeriesIndex()
    for (let w = 0; w < windows; w++) {
      const start = from + w * MIN
      for (let s = 0; s < sensors; s++) {
        for (let t = 0; t < types; t++) {
          const samples = Math.floor(rand() * 20)
          const mean = 3 + rand() * 20
          const value: TrafficWindowStats = {
            sensor_id: `s-${String(s + 1).padStart(2, '0')}`,
            traveler_type: TravelerTypeSymbols[t] as TrafficWindowStats['traveler_type'],
            window_start: start,
            window_end: start + MIN,
            observations: samples * 3 + 1,
            travelers: 1 + Math.floor(samples / 4),
            speed_samples: samples,
            speed_min: samples > 0 ? mean - 2 : null,
            speed_max: samples > 0 ? mean + 2 : null,
            speed_mean: samples > 0 ? mean : null
          }
          local.put('1m', value.sensor_id, value.traveler_type, start, {
            observations: value.observations,
            travelers: value.travelers,
            speedSamples: value.speed_samples,
            speedMin: value.speed_min,
            speedMax: value.speed_max,
            speedMean: value.speed_mean
          })
          batch.push({
            topic: topics.stats1m,
            key: `${value.sensor_id}|${value.traveler_type}|${start}`,
            value: serde.serialize(topics.stats1m, value),
            timestamp: BigInt(start)
          })
          if (batch.length === 5000) {
            await producer.send({ messages: batch })
            batch = []
          }
        }
      }
    }
    if (batch.length > 0) await producer.send({ messages: batch })
    await producer.close()
    const produceSeconds = (performance.now() - produceStarted) / 1000
    console.log(
      `produced ${total.toLocaleString('en')} window records (${sensors} sensors x ${types} types x ${windows} minutes) in ${produceSeconds.toFixed(1)} s`
    )

    const started = performance.now()
    api = await startQueryApi(
      {
        port: 0,
        brokers,
        registryUrl: registry.url,
        tokens: [{ token, scopes: ['read'] }],
        store,
        stateDir: dir,
        instanceId: `bench-${suffix}`,
        staticDir: null,
        topics,
        maxRangeMs: Math.max(7 * 86_400_000, hours * 60 * MIN),
        // The benchmark measures throughput from one token over many connections: lift the per-token
        // admission limits (the series size limit follows --hours).
        limits: {
          tokenConcurrency: Math.max(64, connections * 2),
          tokenRatePerSecond: 1e6,
          tokenRateBurst: 1e6,
          maxSeriesPoints: Math.max(10_080, hours * 60),
          maxRequestPoints: Math.max(20_160, hours * 60)
        }
      },
      { logger: pino({ level: 'warn' }), topology: null }
    )
    await api.whenReady()
    const catchUpSeconds = (performance.now() - started) / 1000
    const memory = process.memoryUsage()
    console.log(
      `query API (${store} store) caught up in ${catchUpSeconds.toFixed(2)} s: ${Math.round(total / catchUpSeconds).toLocaleString('en')} records/s; RSS ${(memory.rss / 2 ** 20).toFixed(0)} MiB, heap ${(memory.heapUsed / 2 ** 20).toFixed(0)} MiB`
    )

    const input = encodeURIComponent(JSON.stringify({ sensorId: 'all', travelerType: 'all', from, to: end, resolution: '1m' }))
    const url = `${api.url}/trpc/traffic.series?input=${input}`
    const probe = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
    const body = await probe.text()
    const points = (JSON.parse(body) as { result: { data: { points: unknown[] } } }).result.data.points.length
    console.log(`traffic.series (all sensors, all types, ${hours} h, 1m): ${points} points, ${(body.length / 1024).toFixed(0)} KiB per response`)

    const all = local.select('1m', 'all', 'all')
    for (let i = 0; i < 5; i++) aggregateSeries(all, from, end)
    const timed = performance.now()
    for (let i = 0; i < 50; i++) aggregateSeries(all, from, end)
    console.log(
      `uncached combination of ${all.length} series x ${windows} minutes (what a first or changed range costs): ${((performance.now() - timed) / 50).toFixed(2)} ms per query, in this process`
    )

    const autocannon = join(createRequire(import.meta.url).resolve('autocannon/package.json'), '..', 'autocannon.js')
    const result = await new Promise<AutocannonResult>((resolve, reject) => {
      const child = spawn(process.execPath, [autocannon, '-c', String(connections), '-d', String(duration), '-j', '-H', `authorization=Bearer ${token}`, url], {
        stdio: ['ignore', 'pipe', 'inherit']
      })
      let out = ''
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        out += c
      })
      child.on('error', reject)
      child.on('close', (code) => {
        if (code !== 0) reject(new Error(`autocannon exited with ${String(code)}`))
        else resolve(JSON.parse(out) as AutocannonResult)
      })
    })
    console.log(`load: ${connections} connections for ${duration} s from a separate autocannon process (2 cores shared with the server)`)
    console.log(
      `  requests/s: ${result.requests.average.toFixed(0)} (total ${result.requests.total}, 2xx ${result['2xx']}, non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})`
    )
    console.log(`  latency ms: p50 ${result.latency.p50}, p99 ${result.latency.p99}, mean ${result.latency.average.toFixed(1)}, max ${result.latency.max}`)
    console.log(`  throughput: ${(result.throughput.average / 2 ** 20).toFixed(1)} MiB/s`)
  } finally {
    await api?.close()
    await registry.close()
    const cleanup = new Admin({ clientId: 'bench-query-cleanup', bootstrapBrokers: brokers })
    await cleanup.deleteTopics({ topics: [...Object.values(topics), `_schemas-bench-query-${suffix}`] }).catch(() => undefined)
    await cleanup.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

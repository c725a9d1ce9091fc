/**
 * `npm run bench -- state [--updates N] [--keys N] [--restore N] [--only cached|rocksdb|restore]`:
 * state store throughput.
 *  1. cached updates/s through the whole stack (metered -> caching -> change-logging -> RocksDB),
 *     skewed keys, a flush (commit) every 100k updates; changelog records are collected (as the
 *     runtime would before producing) and dropped;
 *  2. RocksDB puts/s (one write each, and batched) and gets/s on the synchronous binding paths;
 *  3. restore records/s from a real changelog topic on the broker at KAFKA_BROKERS (default
 *     127.0.0.1:9092), into a RocksDB store.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Admin, Producer } from '@platformatic/kafka'
import { longSerde, stringSerde } from '../schemas/index.ts'
import {
  changelogTopicName,
  createChangelogCollector,
  createRestoreConsumer,
  restoreChangelog,
  sendChangelogRecords,
  Stores,
  type RestoreCallback,
  type StateStoreContext
} from '../state/index.ts'

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`)
  if (i < 0) return fallback
  const v = Number(args[i + 1])
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`--${name} needs a positive integer, got ${args[i + 1]}`)
  return v
}

function context(
  taskStateDir: string,
  logChange: StateStoreContext['logChange'],
  onRegister?: (restore: RestoreCallback) => void
): StateStoreContext & { now: number } {
  const ctx = {
    applicationId: 'bench-state',
    taskId: '0_0',
    partition: 0,
    taskStateDir,
    cacheMaxBytes: 10 * 1024 * 1024,
    now: 0,
    currentTimestampMs: () => ctx.now,
    logChange,
    register: (_store: unknown, restore: RestoreCallback) => onRegister?.(restore)
  }
  return ctx
}

/** xorshift32: cheap deterministic randomness. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 0x1_0000_0000
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')

/**
 * One run of `updates` cached updates with a flush (commit) every `flushEvery`; returns updates/s by
 * the wall clock and by the main thread's CPU time (what the run would reach without other
 * processes competing for the 2 cores; RocksDB's background threads are not in it).
 */
async function cachedRun(
  dir: string,
  updates: number,
  keys: number,
  flushEvery: number,
  readModifyWrite: boolean
): Promise<{ perSecond: number; perCpuSecond: number; changelogRecords: number; emissions: number; seconds: number }> {
  const collector = createChangelogCollector('bench-state', 0)
  const ctx = context(join(dir, `cached-${flushEvery}-${readModifyWrite}`), collector.logChange)
  const store = Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore('counts'), stringSerde, longSerde).withCachingEnabled().build()
  await store.init(ctx)
  let emissions = 0
  // Old values on: the cache then reports what the store held before each flush, as aggregations need.
  store.setFlushListener(() => {
    emissions++
  }, true)
  // 80% of updates go to 20% of the keys (hot keys), the rest spread over all keys.
  const random = rng(12345)
  const keyNames = Array.from({ length: keys }, (_, i) => `sensor-${i}|CAR`)
  const hot = Math.max(1, Math.floor(keys / 5))
  // Warm-up (JIT), not measured.
  for (let i = 0; i < 50_000; i++) store.put(keyNames[i % keys] as string, i)
  store.flush()
  collector.drain()
  emissions = 0
  let changelogRecords = 0
  const started = performance.now()
  const startedCpu = process.threadCpuUsage()
  for (let i = 1; i <= updates; i++) {
    const r = random()
    const key = keyNames[r < 0.8 ? Math.floor((r / 0.8) * hot) : Math.floor(((r - 0.8) / 0.2) * keys)] as string
    ctx.now = i
    if (readModifyWrite) store.put(key, (store.get(key) ?? 0) + 1)
    else store.put(key, i)
    if (i % flushEvery === 0) {
      store.flush()
      changelogRecords += collector.size
      collector.drain()
    }
  }
  store.flush()
  changelogRecords += collector.size
  collector.drain()
  const seconds = (performance.now() - started) / 1000
  const cpu = process.threadCpuUsage(startedCpu)
  await store.close()
  return { perSecond: updates / seconds, perCpuSecond: updates / ((cpu.user + cpu.system) / 1e6), changelogRecords, emissions, seconds }
}

async function cachedUpdates(dir: string, updates: number, keys: number): Promise<void> {
  console.log(
    `cached updates through metered -> caching -> logging -> RocksDB, ${fmt(updates)} updates over ${fmt(keys)} keys ` +
      `(80% on the hottest 20%), 10 MB cache, old values on, changelog records collected then dropped ` +
      `(in brackets: per second of main-thread CPU time, less sensitive to other load on the machine):`
  )
  for (const flushEvery of [100_000, 1_000_000]) {
    const rmw = await cachedRun(dir, updates, keys, flushEvery, true)
    const blind = await cachedRun(dir, updates, keys, flushEvery, false)
    console.log(
      `  flush every ${fmt(flushEvery)} updates: get+put ${fmt(rmw.perSecond)} updates/s [${fmt(rmw.perCpuSecond)}] ` +
        `(${fmt(rmw.changelogRecords)} changelog records, ${fmt(rmw.emissions)} emissions); put only ${fmt(blind.perSecond)} updates/s [${fmt(blind.perCpuSecond)}]`
    )
  }
}

async function rocksRaw(dir: string, n: number): Promise<void> {
  const inner = Stores.persistentKeyValueStore('raw').get(false)
  await inner.init(context(join(dir, 'raw'), () => {}))
  const keys = Array.from({ length: n }, (_, i) => Buffer.from(`key-${String(i).padStart(8, '0')}`))
  const value = Buffer.alloc(64, 7)

  let t = performance.now()
  for (let i = 0; i < n; i++) inner.put(keys[i] as Buffer, value)
  const single = n / ((performance.now() - t) / 1000)

  t = performance.now()
  const batchSize = 1000
  for (let i = 0; i < n; i += batchSize) {
    inner.writeBatch(keys.slice(i, i + batchSize).map((key) => ({ key, value, timestampMs: 0 })))
  }
  const batched = n / ((performance.now() - t) / 1000)

  const random = rng(99)
  t = performance.now()
  let found = 0
  for (let i = 0; i < n; i++) if (inner.get(keys[Math.floor(random() * n)] as Buffer) !== undefined) found++
  const gets = n / ((performance.now() - t) / 1000)

  t = performance.now()
  let scanned = 0
  for (const _ of inner.all()) scanned++
  const scan = scanned / ((performance.now() - t) / 1000)
  await inner.close()
  if (found !== n || scanned !== n) throw new Error(`RocksDB bench lost data: found ${found}, scanned ${scanned} of ${n}`)
  console.log(`RocksDB puts (one write each, 16 B keys, 64 B values): ${fmt(single)} puts/s`)
  console.log(`RocksDB puts (write batches of ${batchSize}): ${fmt(batched)} puts/s`)
  console.log(`RocksDB gets (random existing keys, MultiGet of 1): ${fmt(gets)} gets/s`)
  console.log(`RocksDB scan (all entries): ${fmt(scan)} entries/s`)
}

async function restore(dir: string, records: number): Promise<void> {
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim())
  const appId = `bench-state-${Date.now().toString(36)}`
  const topic = changelogTopicName(appId, 'restore')
  const admin = new Admin({ clientId: 'bench-state-admin', bootstrapBrokers: brokers, retries: 1, timeout: 5000 })
  try {
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1, configs: [{ name: 'cleanup.policy', value: 'compact' }] })
  } catch (err) {
    console.log(`restore: skipped, no broker at ${brokers.join(',')} (${(err as Error).message}); start one with npm run kafka -- start`)
    await admin.close().catch(() => {})
    return
  }
  const producer = new Producer({ clientId: 'bench-state-producer', bootstrapBrokers: brokers, acks: -1 })
  const consumer = createRestoreConsumer({ bootstrapBrokers: brokers, clientId: 'bench-state-restore' })
  try {
    // Fill the changelog through a logged store (distinct keys: nothing for compaction to drop).
    const collector = createChangelogCollector(appId, 0)
    const source = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('restore'), stringSerde, longSerde).build()
    await source.init({ ...context(join(dir, 'fill'), collector.logChange), applicationId: appId })
    const fillStarted = performance.now()
    for (let i = 0; i < records; i++) {
      source.put(`sensor-${i}|CAR`, i)
      if (collector.size >= 50_000) await sendChangelogRecords(producer, collector.drain(), 10_000)
    }
    await sendChangelogRecords(producer, collector.drain(), 10_000)
    await source.close()
    const fillSeconds = (performance.now() - fillStarted) / 1000

    let restoreCallback: RestoreCallback | undefined
    const target = Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore('restore'), stringSerde, longSerde).build()
    await target.init(
      context(
        join(dir, 'restore'),
        () => {},
        (cb) => {
          restoreCallback = cb
        }
      )
    )
    const result = await restoreChangelog({
      consumer,
      topic,
      partition: 0,
      restore: (batch) => restoreCallback?.(batch),
      onProgress: (p) => {
        if (!p.done)
          console.log(`  restoring: ${fmt(p.restoredRecords)} records, ${fmt(p.recordsPerSecond)} records/s, ${fmt(p.remainingOffsets)} offsets left`)
      }
    })
    const check = target.get(`sensor-${records - 1}|CAR`)
    await target.close()
    if (result.restoredRecords !== records || check !== records - 1) {
      throw new Error(`restore read ${result.restoredRecords} of ${records} records (last value ${check})`)
    }
    console.log(`changelog fill (produce, acks=all): ${fmt(records / fillSeconds)} records/s`)
    console.log(
      `restore from ${brokers.join(',')} into RocksDB: ${fmt(result.restoredRecords / (result.elapsedMs / 1000))} records/s ` +
        `(${fmt(result.restoredRecords)} records in ${(result.elapsedMs / 1000).toFixed(2)} s)`
    )
  } finally {
    await producer.close()
    await consumer.close()
    await admin.deleteTopics({ topics: [topic] }).catch(() => {})
    await admin.close()
  }
}

/** Entry point for `npm run bench -- state`. */
export async function main(args: string[]): Promise<void> {
  const updates = arg(args, 'updates', 2_000_000)
  const keys = arg(args, 'keys', 50_000)
  const restoreRecords = arg(args, 'restore', 500_000)
  const onlyAt = args.indexOf('--only')
  const only = onlyAt < 0 ? undefined : args[onlyAt + 1]
  if (only !== undefined && !['cached', 'rocksdb', 'restore'].includes(only)) throw new Error(`--only takes cached, rocksdb or restore, got ${only}`)
  const dir = mkdtempSync(join(tmpdir(), 'runnel-bench-state-'))
  console.log(`state benchmark (node ${process.version}, ${new Date().toISOString()})`)
  try {
    if (only === undefined || only === 'cached') await cachedUpdates(dir, updates, keys)
    if (only === undefined || only === 'rocksdb') await rocksRaw(dir, 200_000)
    if (only === undefined || only === 'restore') await restore(dir, restoreRecords)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * `npm run bench -- traffic [--count N] [--sensors N] [--seed N] [--commit-interval MS]`: the traffic
 * application end to end on the broker at KAFKA_BROKERS (default 127.0.0.1:9092).
 *  1. pre-produces N observations (default 1,000,000) with the simulator into a fresh topic;
 *  2. runs ONE worker process (`node apps/worker.ts traffic`) on it and measures observations/s from
 *     its first record taken (its metrics endpoint, polled every 50 ms) until the input is drained and
 *     committed (committed offsets = end offsets; outputs are flushed before offsets commit), and the
 *     worker's peak RSS (VmHWM of /proc/<pid>/status);
 *  3. reads the same input with a bare @platformatic/kafka consumer (no deserialization, no
 *     processing) and reports its rate and the worker/raw ratio.
 * A schema registry is started in-process (our registry, on a fresh `_schemas` topic) unless
 * SCHEMA_REGISTRY_URL is set. The run's topics are deleted at the end. Figures only; nothing passes
 * or fails on a number.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Admin, Consumer, ListOffsetTimestamps, MessagesStreamModes } from '@platformatic/kafka'
import { groupHasConsumed, runSimulator } from '../apps/traffic/index.ts'
import { startRegistry, type RunningRegistry } from '../registry/index.ts'

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`)
  if (i < 0) return fallback
  const v = Number(args[i + 1])
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`--${name} needs a positive integer, got ${String(args[i + 1])}`)
  return v
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
    })
  })
}

async function processedSoFar(port: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    let sum = 0
    for (const line of text.split('\n')) if (line.startsWith('runnel_records_processed_total{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
    return sum
  } catch {
    return 0
  }
}

/** Peak resident set of a process in bytes (Linux), or undefined. */
function peakRssBytes(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

/** Reads every record of `topic` once with a plain consumer stream; returns records and seconds from the first to the last. */
async function rawConsume(brokers: string[], topic: string): Promise<{ records: number; seconds: number }> {
  const consumer = new Consumer({ clientId: 'bench-traffic-raw', bootstrapBrokers: brokers, groupId: `bench-traffic-raw-${Date.now()}` })
  try {
    const ends = await consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST })
    const total = (ends.get(topic) ?? []).reduce((sum, end) => sum + Number(end), 0)
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false })
    let records = 0
    let first = 0
    for await (const _message of stream) {
      if (records === 0) first = performance.now()
      if (++records >= total) break
    }
    const seconds = (performance.now() - first) / 1000
    await stream.close()
    return { records, seconds }
  } finally {
    await consumer.close()
  }
}

export async function main(args: string[]): Promise<void> {
  const count = option(args, 'count', 1_000_000)
  const sensors = option(args, 'sensors', 20)
  const seed = option(args, 'seed', 7)
  const commitIntervalMs = option(args, 'commit-interval', 1000)
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '')
  const tag = `bench-traffic-${Date.now().toString(36)}`
  const topics = { observations: `${tag}.observations`, stats1m: `${tag}.stats.1m`, stats5m: `${tag}.stats.5m`, sessions: `${tag}.traveler-sessions` }
  const applicationId = `${tag}-app`
  const stateDir = mkdtempSync(join(tmpdir(), 'runnel-bench-traffic-'))
  let registry: RunningRegistry | undefined
  const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? (registry = await startRegistry({ port: 0, brokers, topic: `_schemas-${tag}` })).url
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`)
  }
  out(
    `traffic bench: ${fmt(count)} observations, ${sensors} sensors, 6 partitions, commit every ${commitIntervalMs} ms; ` +
      `${cpus().length} cores, node ${process.version}, brokers ${brokers.join(',')}`
  )
  try {
    // 1. Input.
    const produced = await runSimulator({
      brokers,
      registryUrl,
      topic: topics.observations,
      partitions: 6,
      generator: { seed, sensors, observations: count, startMs: Math.floor((Date.now() - 6 * 3_600_000) / 60_000) * 60_000 },
      ratePerSecond: 0,
      batchSize: 5000,
      realtime: false
    })
    out(
      `produced   ${fmt(produced.observations)} observations + ${produced.malformed} malformed in ${(produced.durationMs / 1000).toFixed(1)} s ` +
        `(${fmt(produced.observations / (produced.durationMs / 1000))}/s with kafkajs), event time ${((produced.lastTimestampMs - produced.firstTimestampMs) / 3_600_000).toFixed(1)} h`
    )

    // 2. One worker process.
    const port = await freePort()
    const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'apps', 'worker.ts'), 'traffic'], {
      env: {
        ...process.env,
        KAFKA_BROKERS: brokers.join(','),
        SCHEMA_REGISTRY_URL: registryUrl,
        APPLICATION_ID: applicationId,
        INSTANCE_ID: 'bench',
        STATE_DIR: stateDir,
        METRICS_PORT: String(port),
        COMMIT_INTERVAL_MS: String(commitIntervalMs),
        LOG_LEVEL: 'error',
        TRAFFIC_OBSERVATIONS_TOPIC: topics.observations,
        TRAFFIC_STATS_1M_TOPIC: topics.stats1m,
        TRAFFIC_STATS_5M_TOPIC: topics.stats5m,
        TRAFFIC_SESSIONS_TOPIC: topics.sessions
      },
      stdio: ['ignore', 'ignore', 'inherit']
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    let exitCode: number | null | undefined
    void exited.then((code) => {
      exitCode = code
    })
    const spawnedAt = performance.now()
    let firstAt: number | undefined
    let lastCheck = 0
    let drainedAt: number | undefined
    let peak: number | undefined
    while (drainedAt === undefined) {
      if (exitCode !== undefined) throw new Error(`the worker exited with code ${exitCode} before draining its input`)
      peak = Math.max(peak ?? 0, peakRssBytes(child.pid ?? -1) ?? 0)
      if (firstAt === undefined) {
        if ((await processedSoFar(port)) > 0) firstAt = performance.now()
        await sleep(50)
        continue
      }
      if (performance.now() - lastCheck > 250) {
        lastCheck = performance.now()
        if (await groupHasConsumed(brokers, applicationId, topics.observations)) drainedAt = performance.now()
      }
      await sleep(50)
    }
    peak = Math.max(peak ?? 0, peakRssBytes(child.pid ?? -1) ?? 0)
    child.kill('SIGTERM')
    await exited
    const seconds = (drainedAt - (firstAt as number)) / 1000
    const perSecond = count / seconds
    out(
      `worker     ${fmt(count)} observations in ${seconds.toFixed(1)} s: ${fmt(perSecond)} observations/s end to end ` +
        `(startup to first record ${(((firstAt as number) - spawnedAt) / 1000).toFixed(1)} s, not counted)`
    )
    out(`worker     peak RSS ${peak === undefined || peak === 0 ? 'unknown (no /proc)' : `${fmt(peak / 1024 / 1024)} MiB`}`)

    // 3. The same input, consumed raw.
    const raw = await rawConsume(brokers, topics.observations)
    const rawPerSecond = raw.records / raw.seconds
    out(`raw        ${fmt(raw.records)} records in ${raw.seconds.toFixed(1)} s with a bare @platformatic/kafka consumer stream: ${fmt(rawPerSecond)} records/s`)
    out(`ratio      worker / raw consume = ${(perSecond / rawPerSecond).toFixed(3)}`)
  } finally {
    await registry?.close()
    rmSync(stateDir, { recursive: true, force: true })
    await deleteTopicsOf(brokers, tag)
  }
}

/** Deletes the topics of this run (input, outputs, changelogs, dead letters, status, schemas): a 1M run leaves ~1 GB otherwise. */
async function deleteTopicsOf(brokers: string[], tag: string): Promise<void> {
  const admin = new Admin({ clientId: 'bench-traffic-cleanup', bootstrapBrokers: brokers })
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(tag) || t === `_schemas-${tag}`)
    if (mine.length > 0) await admin.deleteTopics({ topics: mine })
  } catch (err) {
    process.stderr.write(`bench traffic: could not delete the run's topics: ${(err as Error).message}\n`)
  } finally {
    await admin.close()
  }
}

/**
 * The traffic application end to end on the real broker: the simulator produces 200,000
 * observations (with out-of-order, late, duplicate and malformed records), the worker(s) run the
 * topology with KafkaStreams, and the latest value per key of the three compacted outputs is
 * compared record by record with the independent reference implementation of the contract.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Admin, ConfigResourceTypes } from '@platformatic/kafka'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  diffLatestValues, generateTrafficRecords, groupHasConsumed, readTopicToEnd, readTrafficOutputs, referenceTrafficOutputs,
  runSimulator, startTrafficWorker, type TrafficGeneratorOptions, type TrafficOutputs, type TrafficReferenceResult, type TrafficTopics
} from '../apps/traffic/index.ts'
import { startRegistry, type RunningRegistry } from '../registry/index.ts'
import { DeadLetterHeaders, SchemaRegistryClient } from '../schemas/index.ts'
import { kafkaBrokers, uniqueName } from './support/kafka.ts'

const OBSERVATIONS = 200_000
const PARTITIONS = 6

let brokers: string[]
let registry: RunningRegistry
const folders: string[] = []
/** Prefixes of the topics this file creates (deleted afterwards: each run writes ~100 MB). */
const topicPrefixes: string[] = []

beforeAll(async () => {
  brokers = kafkaBrokers()
  const schemasTopic = uniqueName('_schemas-traffic')
  topicPrefixes.push(schemasTopic)
  registry = await startRegistry({ port: 0, brokers, topic: schemasTopic })
})

afterAll(async () => {
  await registry?.close()
  for (const dir of folders) rmSync(dir, { recursive: true, force: true })
  const admin = new Admin({ clientId: 'traffic-it-cleanup', bootstrapBrokers: brokers })
  try {
    const mine = (await admin.listTopics()).filter((t) => topicPrefixes.some((p) => t.startsWith(p)))
    if (mine.length > 0) await admin.deleteTopics({ topics: mine })
  } finally {
    await admin.close()
  }
})

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'runnel-traffic-it-'))
  folders.push(dir)
  return dir
}

function deployment(prefix: string): { topics: TrafficTopics; applicationId: string } {
  const tag = uniqueName(prefix)
  topicPrefixes.push(tag)
  return {
    topics: { observations: `${tag}.observations`, stats1m: `${tag}.stats.1m`, stats5m: `${tag}.stats.5m`, sessions: `${tag}.traveler-sessions` },
    applicationId: `${tag}-app`
  }
}

/** Event time starting three hours ago on a minute: recent enough for the 7-day retention of the outputs. */
function generatorOptions(seed: number): TrafficGeneratorOptions {
  return {
    seed, sensors: 20, observations: OBSERVATIONS, startMs: Math.floor((Date.now() - 3 * 3_600_000) / 60_000) * 60_000,
    lateFraction: 0.002, malformedFraction: 0.0005, occlusionFraction: 0.05, outOfOrderFraction: 0.01, duplicateFraction: 0.002
  }
}

async function produce(topics: TrafficTopics, generator: TrafficGeneratorOptions): Promise<{ malformed: number }> {
  const result = await runSimulator({
    brokers, registryUrl: registry.url, topic: topics.observations, partitions: PARTITIONS, generator,
    ratePerSecond: 0, batchSize: 5000, realtime: false, progress: null
  })
  expect(result.observations).toBe(OBSERVATIONS)
  expect(result.malformed).toBeGreaterThan(50)
  return result
}

async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

/** Record counts of the outputs, for failure messages. */
function outputSummary(outputs: TrafficOutputs): string {
  return `${outputs.records.sessions} session records, ${outputs.sessionTombstones} tombstones`
}

/** Compares every output with the reference, naming the first differences. */
function expectOutputsEqual(expected: TrafficReferenceResult, outputs: TrafficOutputs): void {
  for (const role of ['stats1m', 'stats5m', 'sessions'] as const) {
    const diff = diffLatestValues(expected[role] as Map<string, object>, outputs[role] as Map<string, object>, 5)
    expect(diff, `${role} (${outputSummary(outputs)})`).toEqual([])
    expect(outputs[role].size, role).toBe(expected[role].size)
  }
}

/** Dead letters of the application: one per malformed record, naming the input and a serde error. */
async function expectDeadLetters(applicationId: string, topics: TrafficTopics, malformed: number): Promise<void> {
  const dead = await readTopicToEnd(brokers, `${applicationId}-dlq`)
  expect(dead).toHaveLength(malformed)
  const codes = new Set(dead.map((r) => r.headers.get(DeadLetterHeaders.ERROR_CODE)))
  expect([...codes].sort()).toEqual(['SERDE_AVRO_MAGIC_BYTE', 'SERDE_AVRO_MALFORMED', 'SERDE_AVRO_TRUNCATED'])
  expect(new Set(dead.map((r) => r.headers.get(DeadLetterHeaders.TOPIC)))).toEqual(new Set([topics.observations]))
}

function lateTotal(expected: TrafficReferenceResult): number {
  return expected.lateDrops.stats1m + expected.lateDrops.stats5m + expected.lateDrops.sessions
}

describe('traffic pipeline on the real broker', () => {
  it('one worker: the three outputs equal the reference record by record, late records are dropped and counted, malformed ones go to the DLQ', async () => {
    const { topics, applicationId } = deployment('traffic-one')
    const generator = generatorOptions(101)
    const { malformed } = await produce(topics, generator)
    const worker = await startTrafficWorker({
      brokers, registryUrl: registry.url, applicationId, instanceId: 'solo', stateDir: stateDir(), topics, commitIntervalMs: 1000,
      // Each dead letter is logged as a warning; the test checks them in the topic instead.
      logger: pino({ level: 'error' })
    })
    let status: ReturnType<typeof worker.streams.status>
    try {
      await waitUntil('the worker to consume its input', async () => {
        if (worker.streams.state === 'ERROR') throw worker.streams.error
        return groupHasConsumed(brokers, applicationId, topics.observations)
      }, 240_000)
      status = worker.streams.status()
    } finally {
      await worker.close()
    }

    const expected = referenceTrafficOutputs(generateTrafficRecords(generator), { partitions: PARTITIONS })
    // The input exercises late drops in every output and merged sessions.
    expect(expected.lateDrops.stats1m).toBeGreaterThan(100)
    expect(expected.lateDrops.sessions).toBeGreaterThan(100)
    const outputs = await readTrafficOutputs(brokers, topics, new SchemaRegistryClient({ url: registry.url }))
    expectOutputsEqual(expected, outputs)
    expect(outputs.sessionTombstones).toBeGreaterThan(0)

    const dropped = (reason: string): number => status.tasks.reduce((n, t) => n + (t.droppedRecords[reason] ?? 0), 0)
    expect(dropped('late')).toBe(lateTotal(expected))
    expect(dropped('deserialization')).toBe(malformed)
    await expectDeadLetters(applicationId, topics, malformed)
    await expectOutputTopicConfigs(topics)
  }, 360_000)

  it('three worker processes share the six tasks and give the same outputs', async () => {
    const { topics, applicationId } = deployment('traffic-three')
    const ports = await Promise.all([0, 1, 2].map(() => freePort()))
    const workers = ports.map((port, i) => startWorkerProcess({
      KAFKA_BROKERS: brokers.join(','), SCHEMA_REGISTRY_URL: registry.url, APPLICATION_ID: applicationId,
      INSTANCE_ID: `w${i + 1}`, STATE_DIR: stateDir(), METRICS_PORT: String(port), COMMIT_INTERVAL_MS: '1000', LOG_LEVEL: 'error',
      TRAFFIC_OBSERVATIONS_TOPIC: topics.observations, TRAFFIC_STATS_1M_TOPIC: topics.stats1m,
      TRAFFIC_STATS_5M_TOPIC: topics.stats5m, TRAFFIC_SESSIONS_TOPIC: topics.sessions
    }))
    const generator = generatorOptions(202)
    let malformed: number
    let metrics: Array<Map<string, number>>
    try {
      // Produce only once the group is stable with every instance running tasks: a rebalance in the
      // middle would replay uncommitted records (at-least-once) and make counts differ.
      await waitUntil('three workers running two tasks each', async () => {
        for (const w of workers) if (w.exited) throw new Error(`worker exited early (code ${w.child.exitCode}): ${w.output()}`)
        const scraped = await Promise.all(ports.map((p) => scrape(p)))
        return scraped.every((m) => m.get('runnel_tasks{phase="running"}') === 2) && await groupIsStable(applicationId, 3)
      }, 120_000)
      ;({ malformed } = await produce(topics, generator))
      await waitUntil('the workers to consume their input', async () => {
        for (const w of workers) if (w.exited) throw new Error(`worker exited early (code ${w.child.exitCode}): ${w.output()}`)
        return groupHasConsumed(brokers, applicationId, topics.observations)
      }, 300_000)
      metrics = await Promise.all(ports.map((p) => scrape(p)))
    } finally {
      await Promise.all(workers.map((w) => w.stop()))
    }
    for (const w of workers) expect(w.child.exitCode, w.output()).toBe(0)

    // Each instance processed records of its own tasks.
    for (const m of metrics) expect(sumOf(m, 'runnel_records_processed_total')).toBeGreaterThan(10_000)
    const expected = referenceTrafficOutputs(generateTrafficRecords(generator), { partitions: PARTITIONS })
    const outputs = await readTrafficOutputs(brokers, topics, new SchemaRegistryClient({ url: registry.url }))
    expectOutputsEqual(expected, outputs)
    const late = metrics.reduce((n, m) => n + sumOf(m, 'runnel_dropped_records', 'reason="late"'), 0)
    expect(late).toBe(lateTotal(expected))
    await expectDeadLetters(applicationId, topics, malformed)
  }, 420_000)
})

interface WorkerProcess {
  readonly child: ChildProcess
  exited: boolean
  output(): string
  stop(): Promise<void>
}

/** `node apps/worker.ts traffic` with `env`; `stop()` sends SIGTERM and waits for the exit. */
function startWorkerProcess(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'apps', 'worker.ts'), 'traffic'], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe']
  })
  let tail = ''
  const keep = (chunk: Buffer): void => { tail = (tail + chunk.toString()).slice(-4000) }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => { worker.exited = true; resolve() }))
  const worker: WorkerProcess = {
    child,
    exited: false,
    output: () => tail,
    stop: async () => {
      if (!worker.exited) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
      await exited
      clearTimeout(timer)
    }
  }
  return worker
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Prometheus text of a worker as `name{labels} -> value` (labels without the default ones). */
async function scrape(port: number): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  let text: string
  try {
    text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  } catch {
    return out
  }
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) continue
    const labels = (m[2] ?? '').split(',').filter((l) => l !== '' && !l.startsWith('application_id=') && !l.startsWith('instance_id=')).join(',')
    out.set(labels === '' ? (m[1] as string) : `${m[1]}{${labels}}`, Number(m[3]))
  }
  return out
}

/** Sum of the series of `name` whose labels contain `labelFilter`. */
function sumOf(metrics: Map<string, number>, name: string, labelFilter = ''): number {
  let sum = 0
  for (const [key, value] of metrics) if ((key === name || key.startsWith(`${name}{`)) && key.includes(labelFilter)) sum += value
  return sum
}

/** The worker created the outputs compacted and deleted after 7 days, with 6 partitions. */
async function expectOutputTopicConfigs(topics: TrafficTopics): Promise<void> {
  const admin = new Admin({ clientId: 'traffic-it-configs', bootstrapBrokers: brokers })
  try {
    const outputs = [topics.stats1m, topics.stats5m, topics.sessions]
    const described = await admin.describeConfigs({
      resources: outputs.map((name) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName: name, configurationKeys: ['cleanup.policy', 'retention.ms'] }))
    })
    for (const name of outputs) {
      const configs = new Map(described.find((d) => d.resourceName === name)?.configs.map((c) => [c.name, c.value]))
      expect(configs.get('cleanup.policy'), name).toBe('compact,delete')
      expect(configs.get('retention.ms'), name).toBe(String(7 * 24 * 3_600_000))
    }
    const metadata = await admin.metadata({ topics: outputs, forceUpdate: true })
    for (const name of outputs) expect(metadata.topics.get(name)?.partitionsCount, name).toBe(6)
  } finally {
    await admin.close()
  }
}

async function groupIsStable(groupId: string, members: number): Promise<boolean> {
  const admin = new Admin({ clientId: 'traffic-it-groups', bootstrapBrokers: brokers })
  try {
    const group = (await admin.describeGroups({ groups: [groupId] })).get(groupId)
    return String(group?.state).toUpperCase() === 'STABLE' && group?.members.size === members
  } finally {
    await admin.close()
  }
}

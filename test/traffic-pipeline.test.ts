/**
 * The traffic application end to end on the real broker: the simulator produces 200,000
 * observations (with out-of-order, late, duplicate and malformed records), the worker(s) run the
 * topology with KafkaStreams, and the latest value per key of the three compacted outputs is
 * compared record by record with the independent reference implementation of the contract.
 */
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  generateTrafficRecords,
  readTrafficOutputs,
  referenceTrafficOutputs,
  runSimulator,
  startTrafficWorker,
  type TrafficGeneratorOptions,
  type TrafficTopics
} from '../apps/traffic/index.ts'
import { SchemaRegistryClient } from '../schemas/index.ts'
import { kafkaBrokers } from './support/kafka.ts'
import {
  expectDeadLetters,
  expectOutputsEqual,
  expectOutputTopicConfigs,
  freePort,
  groupConsumedAll,
  groupIsStable,
  lateTotal,
  scrape,
  sumOf,
  TRAFFIC_PARTITIONS,
  trafficGenerator,
  TrafficTestEnv,
  TrafficWorkerProcess,
  waitUntil,
  WorkerPrograms,
  workerEnv
} from './support/traffic.ts'

const OBSERVATIONS = 200_000

let env: TrafficTestEnv | undefined
const processes: TrafficWorkerProcess[] = []

beforeAll(async () => {
  env = await TrafficTestEnv.start(kafkaBrokers(), 'traffic')
})

afterAll(async () => {
  await Promise.all(processes.map((w) => w.stop()))
  await env?.close()
})

function testEnv(): TrafficTestEnv {
  if (env === undefined) throw new Error('the test environment did not start')
  return env
}

async function produce(topics: TrafficTopics, generator: TrafficGeneratorOptions): Promise<{ malformed: number }> {
  const result = await runSimulator({
    brokers: testEnv().brokers,
    registryUrl: testEnv().registryUrl,
    topic: topics.observations,
    partitions: TRAFFIC_PARTITIONS,
    generator,
    ratePerSecond: 0,
    batchSize: 5000,
    realtime: false,
    progress: null
  })
  expect(result.observations).toBe(OBSERVATIONS)
  expect(result.malformed).toBeGreaterThan(50)
  return result
}

describe('traffic pipeline on the real broker', () => {
  it('one worker: the three outputs equal the reference record by record, late records are dropped and counted, malformed ones go to the DLQ', async () => {
    const { brokers, registryUrl } = testEnv()
    const { topics, applicationId } = testEnv().deployment('traffic-one')
    const generator = trafficGenerator(101, OBSERVATIONS)
    const { malformed } = await produce(topics, generator)
    const worker = await startTrafficWorker({
      brokers,
      registryUrl,
      applicationId,
      instanceId: 'solo',
      stateDir: testEnv().stateDir(),
      topics,
      commitIntervalMs: 1000,
      // Each dead letter is logged as a warning; the test checks them in the topic instead.
      logger: pino({ level: 'error' })
    })
    let status: ReturnType<typeof worker.streams.status>
    try {
      await waitUntil(
        'the worker to consume its input',
        async () => {
          if (worker.streams.state === 'ERROR') throw worker.streams.error
          return groupConsumedAll(brokers, applicationId, topics.observations)
        },
        240_000,
        500
      )
      status = worker.streams.status()
    } finally {
      await worker.close()
    }

    const expected = referenceTrafficOutputs(generateTrafficRecords(generator), { partitions: TRAFFIC_PARTITIONS })
    // The input exercises late drops in every output and merged sessions.
    expect(expected.lateDrops.stats1m).toBeGreaterThan(100)
    expect(expected.lateDrops.sessions).toBeGreaterThan(100)
    const outputs = await readTrafficOutputs(brokers, topics, new SchemaRegistryClient({ url: registryUrl }))
    expectOutputsEqual(expected, outputs)
    expect(outputs.sessionTombstones).toBeGreaterThan(0)

    const dropped = (reason: string): number => status.tasks.reduce((n, t) => n + (t.droppedRecords[reason] ?? 0), 0)
    expect(dropped('late')).toBe(lateTotal(expected))
    expect(dropped('deserialization')).toBe(malformed)
    await expectDeadLetters(brokers, applicationId, topics, malformed)
    await expectOutputTopicConfigs(brokers, topics)
  }, 360_000)

  it('three worker processes share the six tasks and give the same outputs', async () => {
    const { brokers, registryUrl } = testEnv()
    const deployment = testEnv().deployment('traffic-three')
    const { topics, applicationId } = deployment
    const ports = await Promise.all([0, 1, 2].map(() => freePort()))
    const workers = ports.map(
      (port, i) =>
        new TrafficWorkerProcess(
          `w${i + 1}`,
          WorkerPrograms.APP,
          workerEnv(testEnv(), deployment, {
            INSTANCE_ID: `w${i + 1}`,
            STATE_DIR: testEnv().stateDir(),
            METRICS_PORT: String(port),
            COMMIT_INTERVAL_MS: '1000'
          })
        )
    )
    processes.push(...workers)
    for (const w of workers) w.start()
    const generator = trafficGenerator(202, OBSERVATIONS)
    let malformed: number
    let metrics: Array<Map<string, number>>
    try {
      // Produce only once the group is stable with every instance running tasks: a rebalance in the
      // middle would replay uncommitted records (at-least-once) and make counts differ.
      await waitUntil(
        'three workers running two tasks each',
        async () => {
          for (const w of workers) w.assertAlive()
          const scraped = await Promise.all(ports.map((p) => scrape(p)))
          return scraped.every((m) => m.get('runnel_tasks{phase="running"}') === 2) && (await groupIsStable(brokers, applicationId, 3))
        },
        120_000,
        500
      )
      ;({ malformed } = await produce(topics, generator))
      await waitUntil(
        'the workers to consume their input',
        async () => {
          for (const w of workers) w.assertAlive()
          return groupConsumedAll(brokers, applicationId, topics.observations)
        },
        300_000,
        500
      )
      metrics = await Promise.all(ports.map((p) => scrape(p)))
    } finally {
      await Promise.all(workers.map((w) => w.stop()))
    }
    for (const w of workers) expect(w.exits, w.output).toEqual(['0'])

    // Each instance processed records of its own tasks.
    for (const m of metrics) expect(sumOf(m, 'runnel_records_processed_total')).toBeGreaterThan(10_000)
    const expected = referenceTrafficOutputs(generateTrafficRecords(generator), { partitions: TRAFFIC_PARTITIONS })
    const outputs = await readTrafficOutputs(brokers, topics, new SchemaRegistryClient({ url: registryUrl }))
    expectOutputsEqual(expected, outputs)
    const late = metrics.reduce((n, m) => n + sumOf(m, 'runnel_dropped_records', 'reason="late"'), 0)
    expect(late).toBe(lateTotal(expected))
    await expectDeadLetters(brokers, applicationId, topics, malformed)
  }, 420_000)
})

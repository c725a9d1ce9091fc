/**
 * A clean hand-over under at_least_once: three traffic worker processes (the production worker,
 * `apps/worker.ts traffic`, record cache off so that every update reaches the outputs) while input
 * arrives and, one at a time, a worker is stopped with SIGTERM (its streams instance
 * commits, closes its tasks and leaves the group) and started again. Nothing crashes, so nothing may
 * be processed twice: the task's new owner must start from the offsets the old owner committed last.
 * The latest value per key of every output must equal the reference exactly (no count too high).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateTrafficRecords, readTrafficOutputs, referenceTrafficOutputs } from '../apps/traffic/index.ts'
import { SchemaRegistryClient } from '../schemas/index.ts'
import { kafkaBrokers } from './support/kafka.ts'
import {
  CLOSE_WAIT_MS,
  expectDeadLetters,
  expectOutputsEqual,
  freePort,
  groupConsumedAll,
  groupIsStable,
  scrape,
  sumOf,
  TRAFFIC_PARTITIONS,
  trafficGenerator,
  TrafficInputProducer,
  TrafficTestEnv,
  TrafficWorkerProcess,
  waitUntil,
  WorkerPrograms,
  workerEnv
} from './support/traffic.ts'

/**
 * Enough input for every hand-over to find tasks mid-work (each releases a new portion of about 8,600
 * observations and waits for the victim to process 1,000 of them). More would test throughput, not
 * hand-overs: with the cache off the workers are CPU-bound (RocksDB write-through per update), and
 * on a busy 2-core machine the catch-up after the last hand-over dominated the test's time.
 */
const OBSERVATIONS = 60_000
/** Hand-overs: each is a stop (one rebalance) and a start (another). */
const HANDOVERS = 6
/** Input rate while workers come and go: `records` every `everyMs` (about 4,000 observations/s). */
const PACE = { records: 400, everyMs: 100 } as const

let env: TrafficTestEnv | undefined
const workers: TrafficWorkerProcess[] = []

beforeAll(async () => {
  env = await TrafficTestEnv.start(kafkaBrokers(), 'traffic-handover')
})

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop(30_000)))
  await env?.close()
})

describe('a clean hand-over of tasks under at_least_once', () => {
  it('never applies an input record twice: with workers stopped (SIGTERM) and restarted while input arrives, outputs equal the reference', async () => {
    const e = env as TrafficTestEnv
    const deployment = e.deployment('traffic-handover')
    const { topics, applicationId } = deployment
    await e.createTopics(deployment)
    const generator = trafficGenerator(404, OBSERVATIONS)
    const records = generateTrafficRecords(generator)
    const expected = referenceTrafficOutputs(records, { partitions: TRAFFIC_PARTITIONS })

    const ports = await Promise.all([0, 1, 2].map(() => freePort()))
    for (const [i, port] of ports.entries()) {
      workers.push(
        new TrafficWorkerProcess(
          `w${i + 1}`,
          WorkerPrograms.APP,
          workerEnv(e, deployment, {
            INSTANCE_ID: `w${i + 1}`,
            STATE_DIR: e.stateDir(),
            METRICS_PORT: String(port),
            PROCESSING_GUARANTEE: 'at_least_once',
            CACHE_MAX_BYTES: '0',
            COMMIT_INTERVAL_MS: '1000'
          })
        )
      )
    }
    /** Every worker runs tasks (its SIGTERM handler is installed once its streams instance started) and the group is stable. */
    const allRunning = async (): Promise<boolean> => {
      for (const w of workers) w.assertAlive()
      const scraped = await Promise.all(ports.map((p) => scrape(p)))
      if (!scraped.every((m) => (m.get('runnel_tasks{phase="running"}') ?? 0) > 0)) return false
      return groupIsStable(e.brokers, applicationId, workers.length)
    }
    const input = new TrafficInputProducer(e.brokers, e.registryUrl, topics.observations)
    let stops = 0
    let producing: Promise<void> | undefined
    try {
      for (const w of workers) w.start()
      await waitUntil('three workers running tasks', allRunning, 90_000)
      // Input arrives all along, paced to about what the group processes, so that every rebalance
      // finds tasks in the middle of their work: uncommitted progress and unacknowledged outputs. It
      // comes in portions, one released per hand-over, so that every hand-over has new input to
      // process however long the previous ones took (on a busy machine they take longer than the
      // input would last).
      const portion = Math.ceil(records.length / (HANDOVERS + 1))
      let released = portion
      producing = (async () => {
        for (let i = 0; i < records.length;) {
          while (i >= released) await new Promise((resolve) => setTimeout(resolve, 20))
          const started = Date.now()
          const next = Math.min(i + PACE.records, released)
          await input.send(records.slice(i, next))
          i = next
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, PACE.everyMs - (Date.now() - started))))
        }
      })()
      for (let i = 0; i < HANDOVERS; i++) {
        const victim = workers[i % workers.length] as TrafficWorkerProcess
        const port = ports[i % workers.length] as number
        const processed = async (): Promise<number> => sumOf(await scrape(port), 'runnel_records_processed_total')
        // SIGTERM once the victim is busy with new input: its last commit on close carries produced
        // records and offsets that the next owner of its tasks must wait for.
        const before = await processed()
        released = Math.min(records.length, released + portion)
        await waitUntil(`${victim.name} to process new input (hand-over ${i + 1})`, async () => (await processed()) > before + 1000, 60_000, 50)
        expect(await victim.stop(), `${victim.name} closes cleanly on SIGTERM: ${victim.output}`).toBe('0')
        stops++
        victim.start()
        await waitUntil(`${victim.name} running tasks again (hand-over ${i + 1})`, allRunning, 90_000)
      }
      released = records.length
      await producing
      expect(input.sent).toBe(records.length)
      await waitUntil(
        'the group to commit all input',
        async () => {
          for (const w of workers) w.assertAlive()
          return groupConsumedAll(e.brokers, applicationId, topics.observations)
        },
        120_000,
        500
      )
    } finally {
      await producing?.catch(() => {})
      await input.close()
      await Promise.all(workers.map((w) => w.stop(CLOSE_WAIT_MS)))
    }
    expect(stops).toBe(HANDOVERS)
    for (const w of workers) expect(w.exits.at(-1), `${w.name}: ${w.output}`).toBe('0')

    const outputs = await readTrafficOutputs(e.brokers, topics, new SchemaRegistryClient({ url: e.registryUrl }))
    expectOutputsEqual(expected, outputs)
    await expectDeadLetters(e.brokers, applicationId, topics, input.malformed)
  }, 240_000)
})

/**
 * The commerce application end to end on the real broker: the simulator writes the seed's JSON to
 * `analytics` (valid sales and ratings, some out of order or late, and a share of invalid events of
 * every kind), the worker processes run the bridge and the analytics topology, and the latest value
 * per key of the three compacted outputs must equal the independent reference implementation record
 * by record, with one dead letter on `analytics.dlq` per invalid event:
 * - one production worker process (`apps/worker.ts commerce`, at_least_once);
 * - three worker processes under exactly_once_v2, one SIGKILLed mid-run with its transaction open.
 * Both runs get the same dataset (200,000 events plus about 2% invalid ones each): about 400,000
 * events for the file, sized for a few minutes on a 2-core machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  generateCommerceRecords,
  readCommerceOutputs,
  referenceCommerceOutputs,
  type CommerceGeneratorOptions,
  type CommerceReferenceResult
} from '../apps/commerce/index.ts'
import { SchemaRegistryClient } from '../schemas/index.ts'
import {
  COMMERCE_PARTITIONS,
  commerceGenerator,
  CommerceTestEnv,
  commerceWorkerEnv,
  CommerceWorkerProcess,
  expectCommerceOutputsEqual,
  expectSeedDeadLetters,
  groupConsumedEverything,
  produceSeedJson
} from './support/commerce.ts'
import { kafkaBrokers } from './support/kafka.ts'
import { CLOSE_WAIT_MS, freePort, groupIsStable, scrape, sumOf, waitUntil, WorkerPrograms } from './support/traffic.ts'

const EVENTS = 200_000
const INVALID_FRACTION = 0.02

let env: CommerceTestEnv | undefined
const processes: CommerceWorkerProcess[] = []
let generator: CommerceGeneratorOptions
let expected: CommerceReferenceResult
let invalid = 0

beforeAll(async () => {
  env = await CommerceTestEnv.start(kafkaBrokers(), 'commerce')
  generator = commerceGenerator(404, EVENTS, INVALID_FRACTION)
  const records = generateCommerceRecords(generator)
  invalid = records.filter((r) => r.kind === 'invalid').length
  expected = referenceCommerceOutputs(records, { partitions: COMMERCE_PARTITIONS })
})

afterAll(async () => {
  await Promise.all(processes.map((w) => w.stop(30_000)))
  await env?.close()
})

function testEnv(): CommerceTestEnv {
  if (env === undefined) throw new Error('the test environment did not start')
  return env
}

describe('commerce pipeline on the real broker, seed JSON through the bridge', () => {
  it('one worker process: the three outputs equal the reference, late sales are dropped and counted, each invalid event is one dead letter', async () => {
    const e = testEnv()
    // The dataset exercises what the reference decides: late drops and invalid events of every kind.
    expect(expected.lateDrops).toBeGreaterThan(0)
    expect(invalid).toBeGreaterThan(EVENTS * INVALID_FRACTION * 0.8)
    const deployment = e.deployment('commerce-one')
    const produced = await produceSeedJson(e, deployment, generator)
    expect(produced.sold + produced.rated).toBe(EVENTS)
    expect(produced.invalid).toBe(invalid)

    const port = await freePort()
    const worker = new CommerceWorkerProcess(
      'solo',
      WorkerPrograms.APP,
      commerceWorkerEnv(e, deployment, {
        INSTANCE_ID: 'solo',
        STATE_DIR: e.stateDir(),
        METRICS_PORT: String(port)
      })
    )
    processes.push(worker)
    let metrics: Map<string, number>
    try {
      await waitUntil(
        'the worker to consume all its input',
        async () => {
          worker.assertAlive()
          return groupConsumedEverything(e.brokers, deployment)
        },
        170_000,
        1000
      )
      metrics = await scrape(port)
    } finally {
      await worker.stop()
    }
    expect(worker.exitedWith, worker.output).toBe('0')

    const outputs = await readCommerceOutputs(e.brokers, deployment.topics, new SchemaRegistryClient({ url: e.registryUrl }))
    expectCommerceOutputsEqual(expected, outputs)
    expect(sumOf(metrics, 'runnel_dropped_records', 'reason="late"')).toBe(expected.lateDrops)
    await expectSeedDeadLetters(e.brokers, deployment, invalid)
  }, 240_000)

  it('three worker processes under exactly_once_v2, one SIGKILLed mid-run: the committed outputs still equal the reference, no dead letter lost or doubled', async () => {
    const e = testEnv()
    const deployment = e.deployment('commerce-eos')
    const { applicationId } = deployment
    const workers = ['w1', 'w2', 'w3'].map(
      (id) =>
        new CommerceWorkerProcess(
          id,
          WorkerPrograms.FIXTURE,
          commerceWorkerEnv(e, deployment, {
            INSTANCE_ID: id,
            STATE_DIR: e.stateDir(),
            PROCESSING_GUARANTEE: 'exactly_once_v2',
            COMMIT_INTERVAL_MS: '1000',
            SESSION_TIMEOUT_MS: '3000',
            HEARTBEAT_INTERVAL_MS: '500'
          })
        )
    )
    processes.push(...workers)
    const [w1, w2, w3] = workers as [CommerceWorkerProcess, CommerceWorkerProcess, CommerceWorkerProcess]
    const sharing = async (group: readonly CommerceWorkerProcess[]): Promise<boolean> => {
      for (const w of group) w.assertAlive()
      return group.every((w) => w.runningTasks.length > 0) && groupIsStable(e.brokers, applicationId, group.length)
    }
    try {
      // The input arrives once the three share the tasks, so the kill lands in the middle of the run.
      await waitUntil('three workers sharing the tasks', () => sharing(workers), 90_000, 500)
      const producing = produceSeedJson(e, deployment, generator, 20_000)
      await waitUntil(
        'w2 to process records',
        () => {
          for (const w of workers) w.assertAlive()
          return w2.processed > 5000
        },
        60_000,
        100
      )
      expect(await groupConsumedEverything(e.brokers, deployment), 'the input was consumed before the kill').toBe(false)
      await w2.kill()
      const produced = await producing
      expect(produced.sold + produced.rated).toBe(EVENTS)
      expect(produced.invalid).toBe(invalid)
      await waitUntil('w1 and w3 to take over the tasks of w2', () => sharing([w1, w3]), 60_000, 500)
      await waitUntil(
        'the remaining workers to consume all input',
        async () => {
          for (const w of [w1, w3]) w.assertAlive()
          return groupConsumedEverything(e.brokers, deployment)
        },
        170_000,
        1000
      )
    } finally {
      await Promise.all([w1.stop(CLOSE_WAIT_MS), w3.stop(CLOSE_WAIT_MS)])
    }
    expect(w1.exitedWith, w1.output).toBe('0')
    expect(w3.exitedWith, w3.output).toBe('0')
    expect(w2.exitedWith).toBe('SIGKILL')

    // read_committed: what the killed worker wrote in its open transaction is not there.
    const outputs = await readCommerceOutputs(e.brokers, deployment.topics, new SchemaRegistryClient({ url: e.registryUrl }))
    expectCommerceOutputsEqual(expected, outputs)
    await expectSeedDeadLetters(e.brokers, deployment, invalid)
  }, 300_000)
})

/**
 * The traffic application under exactly_once_v2 while its group changes under it: a deterministic
 * dataset is produced in slices while one worker process starts, the group scales to three, a
 * worker is SIGKILLed and replaced (twice: once restarted with its instance id and state folder, once
 * by a new instance on an empty folder) and one is stalled past the session timeout (SIGSTOP, then
 * SIGCONT: a zombie that still holds an open transaction). Whatever moved, the committed outputs
 * (read_committed) must equal the reference record by record: no update lost, none applied twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateTrafficRecords, readTrafficOutputs, referenceTrafficOutputs, type GeneratedRecord } from '../apps/traffic/index.ts'
import type { InstanceStatus } from '../runtime/index.ts'
import { SchemaRegistryClient } from '../schemas/index.ts'
import { kafkaBrokers } from './support/kafka.ts'
import {
  CLOSE_WAIT_MS,
  expectDeadLetters,
  expectOutputsEqual,
  groupConsumedAll,
  groupIsStable,
  lateTotal,
  TRAFFIC_PARTITIONS,
  trafficGenerator,
  TrafficInputProducer,
  TrafficTestEnv,
  TrafficWorkerProcess,
  waitUntil,
  WorkerPrograms,
  workerEnv
} from './support/traffic.ts'

const OBSERVATIONS = 100_000
const SLICES = 8
const SESSION_TIMEOUT_MS = 3000

let env: TrafficTestEnv | undefined
const workers: TrafficWorkerProcess[] = []

beforeAll(async () => {
  env = await TrafficTestEnv.start(kafkaBrokers(), 'traffic-eos')
})

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop(30_000)))
  await env?.close()
})

/** Late drops counted by the running instances' tasks, and the generation each instance owns them under. */
function lateDropsNow(running: readonly TrafficWorkerProcess[]): { late: number; generations: string } {
  let late = 0
  const generations: string[] = []
  for (const w of running) {
    const status = w.status as InstanceStatus
    for (const t of status.tasks) late += t.droppedRecords.late ?? 0
    generations.push(`${w.name}:${status.memberId}@${status.generationId}`)
  }
  return { late, generations: generations.join(' ') }
}

describe('the traffic application under exactly_once_v2 with worker processes', () => {
  it('gives outputs equal to the reference while workers scale out, are SIGKILLed and replaced, and one stalls into a zombie', async () => {
    const e = env as TrafficTestEnv
    const deployment = e.deployment('traffic-eos')
    const { topics, applicationId } = deployment
    await e.createTopics(deployment)
    const generator = trafficGenerator(303, OBSERVATIONS)
    const records = generateTrafficRecords(generator)
    const sliceSize = Math.ceil(records.length / SLICES)
    const slices: GeneratedRecord[][] = []
    for (let i = 0; i < records.length; i += sliceSize) slices.push(records.slice(i, i + sliceSize))
    const finalSliceStart = sliceSize * (slices.length - 1)
    const expected = referenceTrafficOutputs(records, { partitions: TRAFFIC_PARTITIONS })
    // Late drops depend only on what came before in each partition: the prefix gives the drops before the last slice.
    const expectedBeforeLast = referenceTrafficOutputs(records.slice(0, finalSliceStart), { partitions: TRAFFIC_PARTITIONS })
    const lateInLastSlice = lateTotal(expected) - lateTotal(expectedBeforeLast)
    expect(lateInLastSlice).toBeGreaterThan(0)

    const worker = (id: string): TrafficWorkerProcess => {
      const w = new TrafficWorkerProcess(
        id,
        WorkerPrograms.FIXTURE,
        workerEnv(e, deployment, {
          INSTANCE_ID: id,
          STATE_DIR: e.stateDir(),
          PROCESSING_GUARANTEE: 'exactly_once_v2',
          COMMIT_INTERVAL_MS: '200',
          SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
          HEARTBEAT_INTERVAL_MS: '500'
        })
      )
      workers.push(w)
      return w
    }
    const alive = (): TrafficWorkerProcess[] => workers.filter((w) => w.running)
    const checkAlive = (group: readonly TrafficWorkerProcess[]): void => {
      for (const w of group) w.assertAlive()
    }
    /** The group is stable with exactly `group` as members and each of them runs tasks, together all six. */
    const settledOn = async (group: readonly TrafficWorkerProcess[]): Promise<boolean> => {
      checkAlive(group)
      const tasks = group.map((w) => w.runningTasks)
      if (tasks.some((t) => t.length === 0) || new Set(tasks.flat()).size !== TRAFFIC_PARTITIONS) return false
      return groupIsStable(e.brokers, applicationId, group.length)
    }
    const input = new TrafficInputProducer(e.brokers, e.registryUrl, topics.observations)
    try {
      const w1 = worker('w1')
      w1.start()
      await waitUntil('w1 to run the six tasks', () => settledOn([w1]), 60_000)
      await input.send(slices[0] ?? [])

      // Scale out to three while w1 processes the first slice.
      const w2 = worker('w2')
      const w3 = worker('w3')
      w2.start()
      w3.start()
      await input.send(slices[1] ?? [])
      await waitUntil('three workers sharing the tasks', () => settledOn([w1, w2, w3]), 90_000)

      // SIGKILL w2 mid-slice; restart it with its instance id (fencing its open transaction) and state folder.
      const sending = input.send(slices[2] ?? [])
      await waitUntil('w2 to process records of the third slice', () => (w2.status?.recordsProcessedTotal ?? 0) > 0, 30_000)
      await w2.kill()
      await sending
      await waitUntil('w1 and w3 to take over the tasks of w2', () => settledOn([w1, w3]), 60_000)
      w2.start()
      await input.send(slices[3] ?? [])
      await waitUntil('w2 back in the group', () => settledOn([w1, w2, w3]), 90_000)

      // SIGKILL w3 mid-slice and replace it at once by a new instance on an empty folder: its open
      // transaction stays open until the transaction timeout.
      await input.send(slices[4] ?? [])
      await w3.kill()
      const w4 = worker('w4')
      w4.start()
      await input.send(slices[5] ?? [])
      await waitUntil('w4 replacing w3', () => settledOn([w1, w2, w4]), 90_000)

      // Stall w1 past the session timeout mid-slice: the group moves its tasks; resumed, it is a zombie
      // whose transaction must be refused before it rejoins.
      const stalling = input.send(slices[6] ?? [])
      w1.pause()
      try {
        await waitUntil('w2 and w4 to take over the tasks of the stalled w1', () => settledOn([w2, w4]), 60_000)
      } finally {
        w1.resume()
      }
      await stalling
      await waitUntil('the zombie w1 back in the group', () => settledOn([w1, w2, w4]), 90_000)
      await waitUntil(
        'the group to commit all input before the last slice',
        async () => {
          checkAlive([w1, w2, w4])
          return groupConsumedAll(e.brokers, applicationId, topics.observations)
        },
        120_000,
        500
      )

      // The last slice goes to a stable group: its late drops are counted by tasks that neither move nor restart.
      const before = lateDropsNow([w1, w2, w4])
      await input.send(slices[7] ?? [])
      expect(input.sent).toBe(records.length)
      await waitUntil(
        'the group to commit all input',
        async () => {
          checkAlive([w1, w2, w4])
          return groupConsumedAll(e.brokers, applicationId, topics.observations)
        },
        120_000,
        500
      )
      // Status lines come every 200 ms: wait for one taken after the commit.
      const committedAt = Date.now()
      await waitUntil('status lines after the last commit', () => [w1, w2, w4].every((w) => (w.status?.updatedAtMs ?? 0) > committedAt), 10_000, 100)
      const after = lateDropsNow([w1, w2, w4])
      expect(after.generations, 'the group rebalanced during the last slice').toBe(before.generations)
      expect(after.late - before.late, 'late drops of the last slice').toBe(lateInLastSlice)
    } finally {
      await input.close()
      await Promise.all(alive().map((w) => w.stop(CLOSE_WAIT_MS)))
    }
    for (const w of workers) expect(w.exits.at(-1), `${w.name}: ${w.output}`).toBe(w.name === 'w3' ? 'SIGKILL' : '0')

    const outputs = await readTrafficOutputs(e.brokers, topics, new SchemaRegistryClient({ url: e.registryUrl }))
    expectOutputsEqual(expected, outputs)
    expect(outputs.sessionTombstones).toBeGreaterThan(0)
    await expectDeadLetters(e.brokers, applicationId, topics, input.malformed)
  }, 240_000)
})

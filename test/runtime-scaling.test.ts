/**
 * Scaling on the real broker. The same windowed count run by one instance and by three instances
 * (in this process) gives identical results, equal to a plain loop; an instance added mid-run takes
 * tasks over (sticky: the others keep the rest) without losing or reprocessing committed work.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { KafkaStreams, type StreamsConfig } from '../runtime/index.ts'
import { createTopics, kafkaBrokers, uniqueName } from './support/kafka.ts'
import { diffCounts, produceEvents, readLatestCounts, waitFor } from './fixtures/runtime-helpers.ts'
import { expectedCounts, makeEvents, windowedCountTopology } from './fixtures/windowed-count.ts'
import { groupCaughtUp, Worker } from './fixtures/workers.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const cleanups: Array<() => Promise<void> | void> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'runnel-rt-scale-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Runs the windowed count with `instances` in-process instances until the input is processed and committed. */
async function runInProcess(
  brokers: string[],
  input: string,
  instances: number,
  extra: Partial<StreamsConfig> = {}
): Promise<{ output: string; streams: KafkaStreams[] }> {
  const appId = uniqueName(`rt-scale-${instances}`)
  const output = `${appId}-out`
  await createTopics(brokers, [{ name: output, partitions: 3, configs: { 'cleanup.policy': 'compact' } }])
  const stateDir = tempDir()
  const streams = Array.from(
    { length: instances },
    (_, i) =>
      new KafkaStreams(windowedCountTopology(input, output), {
        applicationId: appId,
        bootstrapServers: brokers,
        instanceId: `i${i}`,
        stateDir: join(stateDir, `i${i}`),
        commitIntervalMs: 200,
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 500,
        statusIntervalMs: 0,
        logger: pino({ level: 'warn' }),
        ...(i === 0 ? extra : {})
      })
  )
  cleanups.push(async () => {
    await Promise.all(streams.map((s) => s.close()))
  })
  await Promise.all(streams.map((s) => s.start()))
  await waitFor(
    'every task running',
    () =>
      new Set(
        streams.flatMap((s) =>
          s
            .status()
            .tasks.filter((t) => t.phase === 'running')
            .map((t) => t.id)
        )
      ).size === 12,
    60_000
  )
  await waitFor('the input and repartition topics fully committed', () => groupCaughtUp(brokers, appId, [input, `${appId}-by-group-repartition`]), 90_000, 500)
  return { output, streams }
}

describe('scaling a windowed count', () => {
  it('gives identical results with one instance and with three, equal to a plain-loop count', async () => {
    const brokers = kafkaBrokers()
    const input = uniqueName('rt-scale-in')
    await createTopics(brokers, [{ name: input, partitions: 6 }])
    const events = makeEvents(6000)
    await produceEvents(brokers, input, 6, events)
    const expected = expectedCounts(events)

    const metricsPort = await freePort()
    const one = await runInProcess(brokers, input, 1, { metricsPort })
    expect(one.streams[0]?.status().tasks.map((t) => t.id)).toHaveLength(12)
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
    expect(metrics).toMatch(/runnel_records_processed_total\{task="1_\d",application_id="rt-scale-1-[^"]+",instance_id="i0"\} \d+/)
    expect(metrics).toContain('runnel_commit_latency_seconds_bucket')
    expect(metrics).toMatch(/runnel_consumer_lag_records\{topic="[^"]+",partition="\d"[^}]*\} 0/)
    expect(metrics).toMatch(/runnel_dropped_records\{task="1_0",reason="late"[^}]*\} 0/)
    expect(metrics).toMatch(/runnel_instance_state\{state="RUNNING"[^}]*\} 1/)
    const processed = [...metrics.matchAll(/runnel_records_processed_total\{task="(\d_\d)"[^}]*\} (\d+)/g)]
    expect(processed.filter(([, task]) => task?.startsWith('0_')).reduce((n, m) => n + Number(m[2]), 0)).toBe(6000)

    const three = await runInProcess(brokers, input, 3)
    const owned = three.streams.map((s) => s.status().tasks.map((t) => t.id))
    expect(owned.every((tasks) => tasks.length === 4)).toBe(true)
    expect(new Set(owned.flat()).size).toBe(12)

    const resultOne = await readLatestCounts(brokers, one.output)
    const resultThree = await readLatestCounts(brokers, three.output)
    expect(diffCounts(expected, resultOne)).toEqual([])
    expect(diffCounts(expected, resultThree)).toEqual([])
  }, 180_000)

  it('moves tasks to an instance added mid-run without losing or reprocessing committed work (exactly_once_v2)', async () => {
    const brokers = kafkaBrokers()
    const appId = uniqueName('rt-scale-out')
    const input = `${appId}-in`
    const output = `${appId}-out`
    await createTopics(brokers, [
      { name: input, partitions: 6 },
      { name: output, partitions: 3, configs: { 'cleanup.policy': 'compact' } }
    ])
    const stateRoot = tempDir()
    const workers = ['a', 'b', 'c'].map(
      (id) => new Worker({ brokers, appId, instanceId: id, stateDir: join(stateRoot, id), guarantee: 'exactly_once_v2', input, output })
    )
    cleanups.push(async () => {
      await Promise.all(workers.map((w) => w.stop()))
    })
    const [a, b, c] = workers as [Worker, Worker, Worker]
    a.start()
    b.start()
    await waitFor('two instances sharing the 12 tasks', () => a.runningTasks.length + b.runningTasks.length === 12 && a.runningTasks.length === 6, 60_000)

    const events = makeEvents(12_000)
    const producing = (async () => {
      for (let i = 0; i < events.length; i += 600) {
        await produceEvents(brokers, input, 6, events.slice(i, i + 600))
        await sleep(400)
      }
    })()
    await sleep(3000)
    const before = { a: [...a.runningTasks], b: [...b.runningTasks] }
    c.start()
    await waitFor(
      'the new instance to run its share of the tasks',
      () => c.runningTasks.length === 4 && a.runningTasks.length === 4 && b.runningTasks.length === 4,
      60_000
    )
    // Sticky: the instances that were there keep tasks they had; the new one takes the rest.
    for (const task of a.runningTasks) expect(before.a).toContain(task)
    for (const task of b.runningTasks) expect(before.b).toContain(task)
    expect(c.status?.partitions.every((p) => p.committedOffset >= 0)).toBe(true)
    await producing
    await waitFor(
      'the group to commit every input and repartition record',
      () => groupCaughtUp(brokers, appId, [input, `${appId}-by-group-repartition`]),
      90_000,
      500
    )
    expect((c.status?.tasks ?? []).reduce((n, t) => n + t.recordsProcessed, 0)).toBeGreaterThan(0)
    expect(diffCounts(expectedCounts(events), await readLatestCounts(brokers, output))).toEqual([])
  }, 180_000)
})

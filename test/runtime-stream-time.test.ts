/**
 * Stream time survives a task move: it is committed with the input offsets (commit metadata, as
 * Kafka Streams does) and resumed by the next owner, so a window closed before the move stays
 * closed after it, and a late record is dropped by the new owner as it would have been by the old.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { KafkaStreams } from '../runtime/index.ts'
import { longSerde, stringSerde } from '../schemas/index.ts'
import { StreamsBuilder, TimeWindows } from '../topology/index.ts'
import { createTopics, kafkaBrokers, uniqueName } from './support/kafka.ts'
import { produceEvents, readLatestCounts, waitFor } from './fixtures/runtime-helpers.ts'
import { groupCaughtUp } from './fixtures/workers.ts'

const cleanups: Array<() => Promise<unknown> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const WINDOW_MS = 10_000
const GRACE_MS = 5_000

describe('a window closed before a task moves', () => {
  for (const guarantee of ['at_least_once', 'exactly_once_v2'] as const) {
    it(`${guarantee}: stays closed on the instance that takes the task over (its late record is dropped there)`, async () => {
      const brokers = kafkaBrokers()
      const appId = uniqueName(`rt-stime-${guarantee === 'exactly_once_v2' ? 'eos' : 'alos'}`)
      const input = `${appId}-in`
      const output = `${appId}-out`
      await createTopics(brokers, [
        { name: input, partitions: 1 },
        { name: output, partitions: 1, configs: { 'cleanup.policy': 'compact' } }
      ])
      const instance = (instanceId: string): KafkaStreams => {
        const builder = new StreamsBuilder()
        builder
          .stream(input, { keySerde: stringSerde, valueSerde: stringSerde })
          .groupByKey()
          .windowedBy(TimeWindows.ofSizeAndGrace(WINDOW_MS, GRACE_MS))
          .count({ storeName: 'counts' })
          .toStream()
          .map((windowed, count) => ({ key: `${windowed.key}@${windowed.window.startMs}`, value: count ?? 0 }))
          .to(output, { keySerde: stringSerde, valueSerde: longSerde })
        // Each instance has its own state folder: the new owner restores from the changelog.
        const stateDir = mkdtempSync(join(tmpdir(), `runnel-rt-stime-${instanceId}-`))
        const streams = new KafkaStreams(builder.build(), {
          applicationId: appId,
          bootstrapServers: brokers,
          instanceId,
          stateDir,
          processingGuarantee: guarantee,
          commitIntervalMs: 200,
          sessionTimeoutMs: 6000,
          heartbeatIntervalMs: 500,
          statusIntervalMs: 0,
          logger: pino({ level: 'silent' })
        })
        cleanups.push(async () => {
          await streams.close()
          rmSync(stateDir, { recursive: true, force: true })
        })
        return streams
      }
      const t0 = Math.floor((Date.now() - 3_600_000) / WINDOW_MS) * WINDOW_MS
      const event = (offsetMs: number): { key: string; value: Buffer; timestampMs: number } => ({
        key: 'k',
        value: Buffer.from('x'),
        timestampMs: t0 + offsetMs
      })
      const first = instance('a')
      await first.start()
      await waitFor('the first instance to run the task', () => first.status().tasks.some((t) => t.phase === 'running'), 30_000)
      const second = instance('b')
      await second.start()
      // Two records in [t0, t0+10s), then one at t0+30s: stream time passes the window's end + grace.
      await produceEvents(brokers, input, 1, [event(1_000), event(2_000), event(30_000)])
      await waitFor('the first instance to commit the three records', () => groupCaughtUp(brokers, appId, [input]), 60_000, 200)
      expect((await readLatestCounts(brokers, output)).get(`k@${t0}`)).toBe(2)
      expect(second.status().tasks).toEqual([])

      await first.close()
      await waitFor('the task to move to the second instance', () => second.status().tasks.some((t) => t.phase === 'running'), 60_000)
      expect(second.status().tasks[0]?.streamTimeMs).toBe(t0 + 30_000)
      await produceEvents(brokers, input, 1, [event(3_000)])
      await waitFor('the second instance to commit the late record', () => groupCaughtUp(brokers, appId, [input]), 60_000, 200)
      expect((await readLatestCounts(brokers, output)).get(`k@${t0}`)).toBe(2)
      expect(second.status().tasks[0]?.droppedRecords).toMatchObject({ late: 1 })
    })
  }
})

/**
 * State stores against the real broker: changelog records produced to compacted topics, the local
 * folder deleted, the stores restored from the changelog and compared key for key; and a restore
 * from a checkpoint that must read only the tail written after it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Producer } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { longSerde, stringSerde } from '../schemas/index.ts'
import {
  changelogOffsets,
  changelogTopicName,
  createChangelogCollector,
  createRestoreConsumer,
  openTaskState,
  restoreChangelog,
  sendChangelogRecords,
  Stores,
  writeCheckpoint,
  type RestoreCallback,
  type RestoreProgress,
  type StateStore,
  type StateStoreContext
} from '../state/index.ts'
import { createTopics, kafkaBrokers, uniqueName } from './support/kafka.ts'

const PARTITION = 1
const TASK = `0_${PARTITION}`

let brokers: string[]
let appId: string
let folder: string
let producer: Producer<Buffer, Buffer, Buffer, Buffer>
let consumer: ReturnType<typeof createRestoreConsumer>

beforeAll(async () => {
  brokers = kafkaBrokers()
  appId = uniqueName('state-it')
  folder = mkdtempSync(join(tmpdir(), 'runnel-state-it-'))
  await createTopics(
    brokers,
    ['counts', 'tail', 'win', 'txn'].map((store) => ({
      name: changelogTopicName(appId, store),
      partitions: 2,
      configs: { 'cleanup.policy': 'compact' }
    }))
  )
  producer = new Producer({ clientId: 'state-it-producer', bootstrapBrokers: brokers, acks: -1 })
  consumer = createRestoreConsumer({ bootstrapBrokers: brokers, clientId: 'state-it-restore' })
})

afterAll(async () => {
  await producer?.close()
  await consumer?.close()
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true })
})

type TestContext = StateStoreContext & {
  restorers: Map<string, { store: StateStore; restore: RestoreCallback }>
  setTimeMs(ms: number): void
}

/** What the runtime gives a task's stores: here the changelog goes to `logChange` (a collector). */
function taskContext(taskDir: string, logChange: StateStoreContext['logChange'] = () => {}): TestContext {
  let now = 0
  const restorers = new Map<string, { store: StateStore; restore: RestoreCallback }>()
  return {
    applicationId: appId,
    taskId: TASK,
    partition: PARTITION,
    taskStateDir: taskDir,
    cacheMaxBytes: 1 << 20,
    currentTimestampMs: () => now,
    setTimeMs: (ms) => {
      now = ms
    },
    logChange,
    register: (store, restore) => {
      restorers.set(store.name, { store, restore })
    },
    restorers
  }
}

function counter(store: string, caching = true) {
  const builder = Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(store), stringSerde, longSerde)
  return caching ? builder.withCachingEnabled().build() : builder.build()
}

describe('restoring state stores from real changelog topics', () => {
  it('restores 100k updates after the local folder is deleted, and every key matches', async () => {
    const taskDir = join(folder, appId, TASK)
    const topic = changelogTopicName(appId, 'counts')
    const expected = new Map<string, number>()

    const state = await openTaskState({ taskStateDir: taskDir, applicationId: appId, taskId: TASK, persistentStoreNames: ['counts'] })
    const sink = createChangelogCollector(appId, PARTITION)
    const context = taskContext(taskDir, sink.logChange)
    const store = counter('counts')
    await store.init(context)
    let produced = 0
    let x = 7
    for (let i = 1; i <= 100_000; i++) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      x >>>= 0
      const key = `key-${x % 30_000}`
      context.setTimeMs(1_700_000_000_000 + i)
      if (i % 17 === 0) {
        store.delete(key)
        expected.delete(key)
      } else {
        store.put(key, i)
        expected.set(key, i)
      }
      if (i % 10_000 === 0) {
        store.flush()
        produced += sink.size
        await sendChangelogRecords(producer, sink.drain())
      }
    }
    await store.close()
    await state.close()
    // The cache absorbed repeated updates between flushes: fewer records than updates.
    expect(produced).toBeLessThan(100_000)
    expect(produced).toBeGreaterThan(30_000)

    rmSync(taskDir, { recursive: true, force: true })

    const reopened = await openTaskState({ taskStateDir: taskDir, applicationId: appId, taskId: TASK, persistentStoreNames: ['counts'] })
    expect(reopened.checkpoint).toEqual([])
    const context2 = taskContext(taskDir)
    const restoredStore = counter('counts')
    await restoredStore.init(context2)
    const target = context2.restorers.get('counts')
    expect(target?.store).toBe(restoredStore)
    const progress: RestoreProgress[] = []
    const result = await restoreChangelog({
      consumer,
      topic,
      partition: PARTITION,
      fromOffset: 0,
      restore: (records) => target?.restore(records),
      onProgress: (p) => progress.push(p)
    })
    expect(result.startOffset).toBe(0)
    expect(result.restoredRecords).toBeLessThanOrEqual(produced)
    expect(result.restoredRecords).toBeGreaterThan(0)
    expect(progress.at(-1)).toMatchObject({ done: true, remainingOffsets: 0, restoredRecords: result.restoredRecords })

    for (const [key, value] of expected) expect(restoredStore.get(key)).toBe(value)
    const all = [...restoredStore.all()]
    expect(all).toHaveLength(expected.size)
    for (const { key } of all) expect(expected.has(key)).toBe(true)
    await restoredStore.close()
    await reopened.close()
  })

  it('restores only the tail written after the checkpoint', async () => {
    const taskDir = join(folder, appId, `${TASK}-tail`)
    const topic = changelogTopicName(appId, 'tail')
    const expected = new Map<string, number>()

    // First run: 20k updates, flushed and produced, then the checkpoint at the changelog end.
    const state = await openTaskState({ taskStateDir: taskDir, applicationId: appId, taskId: TASK, persistentStoreNames: ['tail'] })
    const sink = createChangelogCollector(appId, PARTITION)
    const context = taskContext(taskDir, sink.logChange)
    const store = counter('tail')
    await store.init(context)
    for (let i = 0; i < 20_000; i++) {
      store.put(`k${i % 5000}`, i)
      expected.set(`k${i % 5000}`, i)
    }
    store.flush()
    await sendChangelogRecords(producer, sink.drain())
    await store.close()
    const { end: checkpointOffset } = await changelogOffsets(consumer, topic, PARTITION)
    writeCheckpoint(taskDir, [{ topic, partition: PARTITION, offset: checkpointOffset }])
    await state.close()

    // Meanwhile another instance owned the task and wrote 1,500 more changes (uncached: one record each).
    const otherDir = join(folder, 'other-instance', TASK)
    const otherSink = createChangelogCollector(appId, PARTITION)
    const other = counter('tail', false)
    await other.init(taskContext(otherDir, otherSink.logChange))
    for (let i = 0; i < 1500; i++) {
      const key = i % 3 === 0 ? `k${i}` : `new${i}`
      other.put(key, 1_000_000 + i)
      expected.set(key, 1_000_000 + i)
    }
    await other.close()
    expect(otherSink.size).toBe(1500)
    await sendChangelogRecords(producer, otherSink.drain())

    // Back on the first folder: the checkpoint says where the local state ends.
    const reopened = await openTaskState({ taskStateDir: taskDir, applicationId: appId, taskId: TASK, persistentStoreNames: ['tail'] })
    expect(reopened.wipedReason).toBeUndefined()
    expect(reopened.checkpoint).toEqual([{ topic, partition: PARTITION, offset: checkpointOffset }])
    const context2 = taskContext(taskDir)
    const restoredStore = counter('tail')
    await restoredStore.init(context2)
    let applied = 0
    const result = await restoreChangelog({
      consumer,
      topic,
      partition: PARTITION,
      fromOffset: reopened.checkpoint[0]?.offset ?? 0,
      restore: (records) => {
        applied += records.length
        context2.restorers.get('tail')?.restore(records)
      }
    })
    expect(result.startOffset).toBe(checkpointOffset)
    expect(result.restoredRecords).toBe(1500)
    expect(applied).toBe(1500)
    expect(result.nextOffset).toBe(checkpointOffset + 1500)
    for (const [key, value] of expected) expect(restoredStore.get(key)).toBe(value)
    expect([...restoredStore.all()]).toHaveLength(expected.size)
    await restoredStore.close()
    await reopened.close()
  })

  it('restores a window store from its changelog with every window intact', async () => {
    const topic = changelogTopicName(appId, 'win')
    const sink = createChangelogCollector(appId, PARTITION)
    const options = { retentionMs: 3_600_000, windowSizeMs: 60_000 }
    const build = () => Stores.windowStoreBuilder(Stores.persistentWindowStore('win', options), stringSerde, longSerde).withCachingEnabled().build()
    const source = build()
    await source.init(taskContext(join(folder, 'win-a'), sink.logChange))
    for (let i = 0; i < 20_000; i++) source.put(`sensor-${i % 40}`, i, Math.floor(i / 400) * 60_000)
    source.flush()
    await sendChangelogRecords(producer, sink.drain())

    const context2 = taskContext(join(folder, 'win-b'))
    const target = build()
    await target.init(context2)
    await restoreChangelog({ consumer, topic, partition: PARTITION, restore: (records) => context2.restorers.get('win')?.restore(records) })
    const restored = [...target.all()]
    expect(restored).toHaveLength(40 * 50)
    expect(restored).toEqual([...source.all()])
    await source.close()
    await target.close()
  })

  it('skips records of aborted transactions and stops at the last stable offset', async () => {
    const topic = changelogTopicName(appId, 'txn')
    const txProducer = new Producer({
      clientId: 'state-it-tx',
      bootstrapBrokers: brokers,
      idempotent: true,
      transactionalId: uniqueName('state-it-tx'),
      acks: -1
    })
    const record = (key: string, value: string | null) => ({
      topic,
      partition: PARTITION,
      key: Buffer.from(key),
      value: (value === null ? null : Buffer.from(value)) as Buffer
    })
    try {
      const committed = await txProducer.beginTransaction()
      await committed.send({ messages: [record('a', '1'), record('b', '1'), record('c', '1')] })
      await committed.commit()
      const aborted = await txProducer.beginTransaction()
      await aborted.send({ messages: [record('a', 'aborted'), record('d', 'aborted'), record('b', null)] })
      await aborted.abort()
      const second = await txProducer.beginTransaction()
      await second.send({ messages: [record('c', '2'), record('b', null)] })
      await second.commit()
    } finally {
      await txProducer.close()
    }
    const restored: Array<[string, string | null]> = []
    const result = await restoreChangelog({
      consumer,
      topic,
      partition: PARTITION,
      restore: (records) => {
        for (const r of records) restored.push([r.key.toString(), r.value?.toString() ?? null])
      }
    })
    expect(restored).toEqual([
      ['a', '1'],
      ['b', '1'],
      ['c', '1'],
      ['c', '2'],
      ['b', null]
    ])
    expect(result.restoredRecords).toBe(5)
  })
})

import { NetworkError, ResponseError, type ClusterMetadata, type RecordsBatch } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { oneTopicMetadata } from '../kafka/index.ts'
import { restoreChangelog, type RestoreConsumer } from './changelog-reader.ts'
import type { StateStoreError } from './errors.ts'

function batch(firstOffset: number, producerId: number, attributes: number, values: Array<string | null>): RecordsBatch {
  return {
    firstOffset: BigInt(firstOffset),
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes,
    lastOffsetDelta: Math.max(0, values.length - 1),
    firstTimestamp: 0n,
    maxTimestamp: 0n,
    producerId: BigInt(producerId),
    producerEpoch: 0,
    firstSequence: 0,
    records: values.map((v, i) => ({
      length: 0,
      attributes: 0,
      timestampDelta: 0n,
      offsetDelta: i,
      key: Buffer.from(`k${firstOffset + i}`),
      value: v === null ? null : Buffer.from(v),
      headers: []
    }))
  }
}

const text = (records: ReadonlyArray<{ key: Buffer; value: Buffer | null }>): string[] => records.map((r) => `${r.key}=${r.value?.toString() ?? 'null'}`)

const TOPIC = 'app-counts-changelog'
const PARTITION = 1
/** The Fetch API key and the error codes the broker answers with (the client turns them into a ResponseError). */
const FETCH_API = 1
const NOT_LEADER_OR_FOLLOWER = 6
const TOPIC_AUTHORIZATION_FAILED = 29

/** A broker's answer to a fetch whose partition failed, built the way the client builds it. */
function fetchError(errorCode: number): ResponseError {
  return new ResponseError(FETCH_API, 17, { '/responses/0/partitions/0': [errorCode, null] }, undefined)
}

/**
 * A changelog of `size` records (k0=v0 ...) behind the three consumer calls restore makes, whose end
 * offset is `end` (records past it are a write after restore looked the end up), serving at most 10 records per fetch; `failFetch(n)` makes the next fetches fail, and `calls` records what restore asked for.
 */
function memoryChangelog(size: number, end = size) {
  const failures: Array<() => Error> = []
  const partitionErrors: number[] = []
  const calls = { fetches: 0, metadata: [] as boolean[] }
  const metadata: ClusterMetadata = oneTopicMetadata(TOPIC, 'topic-id', [1, 1])
  const consumer = {
    metadata: (options: { forceUpdate?: boolean }) => {
      calls.metadata.push(options.forceUpdate === true)
      return Promise.resolve(metadata)
    },
    listOffsets: (options: { timestamp: bigint }) => Promise.resolve(new Map([[TOPIC, [0n, options.timestamp === -2n ? 0n : BigInt(end)]]])),
    fetch: (options: { topics: Array<{ partitions: Array<{ fetchOffset: bigint }> }> }): ReturnType<RestoreConsumer['fetch']> => {
      calls.fetches++
      const failure = failures.shift()
      if (failure !== undefined) return Promise.reject(failure())
      const from = Number(options.topics[0]?.partitions[0]?.fetchOffset ?? 0n)
      const errorCode = partitionErrors.shift() ?? 0
      const values = errorCode !== 0 ? [] : Array.from({ length: Math.min(10, size - from) }, (_, i) => `v${from + i}`)
      return Promise.resolve({
        throttleTimeMs: 0,
        errorCode: 0,
        sessionId: 0,
        responses: [
          {
            topicId: 'topic-id',
            partitions: [
              {
                partitionIndex: PARTITION,
                errorCode,
                highWatermark: BigInt(size),
                lastStableOffset: BigInt(size),
                logStartOffset: 0n,
                abortedTransactions: [],
                preferredReadReplica: -1,
                records: values.length > 0 ? [batch(from, 1, 0, values)] : []
              }
            ]
          }
        ]
      })
    }
  }
  return {
    // The fake implements only the promise forms restore uses.
    consumer: consumer as unknown as RestoreConsumer,
    calls,
    failFetch: (times: number, error: () => Error) => {
      for (let i = 0; i < times; i++) failures.push(error)
    },
    /** The next fetch answers with this error code on the partition instead of records. */
    answerWithError: (errorCode: number) => {
      partitionErrors.push(errorCode)
    }
  }
}

function warnings() {
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = []
  return {
    lines,
    logger: {
      info: () => {},
      warn: (obj: object, msg: string) => {
        lines.push({ obj: obj as Record<string, unknown>, msg })
      }
    }
  }
}

describe('restoreChangelog', () => {
  it('restores from the start offset up to the end offset it looked up, even when a fetch brings records past it', async () => {
    const log = memoryChangelog(30, 22)
    const restored: string[] = []
    const result = await restoreChangelog({
      consumer: log.consumer,
      topic: TOPIC,
      partition: PARTITION,
      fromOffset: 3,
      restore: (records) => {
        restored.push(...text(records))
      }
    })
    expect(restored).toEqual(Array.from({ length: 19 }, (_, i) => `k${i + 3}=v${i + 3}`))
    expect(result).toMatchObject({ restoredRecords: 19, startOffset: 3, nextOffset: 22 })
    expect(log.calls.fetches).toBe(2)
  })
})

describe('restoreChangelog retries transient errors within taskTimeoutMs', () => {
  it('restores every record when fetches fail with a leader move and a closed connection, refreshing the metadata and logging each retry', async () => {
    const log = memoryChangelog(25)
    log.failFetch(2, () => fetchError(NOT_LEADER_OR_FOLLOWER))
    log.failFetch(1, () => new NetworkError('Connection closed'))
    const { lines, logger } = warnings()
    const restored: string[] = []
    const result = await restoreChangelog({
      consumer: log.consumer,
      topic: TOPIC,
      partition: PARTITION,
      logger,
      taskTimeoutMs: 10_000,
      restore: (records) => {
        restored.push(...text(records))
      }
    })
    expect(restored).toEqual(Array.from({ length: 25 }, (_, i) => `k${i}=v${i}`))
    expect(result).toMatchObject({ restoredRecords: 25, startOffset: 0, nextOffset: 25 })
    expect(log.calls.fetches).toBe(3 + 3)
    expect(log.calls.metadata).toEqual([false, true, true, true])
    expect(lines.map((l) => l.msg)).toEqual(Array(3).fill('changelog restore hit a transient error; retrying after a metadata refresh'))
    expect(lines.map((l) => l.obj.reason)).toEqual([
      expect.stringMatching(/^NOT_LEADER_OR_FOLLOWER: /),
      expect.stringMatching(/^NOT_LEADER_OR_FOLLOWER: /),
      'network error: Connection closed'
    ])
    expect(lines.map((l) => l.obj.retryInMs)).toEqual([100, 200, 400])
  })

  it('retries a fetch answered with a transient error code on the partition, and fails at once on an unknown code', async () => {
    const log = memoryChangelog(25)
    log.answerWithError(74) // FENCED_LEADER_EPOCH
    const { lines, logger } = warnings()
    const result = await restoreChangelog({ consumer: log.consumer, topic: TOPIC, partition: PARTITION, logger, restore: () => {} })
    expect(result.restoredRecords).toBe(25)
    expect(lines.map((l) => l.obj.reason)).toEqual([expect.stringMatching(/^FENCED_LEADER_EPOCH: /)])

    const other = memoryChangelog(25)
    other.answerWithError(9999)
    await expect(restoreChangelog({ consumer: other.consumer, topic: TOPIC, partition: PARTITION, restore: () => {} })).rejects.toMatchObject({
      code: 'STATE_RESTORE_FETCH',
      message: expect.stringMatching(/failed with Kafka error code 9999/)
    })
  })

  it('starts a new streak after a successful fetch, so failures spread over the restore do not add up', async () => {
    const log = memoryChangelog(25)
    const { consumer } = log
    let fetches = 0
    // Every other fetch fails: each streak is one error long, far below the budget.
    const flaky = {
      ...consumer,
      metadata: consumer.metadata.bind(consumer),
      listOffsets: consumer.listOffsets.bind(consumer),
      fetch: (options: Parameters<RestoreConsumer['fetch']>[0]) => {
        if (fetches++ % 2 === 0) return Promise.reject(fetchError(NOT_LEADER_OR_FOLLOWER))
        return consumer.fetch(options)
      }
    } as unknown as RestoreConsumer
    const { lines, logger } = warnings()
    const result = await restoreChangelog({ consumer: flaky, topic: TOPIC, partition: PARTITION, logger, taskTimeoutMs: 150, restore: () => {} })
    expect(result.restoredRecords).toBe(25)
    expect(lines.map((l) => l.obj.spentMs)).toEqual([0, 0, 0])
  })

  it('rejects with STATE_RESTORE_TIMEOUT naming the partition, the time spent and the last cause once the streak outlasts taskTimeoutMs', async () => {
    const log = memoryChangelog(25)
    log.failFetch(1000, () => fetchError(NOT_LEADER_OR_FOLLOWER))
    const { lines, logger } = warnings()
    const started = performance.now()
    const error = await restoreChangelog({ consumer: log.consumer, topic: TOPIC, partition: PARTITION, logger, taskTimeoutMs: 250, restore: () => {} }).then(
      () => undefined,
      (e: unknown) => e as StateStoreError
    )
    const tookMs = performance.now() - started
    expect(error?.code).toBe('STATE_RESTORE_TIMEOUT')
    expect(error?.message).toMatch(
      new RegExp(`^restore of ${TOPIC}-${PARTITION} at offset 0 kept failing for \\d+ ms \\(taskTimeoutMs 250\\); last cause: NOT_LEADER_OR_FOLLOWER: `)
    )
    expect(error?.cause).toBeInstanceOf(ResponseError)
    expect(tookMs).toBeGreaterThanOrEqual(240)
    expect(tookMs).toBeLessThan(2000)
    // 100 ms, then what is left of the budget (about 150 ms), then the failure that finds it spent.
    expect(lines.map((l) => l.obj.retryInMs)).toEqual([100, expect.toSatisfy((ms: number) => ms > 100 && ms <= 150)])
    expect(log.calls.fetches).toBe(3)
  })

  it('fails at once on an error a retry cannot fix', async () => {
    const log = memoryChangelog(25)
    log.failFetch(1, () => fetchError(TOPIC_AUTHORIZATION_FAILED))
    const { lines, logger } = warnings()
    await expect(restoreChangelog({ consumer: log.consumer, topic: TOPIC, partition: PARTITION, logger, restore: () => {} })).rejects.toBeInstanceOf(
      ResponseError
    )
    expect(log.calls.fetches).toBe(1)
    expect(lines).toEqual([])
  })

  it('still fails at once with STATE_CHECKPOINT_AHEAD when the checkpoint is past the end', async () => {
    const log = memoryChangelog(25)
    await expect(restoreChangelog({ consumer: log.consumer, topic: TOPIC, partition: PARTITION, fromOffset: 30, restore: () => {} })).rejects.toMatchObject({
      code: 'STATE_CHECKPOINT_AHEAD'
    })
    expect(log.calls.fetches).toBe(0)
  })

  it('stops retrying as soon as the signal aborts', async () => {
    const log = memoryChangelog(25)
    log.failFetch(1000, () => new NetworkError('Connection refused'))
    const controller = new AbortController()
    const { logger } = warnings()
    const started = performance.now()
    const restoring = restoreChangelog({
      consumer: log.consumer,
      topic: TOPIC,
      partition: PARTITION,
      logger,
      signal: controller.signal,
      restore: () => {}
    })
    setTimeout(() => controller.abort(new Error('task revoked')), 500)
    await expect(restoring).rejects.toMatchObject({ code: 'STATE_RESTORE_ABORTED' })
    // The abort lands inside the third backoff (400 ms, from about 300 ms to 700 ms) and cuts it short.
    expect(performance.now() - started).toBeLessThan(650)
  })

  it('rejects a negative taskTimeoutMs naming the option', async () => {
    const log = memoryChangelog(1)
    await expect(restoreChangelog({ consumer: log.consumer, topic: TOPIC, partition: PARTITION, taskTimeoutMs: -1, restore: () => {} })).rejects.toThrow(
      /taskTimeoutMs/
    )
  })
})

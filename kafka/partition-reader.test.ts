import { NetworkError, type ClusterMetadata, type RecordsBatch } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { PartitionReader, type ReaderConsumer } from './partition-reader.ts'
import type { ConsumedRecord } from './record-batches.ts'
import { RetryBudget, type RetryPolicy } from './retry.ts'
import { oneTopicMetadata } from './test-support.ts'

const TOPIC = 'input'

function batch(firstOffset: number, values: string[]): RecordsBatch {
  return {
    firstOffset: BigInt(firstOffset),
    length: 100,
    partitionLeaderEpoch: 4,
    magic: 2,
    crc: 0,
    attributes: 0,
    lastOffsetDelta: values.length - 1,
    firstTimestamp: 1000n,
    maxTimestamp: 1000n,
    producerId: -1n,
    producerEpoch: 0,
    firstSequence: 0,
    records: values.map((v, i) => ({ length: 0, attributes: 0, timestampDelta: 0n, offsetDelta: i, key: null, value: Buffer.from(v), headers: [] }))
  }
}

interface PartitionAnswer {
  errorCode?: number
  logStartOffset?: number
  records?: RecordsBatch[]
}

/**
 * A cluster of one topic with two partitions led by brokers 1 and 2 (`leaders` can change), whose
 * fetches are answered by `answer` (default: nothing new) and can be held back with `hold`.
 */
function fakeCluster(answer: (partition: number, offset: number) => PartitionAnswer = () => ({}), down: ReadonlySet<number> = new Set()) {
  const leaders = [1, 2]
  const calls = { metadata: [] as boolean[], fetches: [] as Array<{ node: number; partitions: Array<[number, number]> }> }
  const held: Array<() => void> = []
  let holding = false
  const metadata = (): ClusterMetadata => oneTopicMetadata(TOPIC, 'topic-id', leaders)
  const consumer = {
    metadata: (options: { forceUpdate?: boolean }) => {
      calls.metadata.push(options.forceUpdate === true)
      return Promise.resolve(metadata())
    },
    fetch: async (options: { node: number; topics: Array<{ partitions: Array<{ partition: number; fetchOffset: bigint }> }> }) => {
      const partitions = options.topics.flatMap((t) => t.partitions.map((p): [number, number] => [p.partition, Number(p.fetchOffset)]))
      calls.fetches.push({ node: options.node, partitions })
      if (holding) await new Promise<void>((resolve) => held.push(resolve))
      else await new Promise((resolve) => setTimeout(resolve, 5))
      if (down.has(options.node)) throw new NetworkError('Connection refused')
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        sessionId: 0,
        responses: [
          {
            topicId: 'topic-id',
            partitions: partitions.map(([partition, offset]) => {
              const a = answer(partition, offset)
              return {
                partitionIndex: partition,
                errorCode: a.errorCode ?? 0,
                highWatermark: 100n,
                lastStableOffset: 100n,
                logStartOffset: BigInt(a.logStartOffset ?? 0),
                abortedTransactions: [],
                preferredReadReplica: -1,
                records: a.records ?? []
              }
            })
          }
        ]
      }
    }
  }
  return {
    consumer: consumer as unknown as ReaderConsumer,
    calls,
    leaders,
    hold: () => {
      holding = true
    },
    release: () => {
      holding = false
      for (const resolve of held.splice(0)) resolve()
    }
  }
}

const until = async (what: string, check: () => boolean): Promise<void> => {
  for (let i = 0; i < 200; i++) {
    if (check()) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** A retry policy that records failures and waits 1 ms. */
function recordingPolicy(giveUpAfter = Infinity): RetryPolicy & { failures: unknown[]; successes: number } {
  const policy = {
    failures: [] as unknown[],
    successes: 0,
    failed(err: unknown): number {
      policy.failures.push(err)
      if (policy.failures.length > giveUpAfter) throw new Error('gave up', { cause: err })
      return 1
    },
    succeeded(): void {
      policy.successes++
    }
  }
  return policy
}

describe('PartitionReader', () => {
  it('fetches each partition from its leader and hands over its records in order, advancing the position and the leader epoch', async () => {
    const cluster = fakeCluster((p, offset) => (offset < 4 ? { records: [batch(offset, [`p${p}-${offset}`, `p${p}-${offset + 1}`])] } : {}))
    const got: string[] = []
    const reader = new PartitionReader({
      consumer: cluster.consumer,
      maxWaitMs: 10,
      onFetched: ({ partition }, records) => got.push(...records.map((r) => `${partition}:${r.offset}:${r.value?.toString()}`)),
      onFailed: (err) => {
        throw err
      }
    })
    reader.assign(TOPIC, 0, 0)
    reader.assign(TOPIC, 1, 2)
    await until('both partitions at 4', () => reader.get(TOPIC, 0)?.position === 4 && reader.get(TOPIC, 1)?.position === 4)
    await reader.close()
    expect(got.filter((g) => g.startsWith('0:'))).toEqual(['0:0:p0-0', '0:1:p0-1', '0:2:p0-2', '0:3:p0-3'])
    expect(got.filter((g) => g.startsWith('1:'))).toEqual(['1:2:p1-2', '1:3:p1-3'])
    expect(new Set(cluster.calls.fetches.map((f) => `${f.node}:${f.partitions[0]?.[0]}`))).toEqual(new Set(['1:0', '2:1']))
    expect(reader.get(TOPIC, 0)?.leaderEpoch).toBe(4)
    // Nothing new at 4: every such response counts as empty.
    expect(reader.get(TOPIC, 0)?.emptyFetches).toBeGreaterThan(0)
  })

  it('drops a response for a partition that was seeked while the fetch was in flight', async () => {
    const cluster = fakeCluster((_, offset) => ({ records: [batch(offset, [`at-${offset}`])] }))
    const got: ConsumedRecord[] = []
    const reader = new PartitionReader({
      consumer: cluster.consumer,
      maxWaitMs: 10,
      canFetch: () => got.length < 2,
      onFetched: (_, records) => got.push(...records),
      onFailed: (err) => {
        throw err
      }
    })
    cluster.hold()
    reader.assign(TOPIC, 0, 10)
    await until('the first fetch', () => cluster.calls.fetches.length === 1)
    reader.seek(TOPIC, 0, 50)
    cluster.release()
    await until('two records', () => got.length >= 2)
    await reader.close()
    expect(got.map((r) => r.offset)).toEqual([50, 51])
  })

  it('restarts a partition whose position is out of range at its log start', async () => {
    const cluster = fakeCluster((_, offset) =>
      offset < 30 ? { errorCode: 1, logStartOffset: 30 } : offset === 30 ? { logStartOffset: 30, records: [batch(30, ['first kept'])] } : { logStartOffset: 30 }
    )
    const got: number[] = []
    const reader = new PartitionReader({
      consumer: cluster.consumer,
      maxWaitMs: 10,
      retry: recordingPolicy(),
      onFetched: (_, records) => got.push(...records.map((r) => r.offset)),
      onFailed: (err) => {
        throw err
      }
    })
    reader.assign(TOPIC, 0, 5)
    await until('offset 30 read', () => got.includes(30))
    await reader.close()
    expect(got).toEqual([30])
    expect(reader.get(TOPIC, 0)?.logStartOffset).toBe(30)
  })

  it('reports a partition error to its retry policy, looks the leaders up again, and stops with onFailed when the policy gives up', async () => {
    const cluster = fakeCluster(() => ({ errorCode: 6 })) // NOT_LEADER_OR_FOLLOWER
    const policy = recordingPolicy(2)
    let failed: unknown
    const reader = new PartitionReader({
      consumer: cluster.consumer,
      maxWaitMs: 10,
      retry: policy,
      onFetched: () => {},
      onFailed: (err) => {
        failed = err
      }
    })
    reader.assign(TOPIC, 1, 0)
    await until('the reader to give up', () => failed !== undefined)
    expect(policy.failures).toHaveLength(3)
    expect(policy.failures[0]).toMatchObject({ code: 'KAFKA_PARTITION_ERROR', topic: TOPIC, partition: 1, errorCode: 6 })
    expect((policy.failures[0] as Error).message).toBe(`fetch of ${TOPIC}-1 at 0 failed with Kafka error code 6`)
    expect(cluster.calls.metadata).toEqual([false, true, true])
    expect((failed as Error).message).toBe('gave up')
    const fetches = cluster.calls.fetches.length
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(cluster.calls.fetches.length).toBe(fetches)
  })

  it('treats a partition without a leader as a failure of its policy and fetches it once a leader is elected', async () => {
    const cluster = fakeCluster((_, offset) => (offset === 0 ? { records: [batch(0, ['after the election'])] } : {}))
    cluster.leaders[0] = -1
    const policy = recordingPolicy()
    const got: string[] = []
    const reader = new PartitionReader({
      consumer: cluster.consumer,
      maxWaitMs: 10,
      retry: policy,
      onFetched: (_, records) => got.push(...records.map((r) => r.value?.toString() ?? '')),
      onFailed: (err) => {
        throw err
      }
    })
    reader.assign(TOPIC, 0, 0)
    await until('a failure', () => policy.failures.length > 0)
    expect(policy.failures[0]).toMatchObject({ code: 'KAFKA_NO_LEADER' })
    cluster.leaders[0] = 2
    await until('the record', () => got.length === 1)
    await reader.close()
    expect(got).toEqual(['after the election'])
    expect(policy.successes).toBeGreaterThan(0)
  })

  it('stops with onFailed when its callback throws, without retrying', async () => {
    const cluster = fakeCluster((_, offset) => ({ records: [batch(offset, ['x'])] }))
    const policy = recordingPolicy()
    let failed: unknown
    const reader = new PartitionReader({
      consumer: cluster.consumer,
      maxWaitMs: 10,
      retry: policy,
      onFetched: () => {
        throw new Error('bug in the caller')
      },
      onFailed: (err) => {
        failed = err
      }
    })
    reader.assign(TOPIC, 0, 0)
    await until('onFailed', () => failed !== undefined)
    expect((failed as Error).message).toBe('bug in the caller')
    expect(policy.failures).toEqual([])
    expect(cluster.calls.fetches).toHaveLength(1)
  })

  it('times a partition that keeps failing from its own first failure, even while other partitions are fetched fine', async () => {
    // Broker 2 (leader of partition 1) refuses every connection; broker 1 answers.
    const cluster = fakeCluster(() => ({}), new Set([2]))
    let failed: unknown
    const started = performance.now()
    const reader = new PartitionReader({
      consumer: cluster.consumer,
      maxWaitMs: 10,
      retry: new RetryBudget({ timeoutMs: 300, reasonOf: (err) => String(err), timeoutError: (spentMs) => new Error(`gave up after ${spentMs} ms`) }),
      onFetched: () => {},
      onFailed: (err) => {
        failed = err
      }
    })
    reader.assign(TOPIC, 0, 0)
    reader.assign(TOPIC, 1, 0)
    await until('the reader to give up', () => failed !== undefined)
    expect((failed as Error).message).toMatch(/^gave up after \d+ ms$/)
    expect(performance.now() - started).toBeGreaterThanOrEqual(300)
    expect(reader.get(TOPIC, 0)?.failingSinceMs).toBeUndefined()
    expect(reader.get(TOPIC, 1)?.failingSinceMs).toBeDefined()
  })
})

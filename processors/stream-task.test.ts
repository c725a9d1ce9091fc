import { describe, expect, it } from 'vitest'
import { SerdeError, SerdeNeedsResolution, stringSerde, type Serde } from '../schemas/index.ts'
import { Stores, type KeyValueStore } from '../state/index.ts'
import type { Processor, ProcessorContext, StreamRecord } from './api.ts'
import { DeserializationFailure, type ProcessingError } from './errors.ts'
import type { NodePlan, SubtopologyPlan } from './plan.ts'
import { StreamTask, type ProducedRecord } from './stream-task.ts'

interface Seen {
  key: unknown
  value: unknown
  timestampMs: number
  topic: string | undefined
  offset: number | undefined
}

/** A sub-topology: sources for `topics` -> one processor -> a sink to `out`. */
function plan(options: {
  topics?: string[]
  processor: () => Processor<unknown, unknown, unknown, unknown>
  valueSerde?: Serde<unknown>
  stores?: string[]
  storeBuilders?: SubtopologyPlan['storeBuilders']
  timestampExtractor?: NonNullable<Extract<NodePlan, { kind: 'source' }>['timestampExtractor']>
}): SubtopologyPlan {
  const topics = options.topics ?? ['in']
  const nodes: NodePlan[] = [
    ...topics.map((topic): NodePlan => ({
      kind: 'source',
      name: `src-${topic}`,
      topics: [topic],
      keySerde: stringSerde as Serde<unknown>,
      valueSerde: options.valueSerde ?? (stringSerde as Serde<unknown>),
      timestampExtractor: options.timestampExtractor,
      children: ['proc']
    })),
    { kind: 'processor', name: 'proc', supplier: options.processor, stores: options.stores ?? [], children: ['sink'] },
    { kind: 'sink', name: 'sink', topic: 'out', keySerde: stringSerde as Serde<unknown>, valueSerde: stringSerde as Serde<unknown>, partitioner: undefined }
  ]
  return { id: 0, nodes, storeBuilders: options.storeBuilders ?? [], sourceTopics: topics, changelogTopics: new Map() }
}

function recorder(seen: Seen[], onInit?: (ctx: ProcessorContext<unknown, unknown>) => void): () => Processor<unknown, unknown, unknown, unknown> {
  return () => {
    let context: ProcessorContext<unknown, unknown>
    return {
      init(ctx) {
        context = ctx
        onInit?.(ctx)
      },
      process(record: StreamRecord<unknown, unknown>) {
        const meta = context.recordMetadata()
        seen.push({ key: record.key, value: record.value, timestampMs: record.timestampMs, topic: meta?.topic, offset: meta?.offset })
        context.forward(record)
      }
    }
  }
}

const raw = (key: string | null, value: string | null, offset: number, timestampMs: number) => ({
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  offset,
  timestampMs
})

async function task(
  subtopology: SubtopologyPlan,
  extra: Partial<ConstructorParameters<typeof StreamTask>[0]> = {}
): Promise<{ task: StreamTask; sent: ProducedRecord[] }> {
  const sent: ProducedRecord[] = []
  const t = new StreamTask({ applicationId: 'app', subtopology, partition: 0, collector: { send: (r) => sent.push(r) }, inMemoryStores: true, ...extra })
  await t.initialize()
  return { task: t, sent }
}

describe('StreamTask', () => {
  it('takes records in timestamp order across its input partitions and tracks stream time', async () => {
    const seen: Seen[] = []
    const { task: t, sent } = await task(plan({ topics: ['a', 'b'], processor: recorder(seen) }))
    t.addRecords('a', 0, [raw('k', 'a5', 0, 5), raw('k', 'a30', 1, 30)])
    t.addRecords('b', 0, [raw('k', 'b10', 0, 10), raw('k', 'b20', 1, 20)])
    expect(t.bufferedCount).toBe(4)
    while (t.process() === true) {
      /* drain */
    }
    expect(seen.map((s) => s.value)).toEqual(['a5', 'b10', 'b20', 'a30'])
    expect(t.streamTimeMs).toBe(30)
    expect(sent.map((r) => [r.topic, r.partition, r.key?.toString(), r.value?.toString()])).toEqual([
      ['out', undefined, 'k', 'a5'],
      ['out', undefined, 'k', 'b10'],
      ['out', undefined, 'k', 'b20'],
      ['out', undefined, 'k', 'a30']
    ])
    expect(t.offsetsToCommit()).toEqual([
      { topic: 'a', partition: 0, offset: 2 },
      { topic: 'b', partition: 0, offset: 2 }
    ])
    expect(t.process()).toBe(false)
  })

  it('keeps stream time at its maximum when an older record arrives', async () => {
    const { task: t } = await task(plan({ processor: recorder([]) }))
    t.addRecords('in', 0, [raw('k', 'v', 0, 50), raw('k', 'v', 1, 20)])
    await t.processAll()
    expect(t.streamTimeMs).toBe(50)
  })

  it('fires stream-time punctuators aligned to the interval, once per advance, and stops after cancel', async () => {
    const punctuations: number[] = []
    let cancel: (() => void) | undefined
    const { task: t } = await task(
      plan({
        processor: recorder([], (ctx) => {
          const schedule = ctx.schedule(10, 'stream-time', (ts) => punctuations.push(ts))
          cancel = () => schedule.cancel()
        })
      })
    )
    t.addRecords('in', 0, [raw('k', 'v', 0, 3), raw('k', 'v', 1, 7), raw('k', 'v', 2, 12), raw('k', 'v', 3, 35)])
    await t.processAll()
    expect(punctuations).toEqual([3, 12, 35])
    cancel?.()
    t.addRecords('in', 0, [raw('k', 'v', 4, 100)])
    await t.processAll()
    expect(punctuations).toEqual([3, 12, 35])
  })

  it('fires wall-clock punctuators from the injected clock, skipping missed intervals', async () => {
    let now = 1000
    const punctuations: number[] = []
    const { task: t } = await task(
      plan({
        processor: recorder([], (ctx) => {
          ctx.schedule(100, 'wall-clock', (ts) => punctuations.push(ts))
        })
      }),
      { clock: () => now }
    )
    expect(t.punctuateWallClock(1099)).toBe(false)
    now = 1100
    expect(t.punctuateWallClock()).toBe(true)
    expect(t.punctuateWallClock(1350)).toBe(true)
    expect(t.punctuateWallClock(1399)).toBe(false)
    expect(t.punctuateWallClock(1400)).toBe(true)
    expect(punctuations).toEqual([1100, 1350, 1400])
  })

  it('drops undeserializable records when the handler says continue, counting them and committing past them', async () => {
    const failing: Serde<unknown> = {
      serialize: (_t, v) => Buffer.from(String(v)),
      deserialize: (_t, data) => {
        if (data.toString() === 'bad') throw new SerdeError('TEST', 'bad bytes')
        return data.toString()
      }
    }
    const seen: Seen[] = []
    const handled: string[] = []
    const { task: t } = await task(plan({ processor: recorder(seen), valueSerde: failing }), {
      onDeserializationError: (record, err) => {
        handled.push(`${record.topic}@${record.offset}: ${(err as Error).message}`)
        return 'continue'
      }
    })
    t.addRecords('in', 0, [raw('k', 'bad', 0, 1), raw('k', 'good', 1, 2)])
    await t.processAll()
    expect(seen.map((s) => s.value)).toEqual(['good'])
    expect(handled).toEqual(['in@0: bad bytes'])
    expect(t.droppedRecords.count('deserialization', 'src-in')).toBe(1)
    expect(t.offsetsToCommit()).toEqual([{ topic: 'in', partition: 0, offset: 2 }])
  })

  it('fails on an undeserializable record by default', async () => {
    const failing: Serde<unknown> = {
      serialize: () => Buffer.alloc(0),
      deserialize: () => {
        throw new SerdeError('TEST', 'nope')
      }
    }
    const { task: t } = await task(plan({ processor: recorder([]), valueSerde: failing }))
    t.addRecords('in', 0, [raw('k', 'x', 7, 1)])
    expect(() => t.process()).toThrow(DeserializationFailure)
  })

  it('lets the caller await serde resolution and then retries the same record', async () => {
    let resolved = false
    const resolving: Serde<unknown> = {
      serialize: (_t, v) => Buffer.from(String(v)),
      deserialize: (_t, data) => {
        if (!resolved) throw new SerdeNeedsResolution('unknown schema id 7')
        return data.toString()
      },
      resolve: async () => {
        resolved = true
      }
    }
    const seen: Seen[] = []
    const { task: t } = await task(plan({ processor: recorder(seen), valueSerde: resolving }))
    t.addRecords('in', 0, [raw('k', 'v1', 0, 1)])
    const first = t.process()
    expect(first).toBeInstanceOf(Promise)
    expect(seen).toEqual([])
    await first
    expect(t.process()).toBe(true)
    expect(seen.map((s) => [s.value, s.offset])).toEqual([['v1', 0]])
  })

  it('drops records with a negative extracted timestamp and counts them', async () => {
    const seen: Seen[] = []
    const { task: t } = await task(plan({ processor: recorder(seen) }))
    t.addRecords('in', 0, [raw('k', 'neg', 0, -1), raw('k', 'ok', 1, 5)])
    await t.processAll()
    expect(seen.map((s) => s.value)).toEqual(['ok'])
    expect(t.droppedRecords.count('invalid-timestamp')).toBe(1)
  })

  it('configures source and sink serdes before processing', async () => {
    const configured: string[] = []
    const serde: Serde<unknown> = {
      ...(stringSerde as Serde<unknown>),
      configure: async (topic, isKey) => {
        configured.push(`${topic}:${isKey ? 'key' : 'value'}`)
      }
    }
    await task(plan({ processor: recorder([]), valueSerde: serde }))
    expect(configured).toEqual(['in:value'])
  })

  it('uses the source timestamp extractor', async () => {
    const seen: Seen[] = []
    const { task: t } = await task(plan({ processor: recorder(seen), timestampExtractor: (r) => Number(r.value) }))
    t.addRecords('in', 0, [raw('k', '1234', 0, 1)])
    await t.processAll()
    expect(seen[0]?.timestampMs).toBe(1234)
  })

  it('names the processor when it throws, and continues when the processing handler says so', async () => {
    const throwing = (): Processor<unknown, unknown, unknown, unknown> => ({
      process() {
        throw new Error('boom')
      }
    })
    const { task: failing } = await task(plan({ processor: throwing }))
    failing.addRecords('in', 0, [raw('k', 'v', 0, 1)])
    expect(() => failing.process()).toThrow(/proc failed: boom/)
    const { task: tolerant } = await task(plan({ processor: throwing }), {
      onProcessingError: (err: ProcessingError) => (err.processorName === 'proc' ? 'continue' : 'fail')
    })
    tolerant.addRecords('in', 0, [raw('k', 'v', 0, 1)])
    expect(tolerant.process()).toBe(true)
    expect(tolerant.droppedRecords.count('processing-error', 'proc')).toBe(1)
  })

  it('refuses stores the processor is not connected to, and partitions it does not own', async () => {
    const store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('kv'), stringSerde, stringSerde)
    let error: unknown
    const { task: t } = await task(
      plan({
        processor: recorder([], (ctx) => {
          try {
            ctx.getStateStore('kv')
          } catch (err) {
            error = err
          }
        }),
        storeBuilders: [store]
      })
    )
    expect(String(error)).toMatch(/processor proc is not connected to store kv/)
    expect(() => t.addRecords('in', 3, [])).toThrow(/processes partition 0 of in, not partition 3/)
    expect(() => t.addRecords('nope', 0, [])).toThrow(/has no source for topic nope/)
  })

  it('initializes connected stores, logs changes to the changelog through the collector and flushes on commit', async () => {
    const builder = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('kv'), stringSerde, stringSerde).withCachingEnabled()
    const writer = (): Processor<unknown, unknown, unknown, unknown> => {
      let store: KeyValueStore<string, string>
      return {
        init(ctx) {
          store = ctx.getStateStore('kv')
        },
        process(record) {
          store.put(record.key as string, record.value as string)
        }
      }
    }
    const { task: t, sent } = await task(plan({ processor: writer, stores: ['kv'], storeBuilders: [builder] }), { storeContext: { cacheMaxBytes: 1 << 20 } })
    t.addRecords('in', 0, [raw('a', '1', 0, 1), raw('a', '2', 1, 2)])
    await t.processAll()
    expect(sent).toEqual([])
    expect(t.commit()).toEqual([{ topic: 'in', partition: 0, offset: 2 }])
    expect(sent.map((r) => [r.topic, r.partition, r.key?.toString(), r.value?.toString()])).toEqual([['app-kv-changelog', 0, 'a', '2']])
    await t.close()
  })

  const cachedWriter = (): { builder: SubtopologyPlan['storeBuilders'][number]; processor: () => Processor<unknown, unknown, unknown, unknown> } => ({
    builder: Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('kv'), stringSerde, stringSerde).withCachingEnabled(),
    processor: () => {
      let store: KeyValueStore<string, string>
      let context: ProcessorContext<unknown, unknown>
      return {
        init(ctx) {
          context = ctx
          store = ctx.getStateStore('kv')
        },
        process(record) {
          store.put(record.key as string, record.value as string)
          context.forward(record)
        },
        close() {
          // A processor that writes while closing: a dirty close must not let this out either.
          context.forward({ key: 'closing', value: 'x', timestampMs: 0, headers: {} })
        }
      }
    }
  })

  it('sends nothing after a dirty close: cached writes are dropped, not written to the changelog or emitted', async () => {
    const { builder, processor } = cachedWriter()
    const { task: t, sent } = await task(plan({ processor, stores: ['kv'], storeBuilders: [builder] }), { storeContext: { cacheMaxBytes: 1 << 20 } })
    t.addRecords('in', 0, [raw('a', '1', 0, 1), raw('b', '2', 1, 2)])
    await t.processAll()
    const before = sent.length
    await t.close({ dirty: true })
    expect(sent.length).toBe(before)
    expect(sent.filter((r) => r.topic === 'app-kv-changelog')).toEqual([])
  })

  it('flushes its caches on a clean close, so the changelog gets the cached writes', async () => {
    const { builder, processor } = cachedWriter()
    const { task: t, sent } = await task(plan({ processor, stores: ['kv'], storeBuilders: [builder] }), { storeContext: { cacheMaxBytes: 1 << 20 } })
    t.addRecords('in', 0, [raw('a', '1', 0, 1), raw('b', '2', 1, 2)])
    await t.processAll()
    await t.close()
    expect(
      sent
        .filter((r) => r.topic === 'app-kv-changelog')
        .map((r) => r.key?.toString())
        .sort()
    ).toEqual(['a', 'b'])
  })

  it('resumes stream time from a committed value and never moves it backwards', async () => {
    const seen: Seen[] = []
    const { task: t } = await task(plan({ processor: recorder(seen) }))
    t.initializeStreamTime(5_000)
    expect(t.streamTimeMs).toBe(5_000)
    t.addRecords('in', 0, [raw('a', '1', 0, 1_000)])
    await t.processAll()
    expect(t.streamTimeMs).toBe(5_000)
    t.initializeStreamTime(4_000)
    expect(t.streamTimeMs).toBe(5_000)
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import { longSerde, stringSerde } from '../schemas/index.ts'
import { Stores, type KeyValueStore } from '../state/index.ts'
import { changeSerde, type Processor, type ProcessorContext } from '../processors/index.ts'
import { StreamsBuilder } from './streams-builder.ts'
import { TopologyTestDriver } from './test-driver.ts'
import { Topology } from './topology.ts'
import { TopologyError } from './errors.ts'

const str = { keySerde: stringSerde, valueSerde: stringSerde }
let driver: TopologyTestDriver | undefined

afterEach(async () => {
  await driver?.close()
  driver = undefined
})

/** Keeps the last value per key and emits all entries on each wall-clock punctuation. */
function lastValueEmitter(): Processor<string, string, string, string> {
  let context: ProcessorContext<string, string>
  let store: KeyValueStore<string, string>
  return {
    init(ctx) {
      context = ctx
      store = ctx.getStateStore('last')
      ctx.schedule(1000, 'wall-clock', (now) => {
        for (const { key, value } of store.all()) context.forward({ key, value, timestampMs: now, headers: {} })
      })
    },
    process(record) {
      store.put(record.key, record.value)
    }
  }
}

describe('Processor API', () => {
  it('runs a hand-built topology with a store and wall-clock punctuation in the driver', async () => {
    const topology = new Topology()
      .addSource('src', { topics: ['in'], ...str })
      .addProcessor('last', lastValueEmitter, 'src')
      .addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('last'), stringSerde, stringSerde), 'last')
      .addSink('sink', { topic: 'out', ...str }, 'last')
    driver = await TopologyTestDriver.create(topology, { initialWallClockMs: 10_000 })
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    input.pipeInput('a', '1', 1)
    input.pipeInput('a', '2', 2)
    const output = driver.createOutputTopic('out', stringSerde, stringSerde)
    expect(output.isEmpty()).toBe(true)
    driver.advanceWallClockTime(999)
    expect(output.isEmpty()).toBe(true)
    driver.advanceWallClockTime(1)
    const record = output.readRecord()
    expect([record.key, record.value, record.timestampMs]).toEqual(['a', '2', 11_000])
  })

  it('runs a custom processor from the DSL with a store added to the builder', async () => {
    const builder = new StreamsBuilder()
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('last'), stringSerde, stringSerde))
    builder
      .stream('in', str)
      .process(lastValueEmitter, { stores: ['last'], keySerde: stringSerde, valueSerde: stringSerde })
      .to('out')
    driver = await TopologyTestDriver.create(builder.build())
    driver.createInputTopic('in', stringSerde, stringSerde).pipeInput('k', 'v', 1)
    driver.advanceWallClockTime(1000)
    expect(driver.createOutputTopic('out', stringSerde, stringSerde).readKeyValuesToList()).toEqual([{ key: 'k', value: 'v' }])
  })

  it('lets the driver drop undeserializable input through the deserialization handler', async () => {
    const builder = new StreamsBuilder()
    builder.stream('in', { keySerde: stringSerde, valueSerde: longSerde }).to('out')
    driver = await TopologyTestDriver.create(builder.build(), { onDeserializationError: () => 'continue' })
    driver.pipeRaw({ topic: 'in', key: Buffer.from('k'), value: Buffer.from('short'), timestampMs: 1 })
    driver.createInputTopic('in', stringSerde, longSerde).pipeInput('k', 7, 2)
    expect(driver.createOutputTopic('out', stringSerde, longSerde).readValuesToList()).toEqual([7])
    expect(driver.droppedRecords('deserialization')).toBe(1)
  })

  it('detects a join of topics the driver configures with different partition counts', async () => {
    const builder = new StreamsBuilder()
    const table = builder.table('users', str)
    builder
      .stream('clicks', str)
      .join(table, (c, u) => `${c}${u}`, { name: 'click-user-join' })
      .to('out', str)
    await expect(TopologyTestDriver.create(builder.build(), { partitions: { users: 2, clicks: 3 } })).rejects.toThrow(
      /click-user-join joins topics that are not co-partitioned/
    )
  })

  it('gives a repartition topic an explicit partition count and routes records by murmur2', async () => {
    const builder = new StreamsBuilder()
    builder
      .stream('in', str)
      .selectKey((_k, v) => v)
      .repartition({ name: 'by-value', partitions: 5, keySerde: stringSerde })
      .to('out')
    driver = await TopologyTestDriver.create(builder.build(), { applicationId: 'rp', defaultPartitions: 2 })
    expect(driver.partitionsOf('rp-by-value-repartition')).toBe(5)
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    for (let i = 0; i < 10; i++) input.pipeInput(`k${i}`, `v${i}`, i)
    expect(driver.createOutputTopic('out', stringSerde, stringSerde).readKeyValuesToList()).toHaveLength(10)
    expect(new Set(driver.readTopic('rp-by-value-repartition').map((r) => r.partition)).size).toBeGreaterThan(1)
  })

  it('types flow end to end through the DSL', () => {
    const builder = new StreamsBuilder()
    const lengths = builder.stream('in', str).mapValues((v) => v.length)
    // @ts-expect-error a number stream cannot be filtered with a string predicate
    lengths.filter((_k, v: string) => v.startsWith('a'))
    const counts = lengths.groupByKey({ valueSerde: longSerde }).aggregate(
      () => 0,
      (_k, v, acc) => acc + v,
      { valueSerde: longSerde }
    )
    // @ts-expect-error the aggregate is a number, not a string
    counts.mapValues((v: string) => v)
    expect(counts.queryableStoreName).toMatch(/^KSTREAM-AGGREGATE-STATE-STORE-/)
  })

  it('round-trips changes of a table through the change serde', () => {
    const serde = changeSerde(stringSerde)
    for (const change of [
      { newValue: 'n', oldValue: 'old' },
      { newValue: 'n', oldValue: null },
      { newValue: null, oldValue: 'o' },
      { newValue: null, oldValue: null }
    ]) {
      expect(serde.deserialize('t', serde.serialize('t', change))).toEqual(change)
    }
  })

  it('refuses a builder used after build()', () => {
    const builder = new StreamsBuilder()
    builder.stream('in', str)
    builder.build()
    expect(() => builder.stream('other', str)).toThrow(TopologyError)
  })
})

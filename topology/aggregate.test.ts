import { afterEach, describe, expect, it } from 'vitest'
import { longSerde, stringSerde } from '../schemas/index.ts'
import { partitionForKey } from '../processors/index.ts'
import { StreamsBuilder } from './streams-builder.ts'
import { TopologyTestDriver } from './test-driver.ts'

const str = { keySerde: stringSerde, valueSerde: stringSerde }
let driver: TopologyTestDriver | undefined

afterEach(async () => {
  await driver?.close()
  driver = undefined
})

describe('grouped aggregations', () => {
  it('counts per key with groupByKey and emits every update without a cache', async () => {
    const builder = new StreamsBuilder()
    builder.stream('in', str).groupByKey().count({ storeName: 'counts', cachingEnabled: false }).toStream().to('out', { valueSerde: longSerde })
    driver = await TopologyTestDriver.create(builder.build())
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    input.pipeInput('a', 'x', 1)
    input.pipeInput('b', 'x', 2)
    input.pipeInput('a', 'y', 3)
    expect(driver.createOutputTopic('out', stringSerde, longSerde).readKeyValuesToList()).toEqual([
      { key: 'a', value: 1 },
      { key: 'b', value: 1 },
      { key: 'a', value: 2 }
    ])
    expect(driver.getKeyValueStore<string, number>('counts').get('a')).toBe(2)
  })

  it('skips and counts records with a null key or value', async () => {
    const builder = new StreamsBuilder()
    builder.stream('in', str).groupByKey().count({ storeName: 'counts' })
    driver = await TopologyTestDriver.create(builder.build())
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    input.pipeInput(null, 'x', 1)
    input.pipeInput('a', null, 2)
    input.pipeInput('a', 'x', 3)
    expect(driver.getKeyValueStore<string, number>('counts').get('a')).toBe(1)
    expect(driver.droppedRecords('null-key-or-value')).toBe(2)
  })

  it('reduces and aggregates values per key', async () => {
    const builder = new StreamsBuilder()
    const grouped = builder.stream('in', str).groupByKey()
    grouped.reduce((acc, v) => `${acc}+${v}`, { storeName: 'reduced' })
    grouped.aggregate(
      () => 0,
      (_k, v, acc) => acc + v.length,
      { storeName: 'lengths', valueSerde: longSerde }
    )
    driver = await TopologyTestDriver.create(builder.build())
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    input.pipeInput('a', 'x', 1)
    input.pipeInput('a', 'yy', 2)
    input.pipeInput('a', 'zzz', 3)
    expect(driver.getKeyValueStore<string, string>('reduced').get('a')).toBe('x+yy+zzz')
    expect(driver.getKeyValueStore<string, number>('lengths').get('a')).toBe(6)
  })

  it('with caching emits at most one update per key per commit', async () => {
    const builder = new StreamsBuilder()
    builder.stream('in', str).groupByKey().count({ storeName: 'counts' }).toStream().to('out', { valueSerde: longSerde })
    driver = await TopologyTestDriver.create(builder.build(), { autoCommit: false })
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const output = driver.createOutputTopic('out', stringSerde, longSerde)
    for (let i = 0; i < 5; i++) input.pipeInput('a', 'x', i)
    input.pipeInput('b', 'x', 10)
    expect(output.isEmpty()).toBe(true)
    driver.commit()
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'a', value: 5 },
      { key: 'b', value: 1 }
    ])
    input.pipeInput('a', 'x', 11)
    driver.commit()
    expect(output.readKeyValuesToList()).toEqual([{ key: 'a', value: 6 }])
  })

  it('repartitions a re-keyed stream across partitions so each key is counted in one task', async () => {
    const builder = new StreamsBuilder()
    builder
      .stream('sentences', str)
      .flatMapValues((v) => v.split(' '))
      .groupBy((_k, word) => word, { keySerde: stringSerde, valueSerde: stringSerde })
      .count({ storeName: 'word-counts' })
      .toStream()
      .to('counts', { valueSerde: longSerde })
    driver = await TopologyTestDriver.create(builder.build(), { applicationId: 'wc', defaultPartitions: 4 })
    const input = driver.createInputTopic('sentences', stringSerde, stringSerde)
    input.pipeInput('s1', 'the cat and the hat', 1)
    input.pipeInput('s2', 'the end', 2)
    input.pipeInput('s3', 'cat', 3)
    const repartition = driver.internalTopic('word-counts-repartition')
    expect(driver.partitionsOf(repartition)).toBe(4)
    const repartitioned = driver.readTopic(repartition)
    expect(repartitioned).toHaveLength(8)
    // Every repartition record sits on murmur2(word) % 4, as a Kafka producer would place it.
    for (const record of repartitioned) expect(record.partition).toBe(partitionForKey(record.key as Buffer, 4))
    const counts = driver.createOutputTopic('counts', stringSerde, longSerde).readKeyValuesToMap()
    expect(Object.fromEntries(counts)).toEqual({ the: 3, cat: 2, and: 1, hat: 1, end: 1 })
    // Each word's count lives only in the store of the partition the word hashes to.
    for (const word of ['the', 'cat', 'end']) {
      const partition = partitionForKey(Buffer.from(word), 4)
      for (let p = 0; p < 4; p++) {
        const value = driver.getKeyValueStore<string, number>('word-counts', p).get(word)
        expect(value === undefined).toBe(p !== partition)
      }
    }
    expect(driver.taskIds).toEqual(['0_0', '0_1', '0_2', '0_3', '1_0', '1_1', '1_2', '1_3'])
  })

  it('adds no repartition topic for a stream marked as partitioned: a refined key is counted in the task of its input partition', async () => {
    const builder = new StreamsBuilder()
    builder
      .stream('observations', str)
      // Input keyed by sensor; the new key `sensor|type` refines it, so every record of a new key is
      // already in one partition.
      .selectKey((sensor, type) => `${sensor}|${type}`)
      .markAsPartitioned()
      .groupByKey({ keySerde: stringSerde, valueSerde: stringSerde })
      .count({ storeName: 'type-counts' })
      .toStream()
      .to('counts', { valueSerde: longSerde })
    const topology = builder.build()
    expect(topology.describe().toString()).not.toMatch(/repartition/)
    driver = await TopologyTestDriver.create(topology, { applicationId: 'marked', defaultPartitions: 4 })
    const input = driver.createInputTopic('observations', stringSerde, stringSerde)
    const sent = [
      ['s1', 'CAR'],
      ['s2', 'BUS'],
      ['s1', 'CAR'],
      ['s3', 'CAR'],
      ['s1', 'BUS'],
      ['s2', 'BUS']
    ] as const
    sent.forEach(([sensor, type], i) => input.pipeInput(sensor, type, i))
    expect(Object.fromEntries(driver.createOutputTopic('counts', stringSerde, longSerde).readKeyValuesToMap())).toEqual({
      's1|CAR': 2,
      's2|BUS': 2,
      's3|CAR': 1,
      's1|BUS': 1
    })
    // One sub-topology, and each count lives in the task of its sensor's input partition.
    expect(driver.taskIds).toEqual(['0_0', '0_1', '0_2', '0_3'])
    for (const [sensor, type] of sent) {
      const partition = partitionForKey(Buffer.from(sensor), 4)
      expect(driver.getKeyValueStore<string, number>('type-counts', partition).get(`${sensor}|${type}`)).toBeGreaterThan(0)
    }
  })

  it('writes changelog records of aggregate stores to the task partition', async () => {
    const builder = new StreamsBuilder()
    builder.stream('in', str).groupByKey().count({ storeName: 'counts' })
    driver = await TopologyTestDriver.create(builder.build(), { applicationId: 'app', defaultPartitions: 3 })
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    input.pipeInput('a', 'x', 1)
    input.pipeInput('a', 'x', 2)
    const changelog = driver.getChangelogRecords('counts')
    expect(changelog.map((r) => [r.topic, r.partition, r.key?.toString(), longSerde.deserialize('t', r.value as Buffer)])).toEqual([
      ['app-counts-changelog', partitionForKey(Buffer.from('a'), 3), 'a', 1],
      ['app-counts-changelog', partitionForKey(Buffer.from('a'), 3), 'a', 2]
    ])
  })
})

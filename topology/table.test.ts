import { afterEach, describe, expect, it } from 'vitest'
import { jsonSerde, longSerde, stringSerde } from '../schemas/index.ts'
import { TimeWindows } from '../processors/index.ts'
import { Suppressed } from './options.ts'
import { StreamsBuilder } from './streams-builder.ts'
import { TopologyTestDriver } from './test-driver.ts'

const str = { keySerde: stringSerde, valueSerde: stringSerde }
let driver: TopologyTestDriver | undefined

afterEach(async () => {
  await driver?.close()
  driver = undefined
})

describe('KTable operators', () => {
  it('materializes a topic as a table and emits updates and deletes through toStream', async () => {
    const builder = new StreamsBuilder()
    builder.table('users', str, { storeName: 'users', cachingEnabled: false }).toStream().to('changes', str)
    driver = await TopologyTestDriver.create(builder.build())
    const input = driver.createInputTopic('users', stringSerde, stringSerde)
    input.pipeInput('u1', 'ann', 1)
    input.pipeInput('u1', 'anna', 2)
    input.pipeInput('u1', null, 3)
    input.pipeInput('u2', null, 4) // deleting an absent key emits nothing
    expect(driver.createOutputTopic('changes', stringSerde, stringSerde).readKeyValuesToList()).toEqual([
      { key: 'u1', value: 'ann' },
      { key: 'u1', value: 'anna' },
      { key: 'u1', value: null }
    ])
    expect(driver.getKeyValueStore<string, string>('users').get('u1')).toBeUndefined()
  })

  it('filters and maps table values, turning filtered-out updates into deletes', async () => {
    const builder = new StreamsBuilder()
    builder
      .table('scores', { keySerde: stringSerde, valueSerde: longSerde }, { cachingEnabled: false })
      .filter((_k, v) => v >= 10)
      .mapValues((v) => `score ${v}`)
      .toStream()
      .to('out', str)
    driver = await TopologyTestDriver.create(builder.build())
    const input = driver.createInputTopic('scores', stringSerde, longSerde)
    input.pipeInput('a', 5, 1) // filtered out, nothing before: no output
    input.pipeInput('a', 12, 2)
    input.pipeInput('a', 3, 3) // was in, now filtered out: a delete
    expect(driver.createOutputTopic('out', stringSerde, stringSerde).readKeyValuesToList()).toEqual([
      { key: 'a', value: 'score 12' },
      { key: 'a', value: null }
    ])
  })

  it('re-groups a table and aggregates with adder and subtractor across partitions', async () => {
    // Kafka Streams Developer Guide, DSL API, "Aggregating" a KGroupedTable: when a key's value
    // changes, the old value is subtracted from its old group and the new value added to its group.
    const region = jsonSerde<{ region: string; spend: number }>()
    const builder = new StreamsBuilder()
    builder
      .table('customers', { keySerde: stringSerde, valueSerde: region }, { cachingEnabled: false })
      .groupBy((_id, c) => ({ key: c.region, value: c.spend }), { keySerde: stringSerde, valueSerde: longSerde })
      .aggregate(
        () => 0,
        (_r, spend, total) => total + spend,
        (_r, spend, total) => total - spend,
        { storeName: 'spend-by-region', valueSerde: longSerde, cachingEnabled: false }
      )
      .toStream()
      .to('totals', { valueSerde: longSerde })
    driver = await TopologyTestDriver.create(builder.build(), { defaultPartitions: 3 })
    const input = driver.createInputTopic('customers', stringSerde, region)
    input.pipeInput('c1', { region: 'north', spend: 10 }, 1)
    input.pipeInput('c2', { region: 'north', spend: 5 }, 2)
    input.pipeInput('c1', { region: 'south', spend: 7 }, 3) // moves from north to south
    input.pipeInput('c2', null, 4) // deleted: subtracted from north
    const totals = driver.createOutputTopic('totals', stringSerde, longSerde).readKeyValuesToList()
    expect(totals).toEqual([
      { key: 'north', value: 10 },
      { key: 'north', value: 15 },
      { key: 'north', value: 5 },
      { key: 'south', value: 7 },
      { key: 'north', value: 0 }
    ])
    const store = driver.getKeyValueStore<string, number>('spend-by-region')
    expect([store.get('north'), store.get('south')]).toEqual([0, 7])
  })

  it('counts table entries per group and reduces with a subtractor', async () => {
    const builder = new StreamsBuilder()
    const byCity = builder
      .table('people', str, { cachingEnabled: false })
      .groupBy((name, city) => ({ key: city, value: name }), { keySerde: stringSerde, valueSerde: stringSerde })
    byCity.count({ storeName: 'city-counts' })
    byCity.reduce(
      (acc, name) => `${acc},${name}`,
      (acc, name) =>
        acc
          .split(',')
          .filter((n) => n !== name)
          .join(','),
      { storeName: 'city-names' }
    )
    driver = await TopologyTestDriver.create(builder.build(), { defaultPartitions: 2 })
    const input = driver.createInputTopic('people', stringSerde, stringSerde)
    input.pipeInput('ann', 'oslo', 1)
    input.pipeInput('bob', 'oslo', 2)
    input.pipeInput('ann', 'rome', 3)
    const counts = driver.getKeyValueStore<string, number>('city-counts')
    expect([counts.get('oslo'), counts.get('rome')]).toEqual([1, 1])
    expect(driver.getKeyValueStore<string, string>('city-names').get('oslo')).toBe('bob')
  })
})

describe('suppress', () => {
  it('emits only the final result of each window once stream time passes window end + grace', async () => {
    // Kafka Streams Developer Guide, DSL API, "Window Final Results": suppress(untilWindowCloses)
    // emits one record per window when the window closes (stream time >= end + grace).
    const builder = new StreamsBuilder()
    builder
      .stream('in', str)
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(10, 5))
      .count({ cachingEnabled: false })
      .suppress(Suppressed.untilWindowCloses())
      .toStream()
      .map((w, c) => ({ key: `${w.key}@${w.window.startMs}`, value: c }))
      .to('final', { keySerde: stringSerde, valueSerde: longSerde })
    driver = await TopologyTestDriver.create(builder.build())
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const output = driver.createOutputTopic('final', stringSerde, longSerde)
    input.pipeInput('k', 'x', 1)
    input.pipeInput('k', 'x', 4)
    input.pipeInput('k', 'x', 14) // stream time 14 < 15: window [0,10) still open
    expect(output.isEmpty()).toBe(true)
    input.pipeInput('k', 'x', 15) // stream time 15 = end + grace: [0,10) emits its final count
    expect(output.readKeyValuesToList()).toEqual([{ key: 'k@0', value: 2 }])
    input.pipeInput('j', 'x', 30)
    expect(output.readKeyValuesToList()).toEqual([{ key: 'k@10', value: 2 }])
  })

  it('rejects untilWindowCloses on a table that is not windowed, naming the node', () => {
    const builder = new StreamsBuilder()
    const table = builder.stream('in', str).groupByKey().count()
    expect(() => table.suppress(Suppressed.untilWindowCloses({ name: 'final' }))).toThrow(/suppress final: untilWindowCloses needs a windowed table/)
  })

  it('rate-limits a table with untilTimeLimit to the latest value per key', async () => {
    const builder = new StreamsBuilder()
    builder
      .stream('in', str)
      .groupByKey()
      .count({ cachingEnabled: false })
      .suppress(Suppressed.untilTimeLimit(10))
      .toStream()
      .to('out', { valueSerde: longSerde })
    driver = await TopologyTestDriver.create(builder.build())
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const output = driver.createOutputTopic('out', stringSerde, longSerde)
    input.pipeInput('k', 'x', 0)
    input.pipeInput('k', 'x', 5)
    expect(output.isEmpty()).toBe(true)
    input.pipeInput('k', 'x', 10)
    expect(output.readKeyValuesToList()).toEqual([{ key: 'k', value: 3 }])
  })
})

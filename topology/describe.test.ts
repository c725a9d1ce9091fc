import { describe, expect, it } from 'vitest'
import { stringSerde } from '../schemas/index.ts'
import { Stores } from '../state/index.ts'
import { passThroughProcessor, TimeWindows } from '../processors/index.ts'
import { StreamsBuilder } from './streams-builder.ts'
import { Topology } from './topology.ts'
import { TopologyError } from './errors.ts'

const str = { keySerde: stringSerde, valueSerde: stringSerde }

describe('describe()', () => {
  it('splits a word count at its repartition topic and prints it like Kafka Streams', () => {
    const builder = new StreamsBuilder()
    builder
      .stream('streams-plaintext-input', str)
      .flatMapValues((v) => v.toLowerCase().split(' '))
      .groupBy((_k, word) => word, { keySerde: stringSerde, valueSerde: stringSerde })
      .count({ storeName: 'counts-store' })
    const description = builder.build().describe()
    expect(description.subtopologies.map((s) => s.nodes.map((n) => n.name))).toEqual([
      [
        'KSTREAM-SOURCE-0000000000',
        'KSTREAM-FLATMAPVALUES-0000000001',
        'KSTREAM-KEY-SELECT-0000000002',
        'KSTREAM-FILTER-0000000005',
        'KSTREAM-SINK-0000000004'
      ],
      ['KSTREAM-SOURCE-0000000006', 'KSTREAM-AGGREGATE-0000000003']
    ])
    expect(description.subtopologies[1]?.nodes[1]).toEqual({
      type: 'processor',
      name: 'KSTREAM-AGGREGATE-0000000003',
      stores: ['counts-store'],
      predecessors: ['KSTREAM-SOURCE-0000000006'],
      successors: []
    })
    expect(description.toString()).toBe(
      [
        'Topologies:',
        '   Sub-topology: 0',
        '    Source: KSTREAM-SOURCE-0000000000 (topics: [streams-plaintext-input])',
        '      --> KSTREAM-FLATMAPVALUES-0000000001',
        '    Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])',
        '      --> KSTREAM-KEY-SELECT-0000000002',
        '      <-- KSTREAM-SOURCE-0000000000',
        '    Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])',
        '      --> KSTREAM-FILTER-0000000005',
        '      <-- KSTREAM-FLATMAPVALUES-0000000001',
        '    Processor: KSTREAM-FILTER-0000000005 (stores: [])',
        '      --> KSTREAM-SINK-0000000004',
        '      <-- KSTREAM-KEY-SELECT-0000000002',
        '    Sink: KSTREAM-SINK-0000000004 (topic: counts-store-repartition)',
        '      <-- KSTREAM-FILTER-0000000005',
        '   Sub-topology: 1',
        '    Source: KSTREAM-SOURCE-0000000006 (topics: [counts-store-repartition])',
        '      --> KSTREAM-AGGREGATE-0000000003',
        '    Processor: KSTREAM-AGGREGATE-0000000003 (stores: [counts-store])',
        '      --> none',
        '      <-- KSTREAM-SOURCE-0000000006',
        ''
      ].join('\n')
    )
  })

  it('names unnamed stores KSTREAM-AGGREGATE-STATE-STORE-n and user-named parts by their names', () => {
    const builder = new StreamsBuilder()
    const grouped = builder.stream('in', { ...str, name: 'events' }).groupByKey()
    grouped.count()
    grouped.windowedBy(TimeWindows.ofSizeWithNoGrace(1000)).count({ storeName: 'per-second' })
    const nodes = builder
      .build()
      .describe()
      .subtopologies.flatMap((s) => s.nodes)
    expect(nodes.map((n) => [n.name, n.type === 'processor' ? n.stores : []])).toEqual([
      ['events', []],
      ['KSTREAM-AGGREGATE-0000000001', ['KSTREAM-AGGREGATE-STATE-STORE-0000000000']],
      ['KSTREAM-AGGREGATE-0000000002', ['per-second']]
    ])
  })

  it('resolves internal topics and changelogs with the application id at build', () => {
    const builder = new StreamsBuilder()
    builder
      .stream('in', str)
      .selectKey((_k, v) => v)
      .groupByKey({ name: 'by-value', keySerde: stringSerde })
      .count({ storeName: 'c' })
    const plan = builder.build().build({ applicationId: 'traffic' })
    expect(plan.internalTopics.map((t) => [t.name, t.kind])).toEqual([
      ['traffic-by-value-repartition', 'repartition'],
      ['traffic-c-changelog', 'changelog']
    ])
    expect(plan.subtopologies[1]?.sourceTopics).toEqual(['traffic-by-value-repartition'])
    expect(plan.subtopologies[0]?.nodes.map((n) => n.name)).toEqual([
      'KSTREAM-SOURCE-0000000000',
      'KSTREAM-KEY-SELECT-0000000001',
      'by-value-repartition-filter',
      'by-value-repartition-sink'
    ])
  })

  it('lists global stores after the sub-topologies', () => {
    const builder = new StreamsBuilder()
    builder.globalTable('countries', str, { storeName: 'countries-store' })
    const text = builder.build().describe().toString()
    expect(text).toContain('Sub-topology: 0 for global store (will not generate tasks)')
    expect(text).toContain('Processor: KTABLE-SOURCE-0000000001 (stores: [countries-store])')
  })
})

describe('invalid topologies fail at build with an error naming the node', () => {
  const expectTopologyError = (fn: () => unknown, code: string, nodeName: string): void => {
    try {
      fn()
    } catch (err) {
      expect(err).toBeInstanceOf(TopologyError)
      expect((err as TopologyError).code).toBe(code)
      expect((err as TopologyError).nodeName).toBe(nodeName)
      expect((err as Error).message).toContain(nodeName)
      return
    }
    expect.fail(`expected a ${code} error`)
  }

  it('rejects a cycle', () => {
    const topology = new Topology()
      .addSource('src', { topics: ['in'], ...str })
      .addProcessor('a', passThroughProcessor(), 'src', 'c')
      .addProcessor('b', passThroughProcessor(), 'a')
      .addProcessor('c', passThroughProcessor(), 'b')
    expectTopologyError(() => topology.build({ applicationId: 'app' }), 'CYCLE', 'a')
  })

  it('rejects a processor using an unknown store', () => {
    const builder = new StreamsBuilder()
    builder.stream('in', str).process(() => ({ process() {} }), { name: 'uses-store', stores: [] })
    const topology = builder.build()
    topology.addProcessor('lookup', passThroughProcessor(), 'uses-store')
    expectTopologyError(() => topology.connectProcessorAndStateStores('missing', ['lookup']).build({ applicationId: 'app' }), 'UNKNOWN_STORE', 'lookup')
  })

  it('rejects an unknown parent or source', () => {
    const topology = new Topology().addSource('src', { topics: ['in'], ...str }).addProcessor('p', passThroughProcessor(), 'no-such-source')
    expectTopologyError(() => topology.describe(), 'UNKNOWN_PARENT', 'p')
  })

  it('rejects duplicate node names, duplicate stores and a topic read twice', () => {
    const topology = new Topology().addSource('src', { topics: ['in'], ...str })
    expectTopologyError(() => topology.addProcessor('src', passThroughProcessor(), 'src'), 'DUPLICATE_NAME', 'src')
    expectTopologyError(() => topology.addSource('src2', { topics: ['in'], ...str }), 'TOPIC_ALREADY_READ', 'src2')
    const store = () => Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('s'), stringSerde, stringSerde)
    topology.addProcessor('p', passThroughProcessor(), 'src').addStateStore(store(), 'p')
    expectTopologyError(() => topology.addStateStore(store(), 'p'), 'DUPLICATE_STORE', 's')
  })

  it('rejects a join of topics declared with different partition counts', () => {
    const builder = new StreamsBuilder()
    const table = builder.table('profiles', { ...str, partitions: 3 }, { storeName: 'profiles' })
    builder.stream('clicks', { ...str, partitions: 6 }).join(table, (click, profile) => `${click}/${profile}`, { name: 'enrich' })
    expectTopologyError(() => builder.build().build({ applicationId: 'app' }), 'NOT_COPARTITIONED', 'enrich')
  })

  it('rejects a sink and a store without serdes', () => {
    const builder = new StreamsBuilder()
    const mapped = builder.stream('in', str).mapValues((v) => v.length)
    expectTopologyError(() => mapped.to('out', { name: 'lengths-out' }), 'NO_SERDE', 'lengths-out')
  })
})

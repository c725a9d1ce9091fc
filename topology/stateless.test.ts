import { afterEach, describe, expect, it } from 'vitest'
import { jsonSerde, stringSerde } from '../schemas/index.ts'
import { StreamsBuilder } from './streams-builder.ts'
import { TopologyTestDriver } from './test-driver.ts'

const str = { keySerde: stringSerde, valueSerde: stringSerde }
let driver: TopologyTestDriver | undefined

afterEach(async () => {
  await driver?.close()
  driver = undefined
})

describe('stateless KStream operators', () => {
  it('filters, filterNots, maps values and writes to a topic', async () => {
    const builder = new StreamsBuilder()
    const input = builder.stream('in', str)
    input
      .filter((_k, v) => v.startsWith('a'))
      .mapValues((v) => v.toUpperCase())
      .to('upper', str)
    input.filterNot((_k, v) => v.startsWith('a')).to('rest', str)
    driver = await TopologyTestDriver.create(builder.build())
    const topic = driver.createInputTopic('in', stringSerde, stringSerde)
    topic.pipeInput('k1', 'apple', 1)
    topic.pipeInput('k2', 'banana', 2)
    topic.pipeInput('k3', 'avocado', 3)
    expect(driver.createOutputTopic('upper', stringSerde, stringSerde).readKeyValuesToList()).toEqual([
      { key: 'k1', value: 'APPLE' },
      { key: 'k3', value: 'AVOCADO' }
    ])
    expect(driver.createOutputTopic('rest', stringSerde, stringSerde).readKeyValuesToList()).toEqual([{ key: 'k2', value: 'banana' }])
  })

  it('maps, flatMaps, flatMapValues and selects keys, keeping record timestamps', async () => {
    const builder = new StreamsBuilder()
    const input = builder.stream('in', str)
    input.map((k, v) => ({ key: v, value: k })).to('swapped', str)
    input.flatMap((k, v) => v.split(' ').map((w) => ({ key: w, value: k }))).to('words', str)
    input.flatMapValues((v) => v.split(' ')).to('values', str)
    input.selectKey((_k, v) => v.length.toString()).to('by-length', str)
    driver = await TopologyTestDriver.create(builder.build())
    driver.createInputTopic('in', stringSerde, stringSerde).pipeInput('k', 'a bc', 42)
    const swapped = driver.createOutputTopic('swapped', stringSerde, stringSerde).readRecord()
    expect([swapped.key, swapped.value, swapped.timestampMs]).toEqual(['a bc', 'k', 42])
    expect(driver.createOutputTopic('words', stringSerde, stringSerde).readKeyValuesToList()).toEqual([
      { key: 'a', value: 'k' },
      { key: 'bc', value: 'k' }
    ])
    expect(driver.createOutputTopic('values', stringSerde, stringSerde).readValuesToList()).toEqual(['a', 'bc'])
    expect(driver.createOutputTopic('by-length', stringSerde, stringSerde).readKeyValue()).toEqual({ key: '4', value: 'a bc' })
  })

  it('peeks and runs foreach on every record', async () => {
    const builder = new StreamsBuilder()
    const peeked: string[] = []
    const seen: string[] = []
    builder
      .stream('in', str)
      .peek((k) => peeked.push(k))
      .foreach((_k, v) => seen.push(v))
    driver = await TopologyTestDriver.create(builder.build())
    const topic = driver.createInputTopic('in', stringSerde, stringSerde)
    topic.pipeKeyValueList(
      [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' }
      ],
      10,
      5
    )
    expect(peeked).toEqual(['a', 'b'])
    expect(seen).toEqual(['1', '2'])
  })

  it('splits into named branches with a default branch, each record going to the first match', async () => {
    const builder = new StreamsBuilder()
    const branches = builder
      .stream('in', str)
      .split({ name: 'split-' })
      .branch((_k, v) => v.startsWith('a'), { name: 'a' })
      .branch((_k, v) => v.startsWith('ab'), { name: 'ab' })
      .defaultBranch({ name: 'other' })
    expect([...branches.keys()]).toEqual(['split-a', 'split-ab', 'split-other'])
    branches.get('split-a')?.to('a', str)
    branches.get('split-ab')?.to('ab', str)
    branches.get('split-other')?.to('other', str)
    driver = await TopologyTestDriver.create(builder.build())
    const topic = driver.createInputTopic('in', stringSerde, stringSerde)
    topic.pipeInput('1', 'abc', 1)
    topic.pipeInput('2', 'xyz', 2)
    expect(driver.createOutputTopic('a', stringSerde, stringSerde).readValuesToList()).toEqual(['abc'])
    expect(driver.createOutputTopic('ab', stringSerde, stringSerde).isEmpty()).toBe(true)
    expect(driver.createOutputTopic('other', stringSerde, stringSerde).readValuesToList()).toEqual(['xyz'])
  })

  it('merges two streams and sends records to the topic a chooser picks', async () => {
    const builder = new StreamsBuilder()
    const a = builder.stream('a', str)
    const b = builder.stream('b', str)
    a.merge(b).to((key) => `out-${key}`, str)
    driver = await TopologyTestDriver.create(builder.build())
    driver.createInputTopic('a', stringSerde, stringSerde).pipeInput('x', '1', 1)
    driver.createInputTopic('b', stringSerde, stringSerde).pipeInput('y', '2', 2)
    expect(driver.createOutputTopic('out-x', stringSerde, stringSerde).readValuesToList()).toEqual(['1'])
    expect(driver.createOutputTopic('out-y', stringSerde, stringSerde).readValuesToList()).toEqual(['2'])
  })

  it('passes tombstones (null values) through and serializes typed JSON values', async () => {
    const builder = new StreamsBuilder()
    const serde = jsonSerde<{ n: number }>()
    builder.stream('in', { keySerde: stringSerde, valueSerde: serde }).to('out')
    driver = await TopologyTestDriver.create(builder.build(), {})
    const input = driver.createInputTopic('in', stringSerde, serde)
    input.pipeInput('k', { n: 1 }, 1)
    input.pipeInput('k', null, 2)
    expect(driver.createOutputTopic('out', stringSerde, serde).readValuesToList()).toEqual([{ n: 1 }, null])
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import { longSerde, stringSerde } from '../schemas/index.ts'
import { JoinWindows, TimeWindows } from '../processors/index.ts'
import { Suppressed } from './options.ts'
import { StreamsBuilder } from './streams-builder.ts'
import { TopologyTestDriver } from './test-driver.ts'

const str = { keySerde: stringSerde, valueSerde: stringSerde }
let driver: TopologyTestDriver | undefined

afterEach(async () => {
  await driver?.close()
  driver = undefined
})

describe('restarting tasks in the test driver', () => {
  it('restores logged stores from their changelog and leaves unlogged ones empty', async () => {
    const builder = new StreamsBuilder()
    const grouped = builder.stream('in', str).groupByKey()
    grouped.count({ storeName: 'logged' })
    grouped.count({ storeName: 'unlogged', loggingEnabled: false })
    driver = await TopologyTestDriver.create(builder.build(), { defaultPartitions: 2 })
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    for (const key of ['a', 'b', 'a', 'c']) input.pipeInput(key, 'x', 1)
    await driver.restartTasks()
    expect(driver.getKeyValueStore<string, number>('logged').get('a')).toBe(2)
    expect(driver.getKeyValueStore<string, number>('unlogged').get('a')).toBeUndefined()
    input.pipeInput('a', 'x', 2)
    expect(driver.getKeyValueStore<string, number>('logged').get('a')).toBe(3)
  })

  it('resumes stream time, so a window closed before the restart stays closed after it', async () => {
    const builder = new StreamsBuilder()
    builder.stream('in', str).groupByKey().windowedBy(TimeWindows.ofSizeAndGrace(10, 5)).count({ storeName: 'counts' })
    driver = await TopologyTestDriver.create(builder.build(), { defaultPartitions: 1 })
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    input.pipeInput('k', 'x', 3)
    input.pipeInput('k', 'x', 20) // stream time 20 >= window [0,10) end + grace: closed
    await driver.restartTasks()
    expect(driver.streamTimes()).toEqual({ '0_0': 20 })
    input.pipeInput('k', 'x', 4) // late for the closed window: dropped, as without the restart
    expect(driver.getWindowStore<string, number>('counts').fetchWindow('k', 0)).toBe(1)
    expect(driver.droppedRecords()).toBe(1)
  })
})

describe('suppress buffer fault tolerance', () => {
  async function finalCounts(options: { loggingEnabled?: boolean; name?: string } = {}): Promise<TopologyTestDriver> {
    const builder = new StreamsBuilder()
    builder
      .stream('in', str)
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(10, 5))
      .count({ storeName: 'counts' })
      .suppress(Suppressed.untilWindowCloses(options))
      .toStream()
      .map((w, c) => ({ key: `${w.key}@${w.window.startMs}`, value: c }))
      .to('final', { keySerde: stringSerde, valueSerde: longSerde })
    return TopologyTestDriver.create(builder.build(), { defaultPartitions: 2 })
  }

  it('names the buffer store after the suppress processor and shows it in describe()', () => {
    const builder = new StreamsBuilder()
    builder
      .stream('in', str)
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeWithNoGrace(10))
      .count({ storeName: 'counts' })
      .suppress(Suppressed.untilWindowCloses({ name: 'final-counts' }))
    const described = builder.build().describe()
    const node = described.subtopologies[0]?.nodes.find((n) => n.name === 'final-counts')
    expect(node).toMatchObject({ type: 'processor', stores: ['final-counts-store'] })
    expect(described.toString()).toContain('Processor: final-counts (stores: [final-counts-store])')
    const unnamed = new StreamsBuilder()
    unnamed.stream('in', str).groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(10)).count().suppress(Suppressed.untilWindowCloses())
    const stores = unnamed
      .build()
      .describe()
      .subtopologies[0]?.nodes.flatMap((n) => (n.type === 'processor' ? [...n.stores] : []))
    expect(stores).toEqual(['KSTREAM-AGGREGATE-STATE-STORE-0000000001', 'KTABLE-SUPPRESS-0000000003-store'])
  })

  it('emits what was buffered before a restart, once, with the counts of before and after it', async () => {
    driver = await finalCounts({ name: 'final-counts' })
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const output = driver.createOutputTopic('final', stringSerde, longSerde)
    input.pipeInput('a', 'x', 1)
    input.pipeInput('b', 'x', 2)
    input.pipeInput('a', 'x', 3)
    expect(output.isEmpty()).toBe(true)
    expect(driver.getChangelogRecords('final-counts-store').length).toBeGreaterThan(0)
    expect(driver.plan.internalTopics.map((t) => t.name)).toContain('test-app-final-counts-store-changelog')
    await driver.restartTasks()
    input.pipeInput('a', 'x', 4) // after the restart, in the same window [0, 10)
    // Stream time restarts from this task's records: 20 closes [0, 10) (20 >= 10 + 5) in both tasks.
    input.pipeInput('a', 'x', 20, { partition: 0 })
    input.pipeInput('a', 'x', 20, { partition: 1 })
    const emitted = output.readKeyValuesToList()
    expect(emitted.filter((r) => r.key === 'a@0')).toEqual([{ key: 'a@0', value: 3 }])
    expect(emitted.filter((r) => r.key === 'b@0')).toEqual([{ key: 'b@0', value: 1 }])
    // A second restart does not emit the windows again: their emission was logged as deletes.
    await driver.restartTasks()
    input.pipeInput('z', 'x', 40, { partition: 0 })
    input.pipeInput('z', 'x', 40, { partition: 1 })
    expect(output.readKeyValuesToList().filter((r) => r.key === 'a@0' || r.key === 'b@0')).toEqual([])
  })

  it('loses the buffered updates on restart when the buffer is not logged', async () => {
    driver = await finalCounts({ loggingEnabled: false })
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const output = driver.createOutputTopic('final', stringSerde, longSerde)
    input.pipeInput('a', 'x', 1)
    await driver.restartTasks()
    input.pipeInput('a', 'x', 20, { partition: 0 })
    input.pipeInput('a', 'x', 20, { partition: 1 })
    expect(output.readKeyValuesToList().filter((r) => r.key === 'a@0')).toEqual([])
  })

  it('requires a value serde for the buffer and names the suppress node when none is known', () => {
    const builder = new StreamsBuilder()
    const table = builder
      .stream('in', str)
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeWithNoGrace(10))
      .count()
      .mapValues((c) => `${c}`)
    expect(() => table.suppress(Suppressed.untilWindowCloses({ name: 'final' }))).toThrow(/final needs a value serde/)
    expect(() => table.suppress(Suppressed.untilWindowCloses({ name: 'final2', valueSerde: stringSerde }))).not.toThrow()
  })
})

describe('stream-stream outer join store fault tolerance', () => {
  async function join(kind: 'left' | 'outer', options: { storeName?: string; loggingEnabled?: boolean } = {}): Promise<TopologyTestDriver> {
    const builder = new StreamsBuilder()
    const left = builder.stream('left', str)
    const right = builder.stream('right', str)
    const joiner = (l: string | null, r: string | null): string => `${l ?? '-'}+${r ?? '-'}`
    const windows = JoinWindows.ofTimeDifferenceAndGrace(10, 5)
    const joined = kind === 'left' ? left.leftJoin(right, joiner, windows, options) : left.outerJoin(right, joiner, windows, options)
    joined.to('out', str)
    return TopologyTestDriver.create(builder.build())
  }

  it('adds a shared store of waiting records to left and outer joins, connected to both join processors', () => {
    const builder = new StreamsBuilder()
    builder
      .stream('left', str)
      .leftJoin(builder.stream('right', str), (l, r) => `${l}${r}`, JoinWindows.ofTimeDifferenceWithNoGrace(5), { storeName: 'clicks' })
    const nodes = builder.build().describe().subtopologies[0]?.nodes ?? []
    const stores = nodes.filter((n) => n.type === 'processor' && n.stores.length > 0).map((n) => (n.type === 'processor' ? [...n.stores].sort() : []))
    expect(stores).toEqual([
      ['clicks-other-join-store', 'clicks-outer-shared-join-store', 'clicks-this-join-store'],
      ['clicks-other-join-store', 'clicks-outer-shared-join-store', 'clicks-this-join-store']
    ])
    const inner = new StreamsBuilder()
    inner.stream('left', str).join(inner.stream('right', str), (l, r) => `${l}${r}`, JoinWindows.ofTimeDifferenceWithNoGrace(5))
    const innerStores = inner
      .build()
      .describe()
      .subtopologies[0]?.nodes.flatMap((n) => (n.type === 'processor' ? [...n.stores] : []))
    expect(innerStores?.some((s) => s.includes('outer-shared'))).toBe(false)
  })

  it('emits a left record that waited across a restart once its window closes, and only once', async () => {
    driver = await join('left', { storeName: 'j' })
    const left = driver.createInputTopic('left', stringSerde, stringSerde)
    const out = driver.createOutputTopic('out', stringSerde, stringSerde)
    left.pipeInput('a', 'La', 100)
    left.pipeInput('b', 'Lb', 101)
    expect(driver.getChangelogRecords('j-outer-shared-join-store').length).toBe(2)
    await driver.restartTasks()
    expect(out.readValuesToList()).toEqual([])
    left.pipeInput('c', 'Lc', 116) // stream time 116 >= 100 + 10 + 5: La's window closed
    expect(out.readValuesToList()).toEqual(['La+-', 'Lb+-'])
    await driver.restartTasks()
    left.pipeInput('d', 'Ld', 200)
    expect(out.readValuesToList()).toEqual(['Lc+-'])
  })

  it('does not emit a waiting left record with null when its partner arrives after a restart', async () => {
    driver = await join('left')
    const left = driver.createInputTopic('left', stringSerde, stringSerde)
    const right = driver.createInputTopic('right', stringSerde, stringSerde)
    const out = driver.createOutputTopic('out', stringSerde, stringSerde)
    left.pipeInput('a', 'La', 100)
    await driver.restartTasks()
    right.pipeInput('a', 'Ra', 105)
    expect(out.readValuesToList()).toEqual(['La+Ra'])
    left.pipeInput('z', 'Lz', 200)
    expect(out.readValuesToList()).toEqual([])
  })

  it('emits waiting records of both sides of an outer join after a restart, in timestamp order', async () => {
    driver = await join('outer')
    const left = driver.createInputTopic('left', stringSerde, stringSerde)
    const right = driver.createInputTopic('right', stringSerde, stringSerde)
    const out = driver.createOutputTopic('out', stringSerde, stringSerde)
    right.pipeInput('r', 'Rr', 50)
    left.pipeInput('l', 'Ll', 40)
    left.pipeInput('l', 'Ll2', 40)
    await driver.restartTasks()
    right.pipeInput('x', 'Rx', 100)
    expect(out.readValuesToList()).toEqual(['Ll+-', 'Ll2+-', '-+Rr'])
  })

  it('loses the waiting records on restart when the join stores are not logged', async () => {
    driver = await join('left', { loggingEnabled: false })
    const left = driver.createInputTopic('left', stringSerde, stringSerde)
    const out = driver.createOutputTopic('out', stringSerde, stringSerde)
    left.pipeInput('a', 'La', 100)
    await driver.restartTasks()
    left.pipeInput('c', 'Lc', 200)
    expect(out.readValuesToList()).toEqual([])
  })
})

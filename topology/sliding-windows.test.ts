import { afterEach, describe, expect, it } from 'vitest'
import { jsonSerde, longSerde, stringSerde } from '../schemas/index.ts'
import type { Windowed } from '../state/index.ts'
import { InvalidOptionError, SlidingWindows } from '../processors/index.ts'
import { Suppressed } from './options.ts'
import { StreamsBuilder } from './streams-builder.ts'
import { TopologyTestDriver } from './test-driver.ts'
import { seededRandom } from '../test/support/random.ts'

const str = { keySerde: stringSerde, valueSerde: stringSerde }
const listSerde = jsonSerde<string[]>()
const label = (w: Windowed<string>): string => `${w.key}@${w.window.startMs}-${w.window.endMs}`
let driver: TopologyTestDriver | undefined

afterEach(async () => {
  await driver?.close()
  driver = undefined
})

/** Collects the values of each sliding window, sorted, so that contents compare whatever the order. */
async function slidingLists(windows: SlidingWindows, options: { cachingEnabled?: boolean; autoCommit?: boolean } = {}): Promise<TopologyTestDriver> {
  const builder = new StreamsBuilder()
  builder
    .stream('in', str)
    .groupByKey()
    .windowedBy(windows)
    .aggregate(
      (): string[] => [],
      (_k, v, list) => [...list, v].sort(),
      { storeName: 'sliding', valueSerde: listSerde, cachingEnabled: options.cachingEnabled ?? false }
    )
    .toStream()
    .map((w, list) => ({ key: label(w), value: list }))
    .to('out', { keySerde: stringSerde, valueSerde: listSerde })
  return TopologyTestDriver.create(builder.build(), { autoCommit: options.autoCommit ?? true })
}

/** [window start, sorted values] of every window of `key` in the store. */
function storeWindows(d: TopologyTestDriver, key: string): Array<[number, string[]]> {
  return [...d.getWindowStore<string, string[]>('sliding').fetch(key, 0, Number.MAX_SAFE_INTEGER)].map((e) => [e.key, e.value])
}

describe('sliding windows', () => {
  it('creates the five windows of the SlidingWindows javadoc example, left windows and right windows', async () => {
    // Kafka Streams javadoc, SlidingWindows (3.x): time difference 5000 ms, records A at 8000, 9200,
    // 12400 give [3000;8000] {1}, [4200;9200] {1,2}, [7400;12400] {1,2,3}, [8001;13001] {2,3} and
    // [9201;14201] {3}: a window is created when a record enters it or a record drops out of it.
    driver = await slidingLists(SlidingWindows.ofTimeDifferenceWithNoGrace(5000))
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const output = driver.createOutputTopic('out', stringSerde, listSerde)
    input.pipeInput('A', '1', 8000)
    expect(output.readRecordsToList().map((r) => [r.key, r.value, r.timestampMs])).toEqual([['A@3000-8000', ['1'], 8000]])
    input.pipeInput('A', '2', 9200)
    // The second record is the first to fall in the right window of the first one.
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'A@8001-13001', value: ['2'] },
      { key: 'A@4200-9200', value: ['1', '2'] }
    ])
    input.pipeInput('A', '3', 12400)
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'A@8001-13001', value: ['2', '3'] },
      { key: 'A@9201-14201', value: ['3'] },
      { key: 'A@7400-12400', value: ['1', '2', '3'] }
    ])
    const windows = [...driver.getWindowStore<string, string[]>('sliding').fetch('A', 0, 20_000)]
    expect(windows.map((w) => [w.key, w.value])).toEqual([
      [3000, ['1']],
      [4200, ['1', '2']],
      [7400, ['1', '2', '3']],
      [8001, ['2', '3']],
      [9201, ['3']]
    ])
  })

  it('puts an out-of-order record into the windows that contain it and creates its own left and right windows', async () => {
    driver = await slidingLists(SlidingWindows.ofTimeDifferenceAndGrace(5000, 10_000))
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const output = driver.createOutputTopic('out', stringSerde, listSerde)
    input.pipeInput('A', '1', 8000)
    input.pipeInput('A', '2', 9200)
    input.pipeInput('A', '3', 12400)
    output.readRecordsToList()
    input.pipeInput('A', '0', 6000)
    expect(output.readRecordsToList().map((r) => [r.key, r.value, r.timestampMs])).toEqual([
      // Existing windows containing 6000; their max record timestamp stays the output timestamp.
      ['A@3000-8000', ['0', '1'], 8000],
      ['A@4200-9200', ['0', '1', '2'], 9200],
      // Its left window holds only itself (nothing in [1000, 6000) yet).
      ['A@1000-6000', ['0'], 6000],
      // Its right window (6000, 11001] holds the later records 1 and 2, not itself.
      ['A@6001-11001', ['1', '2'], 9200]
    ])
    expect(storeWindows(driver, 'A')).toEqual([
      [1000, ['0']],
      [3000, ['0', '1']],
      [4200, ['0', '1', '2']],
      [6001, ['1', '2']],
      [7400, ['1', '2', '3']],
      [8001, ['2', '3']],
      [9201, ['3']]
    ])
  })

  it('counts records less than the time difference after the epoch in the window [0, time difference]', async () => {
    driver = await slidingLists(SlidingWindows.ofTimeDifferenceAndGrace(10, 100))
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    input.pipeInput('k', 'a', 8)
    input.pipeInput('k', 'b', 3)
    input.pipeInput('k', 'c', 15)
    expect(storeWindows(driver, 'k')).toEqual([
      [0, ['a', 'b']],
      [4, ['a']],
      [5, ['a', 'c']],
      [9, ['c']]
    ])
  })

  it('accepts a record at exactly window end + grace and drops it one millisecond later', async () => {
    // Kafka Streams javadoc, SlidingWindows: "a window is closed when stream-time > window-end +
    // grace-period" (both ends of a sliding window are inclusive).
    const builder = new StreamsBuilder()
    builder.stream('in', str).groupByKey().windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(10, 5)).count({ storeName: 'sliding', cachingEnabled: false })
    driver = await TopologyTestDriver.create(builder.build())
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const store = () => driver?.getWindowStore<string, number>('sliding')
    input.pipeInput('a', 'x', 100) // window [90, 100]
    input.pipeInput('b', 'x', 105) // stream time 105 = 100 + 5: [90, 100] is still open
    input.pipeInput('a', 'x', 92)
    expect(store()?.fetchWindow('a', 90)).toBe(2)
    // Its own left window [82, 92] was already closed (92 + 5 < 105): counted as late.
    expect(store()?.fetchWindow('a', 82)).toBeUndefined()
    expect(driver.droppedRecords('late')).toBe(1)
    input.pipeInput('b', 'x', 106) // stream time 106 > 100 + 5: [90, 100] is closed
    input.pipeInput('a', 'x', 94)
    expect(store()?.fetchWindow('a', 90)).toBe(2)
    expect(driver.droppedRecords('late')).toBe(3) // [90, 100] and the left window [84, 94]
    // Kafka Streams drops a record outright once even its right window would be closed:
    // t + 1 + time difference <= stream time - grace.
    input.pipeInput('a', 'x', 90)
    expect(driver.droppedRecords('late')).toBe(4)
    expect(store()?.fetchWindow('a', 80)).toBeUndefined()
  })

  it('emits with the max record timestamp of the window, with and without a cache', async () => {
    for (const cachingEnabled of [false, true]) {
      const d = await slidingLists(SlidingWindows.ofTimeDifferenceAndGrace(10, 100), { cachingEnabled })
      const input = d.createInputTopic('in', stringSerde, stringSerde)
      const output = d.createOutputTopic('out', stringSerde, listSerde)
      input.pipeInput('k', 'late', 100)
      output.readRecordsToList()
      input.pipeInput('k', 'early', 95)
      const updated = output.readRecordsToList().find((r) => r.key === 'k@90-100')
      expect([cachingEnabled, updated?.value, updated?.timestampMs]).toEqual([cachingEnabled, ['early', 'late'], 100])
      await d.close()
    }
  })

  it('emits each window at most once per commit with a cache', async () => {
    driver = await slidingLists(SlidingWindows.ofTimeDifferenceWithNoGrace(10), { cachingEnabled: true, autoCommit: false })
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const output = driver.createOutputTopic('out', stringSerde, listSerde)
    input.pipeInput('k', 'a', 100)
    input.pipeInput('k', 'b', 100)
    input.pipeInput('k', 'c', 100)
    expect(output.isEmpty()).toBe(true)
    driver.commit()
    expect(output.readKeyValuesToList()).toEqual([{ key: 'k@90-100', value: ['a', 'b', 'c'] }])
  })

  it('reduces and counts over sliding windows', async () => {
    const builder = new StreamsBuilder()
    const grouped = builder.stream('in', { keySerde: stringSerde, valueSerde: longSerde }).groupByKey()
    grouped.windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(10)).reduce((a, b) => a + b, { storeName: 'sums', cachingEnabled: false })
    grouped.windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(10)).count({ storeName: 'counts', cachingEnabled: false })
    driver = await TopologyTestDriver.create(builder.build())
    const input = driver.createInputTopic('in', stringSerde, longSerde)
    input.pipeInput('k', 5, 20)
    input.pipeInput('k', 7, 25)
    input.pipeInput('k', 1, 40)
    const sums = [...driver.getWindowStore<string, number>('sums').fetch('k', 0, 100)].map((e) => [e.key, e.value])
    const counts = [...driver.getWindowStore<string, number>('counts').fetch('k', 0, 100)].map((e) => [e.key, e.value])
    // 40 is more than 10 after 25: the right window of 25 stays empty and is never created.
    expect(sums).toEqual([
      [10, 5],
      [15, 12],
      [21, 7],
      [30, 1]
    ])
    expect(counts).toEqual([
      [10, 1],
      [15, 2],
      [21, 1],
      [30, 1]
    ])
  })

  it('suppresses a sliding window until stream time passes its end + grace', async () => {
    const builder = new StreamsBuilder()
    builder
      .stream('in', str)
      .groupByKey()
      .windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(10))
      .count({ cachingEnabled: false })
      .suppress(Suppressed.untilWindowCloses())
      .toStream()
      .map((w, c) => ({ key: label(w), value: c }))
      .to('final', { keySerde: stringSerde, valueSerde: longSerde })
    driver = await TopologyTestDriver.create(builder.build())
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const output = driver.createOutputTopic('final', stringSerde, longSerde)
    input.pipeInput('a', 'x', 100)
    input.pipeInput('b', 'x', 100) // stream time 100 = end of [90, 100]: the end is in the window
    expect(output.isEmpty()).toBe(true)
    input.pipeInput('b', 'x', 101)
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'a@90-100', value: 1 },
      { key: 'b@90-100', value: 1 }
    ])
  })

  it('keeps sliding windows for 2 x time difference + grace at least, in a compacted and deleted changelog', () => {
    const builder = new StreamsBuilder()
    builder.stream('in', str).groupByKey().windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(1000, 500)).count({ storeName: 'sliding', retentionMs: 2500 })
    const changelog = builder
      .build()
      .build({ applicationId: 'app' })
      .internalTopics.find((t) => t.name === 'app-sliding-changelog')
    expect(changelog?.config).toEqual({ 'cleanup.policy': 'compact,delete', 'retention.ms': String(2500 + 86_400_000) })
    const tooShort = new StreamsBuilder()
    const grouped = tooShort.stream('in', str).groupByKey().windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(1000, 500))
    expect(() => grouped.count({ storeName: 'sliding', retentionMs: 2499 })).toThrow(/retentionMs of store sliding \(2499\) must be at least/)
  })

  it('rejects a time difference that is not a positive integer and a negative grace, naming the option', () => {
    expect(() => SlidingWindows.ofTimeDifferenceWithNoGrace(0)).toThrow(InvalidOptionError)
    expect(() => SlidingWindows.ofTimeDifferenceWithNoGrace(0)).toThrow(/timeDifferenceMs/)
    expect(() => SlidingWindows.ofTimeDifferenceAndGrace(10, -1)).toThrow(/graceMs/)
    expect(SlidingWindows.ofTimeDifferenceAndGrace(10, 5).minimumRetentionMs).toBe(25)
  })
})

describe('sliding windows against their definition', () => {
  /**
   * The windows a set of records defines (KIP-450): for each record at t its left window
   * [t - d, t] ([0, d] when t < d), and its right window [t + 1, t + 1 + d] when a record falls in
   * (t, t + 1 + d]; each window holds every record whose timestamp it contains.
   */
  function expectedWindows(records: ReadonlyArray<{ id: string; ts: number }>, d: number): Array<[number, string[]]> {
    const starts = new Set<number>()
    for (const r of records) {
      starts.add(Math.max(0, r.ts - d))
      if (records.some((q) => q.ts > r.ts && q.ts <= r.ts + 1 + d)) starts.add(r.ts + 1)
    }
    return [...starts]
      .sort((a, b) => a - b)
      .map((start) => [
        start,
        records
          .filter((r) => r.ts >= start && r.ts <= start + d)
          .map((r) => r.id)
          .sort()
      ])
  }

  it('matches the windows defined by the records for random out-of-order input, with and without a cache', async () => {
    const d = 10
    for (let seed = 1; seed <= 40; seed++) {
      const next = seededRandom(seed)
      const records = Array.from({ length: 25 }, (_, i) => ({ key: next() < 0.5 ? 'x' : 'y', id: `r${i}`, ts: Math.floor(next() * 80) }))
      const cachingEnabled = seed % 2 === 0
      const dr = await slidingLists(SlidingWindows.ofTimeDifferenceAndGrace(d, 1000), { cachingEnabled })
      const input = dr.createInputTopic('in', stringSerde, stringSerde)
      for (const r of records) input.pipeInput(r.key, r.id, r.ts)
      for (const key of ['x', 'y']) {
        const actual = storeWindows(dr, key)
        expect({ seed, key, windows: actual }).toEqual({
          seed,
          key,
          windows: expectedWindows(
            records.filter((r) => r.key === key),
            d
          )
        })
      }
      // The output, read as a table, ends with the store's content.
      const latest = dr.createOutputTopic('out', stringSerde, listSerde).readKeyValuesToMap()
      for (const key of ['x', 'y']) {
        for (const [start, list] of expectedWindows(
          records.filter((r) => r.key === key),
          d
        )) {
          expect([seed, start, latest.get(`${key}@${start}-${start + d}`)]).toEqual([seed, start, list])
        }
      }
      await dr.close()
    }
  })
})

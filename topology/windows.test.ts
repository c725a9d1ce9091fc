import { afterEach, describe, expect, it } from 'vitest'
import { longSerde, stringSerde } from '../schemas/index.ts'
import type { Windowed } from '../state/index.ts'
import { SessionWindows, TimeWindows } from '../processors/index.ts'
import { StreamsBuilder } from './streams-builder.ts'
import { TopologyTestDriver } from './test-driver.ts'

const str = { keySerde: stringSerde, valueSerde: stringSerde }
const label = (w: Windowed<string>): string => `${w.key}@${w.window.startMs}-${w.window.endMs}`
let driver: TopologyTestDriver | undefined

afterEach(async () => {
  await driver?.close()
  driver = undefined
})

async function windowedCount(windows: TimeWindows, partitions = 1): Promise<TopologyTestDriver> {
  const builder = new StreamsBuilder()
  builder
    .stream('in', str)
    .groupByKey()
    .windowedBy(windows)
    .count({ storeName: 'counts', cachingEnabled: false })
    .toStream()
    .map((w, count) => ({ key: label(w), value: count }))
    .to('out', { keySerde: stringSerde, valueSerde: longSerde })
  return TopologyTestDriver.create(builder.build(), { defaultPartitions: partitions })
}

describe('time windows', () => {
  it('aligns tumbling windows to the epoch and counts per window', async () => {
    driver = await windowedCount(TimeWindows.ofSizeWithNoGrace(60_000))
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    input.pipeInput('s', 'x', 1_763_726_400_500)
    input.pipeInput('s', 'x', 1_763_726_459_999)
    input.pipeInput('s', 'x', 1_763_726_460_000)
    expect(driver.createOutputTopic('out', stringSerde, longSerde).readKeyValuesToList()).toEqual([
      { key: 's@1763726400000-1763726460000', value: 1 },
      { key: 's@1763726400000-1763726460000', value: 2 },
      { key: 's@1763726460000-1763726520000', value: 1 }
    ])
    expect(driver.getWindowStore<string, number>('counts').fetchWindow('s', 1_763_726_400_000)).toBe(2)
  })

  it('puts a record into every hopping window that contains it', async () => {
    driver = await windowedCount(TimeWindows.ofSizeWithNoGrace(10).advanceBy(5))
    driver.createInputTopic('in', stringSerde, stringSerde).pipeInput('k', 'x', 7)
    expect(driver.createOutputTopic('out', stringSerde, longSerde).readKeyValuesToList()).toEqual([
      { key: 'k@0-10', value: 1 },
      { key: 'k@5-15', value: 1 }
    ])
  })

  it('computes the window starts of hopping windows as Kafka Streams does', () => {
    const windows = TimeWindows.ofSizeWithNoGrace(300_000).advanceBy(60_000)
    expect(windows.windowStartsFor(1_000_000)).toEqual([720_000, 780_000, 840_000, 900_000, 960_000])
    expect(windows.windowStartsFor(30_000)).toEqual([0])
  })

  it('accepts out-of-order records within grace and drops them at exactly window end + grace', async () => {
    // Kafka Streams Developer Guide, DSL API, "Windowing" / grace period: a window accepts
    // out-of-order records until stream time reaches window end + grace; it is closed from then on
    // (KStreamWindowAggregate: a record is processed only if windowEnd > streamTime - grace).
    driver = await windowedCount(TimeWindows.ofSizeAndGrace(10, 5))
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const output = driver.createOutputTopic('out', stringSerde, longSerde)
    input.pipeInput('k', 'x', 0)
    input.pipeInput('k', 'x', 14) // stream time 14 < 10 + 5: window [0,10) still open
    input.pipeInput('k', 'x', 2)
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'k@0-10', value: 1 },
      { key: 'k@10-20', value: 1 },
      { key: 'k@0-10', value: 2 }
    ])
    input.pipeInput('other', 'x', 15) // stream time 15 = 10 + 5: window [0,10) is now closed
    input.pipeInput('k', 'x', 3)
    expect(output.readKeyValuesToList()).toEqual([{ key: 'other@10-20', value: 1 }])
    expect(driver.getWindowStore<string, number>('counts').fetchWindow('k', 0)).toBe(2)
    expect(driver.droppedRecords('late')).toBe(1)
    expect(driver.lateRecordsByTask()).toEqual({ '0_0': 1 })
  })

  it('counts a late record once per closed hopping window, while still updating open ones', async () => {
    driver = await windowedCount(TimeWindows.ofSizeWithNoGrace(10).advanceBy(5))
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const output = driver.createOutputTopic('out', stringSerde, longSerde)
    input.pipeInput('k', 'x', 12)
    output.readRecordsToList()
    input.pipeInput('k', 'x', 7) // windows [0,10) closed (10 <= 12) and [5,15) open
    expect(output.readKeyValuesToList()).toEqual([{ key: 'k@5-15', value: 2 }])
    expect(driver.droppedRecords('late')).toBe(1)
  })

  it('hands the aggregator the window it updates, and counts late drops under the name given to the aggregation', async () => {
    const builder = new StreamsBuilder()
    builder
      .stream('in', str)
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeWithNoGrace(10).advanceBy(5))
      .aggregate(
        () => '',
        (_key, value, aggregate, window) => `${aggregate}${value}[${window.startMs},${window.endMs})`,
        { storeName: 'seen', valueSerde: stringSerde, cachingEnabled: false },
        { name: 'window-seen' }
      )
      .toStream()
      .map((w, seen) => ({ key: label(w), value: seen ?? '' }))
      .to('out', str)
    driver = await TopologyTestDriver.create(builder.build())
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    input.pipeInput('k', 'a', 7)
    input.pipeInput('k', 'b', 16)
    input.pipeInput('k', 'c', 4) // [0,10) closed at stream time 16; [-5,5) too
    expect(driver.createOutputTopic('out', stringSerde, stringSerde).readKeyValuesToList()).toEqual([
      { key: 'k@0-10', value: 'a[0,10)' },
      { key: 'k@5-15', value: 'a[5,15)' },
      { key: 'k@10-20', value: 'b[10,20)' },
      { key: 'k@15-25', value: 'b[15,25)' }
    ])
    expect(driver.droppedRecords('late', 'window-seen')).toBe(1)
  })

  it('keeps stream time per task: a late record in one partition is on time in another', async () => {
    driver = await windowedCount(TimeWindows.ofSizeWithNoGrace(10), 2)
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    input.pipeInput('x', 'v', 100, { partition: 0 })
    input.pipeInput('y', 'v', 5, { partition: 1 })
    input.pipeInput('x', 'v', 5, { partition: 0 })
    expect(driver.streamTimes()).toEqual({ '0_0': 100, '0_1': 5 })
    expect(driver.lateRecordsByTask()).toEqual({ '0_0': 1, '0_1': 0 })
  })
})

describe('session windows', () => {
  async function sessionCount(windows: SessionWindows, cachingEnabled = false): Promise<TopologyTestDriver> {
    const builder = new StreamsBuilder()
    builder
      .stream('in', str)
      .groupByKey()
      .windowedBy(windows)
      .count({ storeName: 'sessions', cachingEnabled })
      .toStream()
      .map((w, count) => ({ key: label(w), value: count }))
      .to('out', { keySerde: stringSerde, valueSerde: longSerde })
    return TopologyTestDriver.create(builder.build())
  }

  it('treats the inactivity gap as inclusive: records exactly gap apart share a session', async () => {
    // Kafka Streams javadoc, SessionWindows: records closer than or equal to the gap are merged
    // (sessions are found with end >= t - gap and start <= t + gap).
    driver = await sessionCount(SessionWindows.ofInactivityGapWithNoGrace(10))
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    input.pipeInput('k', 'x', 0)
    input.pipeInput('k', 'x', 10)
    input.pipeInput('k', 'x', 21)
    expect(driver.createOutputTopic('out', stringSerde, longSerde).readKeyValuesToList()).toEqual([
      { key: 'k@0-0', value: 1 },
      { key: 'k@0-0', value: null },
      { key: 'k@0-10', value: 2 },
      { key: 'k@21-21', value: 1 }
    ])
  })

  it('merges two sessions joined by an out-of-order record and sends tombstones for both', async () => {
    driver = await sessionCount(SessionWindows.ofInactivityGapAndGrace(10, 100))
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const output = driver.createOutputTopic('out', stringSerde, longSerde)
    input.pipeInput('k', 'x', 0)
    input.pipeInput('k', 'x', 20)
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'k@0-0', value: 1 },
      { key: 'k@20-20', value: 1 }
    ])
    input.pipeInput('k', 'x', 10)
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'k@0-0', value: null },
      { key: 'k@20-20', value: null },
      { key: 'k@0-20', value: 3 }
    ])
    const sessions = [...driver.getSessionStore<string, number>('sessions').fetch('k')]
    expect(sessions.map((s) => [s.key.window.startMs, s.key.window.endMs, s.value])).toEqual([[0, 20, 3]])
  })

  it('with caching, a merged-away session that reached the store still gets its tombstone', async () => {
    driver = await sessionCount(SessionWindows.ofInactivityGapAndGrace(10, 100), true)
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const output = driver.createOutputTopic('out', stringSerde, longSerde)
    input.pipeInput('k', 'x', 0)
    input.pipeInput('k', 'x', 20)
    output.readRecordsToList()
    input.pipeInput('k', 'x', 10)
    const after = output.readKeyValuesToMap()
    expect(after.get('k@0-0')).toBeNull()
    expect(after.get('k@20-20')).toBeNull()
    expect(after.get('k@0-20')).toBe(3)
  })

  it('drops a record whose session ended before stream time - grace, but not one ending exactly then', async () => {
    driver = await sessionCount(SessionWindows.ofInactivityGapAndGrace(10, 5))
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const output = driver.createOutputTopic('out', stringSerde, longSerde)
    input.pipeInput('a', 'x', 100) // stream time 100; close time 95
    input.pipeInput('b', 'x', 95) // session end 95 is not < 95: accepted
    input.pipeInput('c', 'x', 94) // session end 94 < 95: late
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'a@100-100', value: 1 },
      { key: 'b@95-95', value: 1 }
    ])
    expect(driver.droppedRecords('late')).toBe(1)
  })

  it('aggregates sessions with a merger, in a processor that can be named', async () => {
    const builder = new StreamsBuilder()
    builder
      .stream('in', str)
      .groupByKey()
      .windowedBy(SessionWindows.ofInactivityGapWithNoGrace(5))
      .aggregate(
        () => '',
        (_k, v, agg) => agg + v,
        (_k, a, b) => a + b,
        { storeName: 'concat', valueSerde: stringSerde, cachingEnabled: false },
        { name: 'concat-sessions' }
      )
    driver = await TopologyTestDriver.create(builder.build())
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    input.pipeInput('k', 'a', 0)
    input.pipeInput('k', 'c', 10)
    input.pipeInput('k', 'b', 5)
    input.pipeInput('k', 'late', 2) // stream time 10, no grace: would join [0,10] (end 10 is not < 10)...
    input.pipeInput('j', 'x', 30)
    input.pipeInput('k', 'late', 3) // ...but at stream time 30 the session [0,10] ended before 30: dropped, counted under the name
    const sessions = [...driver.getSessionStore<string, string>('concat').fetch('k')]
    expect(sessions.map((s) => [s.key.window.startMs, s.key.window.endMs, s.value])).toEqual([[0, 10, 'acblate']])
    expect(driver.droppedRecords('late', 'concat-sessions')).toBe(1)
  })
})

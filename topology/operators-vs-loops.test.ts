/**
 * The library's windowed and session aggregations against plain loops, on random out-of-order input
 * (some of it past the grace), with every cache setting: no cache, a cache of 0 bytes (write-through),
 * a tiny cache that evicts all the time, and a large one, each with commits at random moments. Read as
 * a compacted topic (latest value per key), the output must equal what the loop computes, and the
 * late drops must be the loop's.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { longSerde, stringSerde } from '../schemas/index.ts'
import { SessionWindows, TimeWindows } from '../processors/index.ts'
import type { Windowed } from '../state/index.ts'
import type { KTable } from './ktable.ts'
import { StreamsBuilder } from './streams-builder.ts'
import { TopologyTestDriver } from './test-driver.ts'
import { seededRandom } from '../test/support/random.ts'

const str = { keySerde: stringSerde, valueSerde: stringSerde }
let driver: TopologyTestDriver | undefined

afterEach(async () => {
  await driver?.close()
  driver = undefined
})

interface Input {
  readonly key: string
  readonly ts: number
}

/** `count` records over a few keys, mostly in order, some out of order within the grace and some far behind it. */
function randomInput(seed: number, count: number): Input[] {
  const rand = seededRandom(seed)
  const out: Input[] = []
  let now = 1_000
  for (let i = 0; i < count; i++) {
    now += Math.floor(rand() * 40)
    const r = rand()
    const ts = r < 0.75 ? now : r < 0.95 ? Math.max(0, now - Math.floor(rand() * 150)) : Math.max(0, now - 200 - Math.floor(rand() * 400))
    out.push({ key: `k${Math.floor(rand() * 4)}`, ts })
  }
  return out
}

const CACHES = [
  { name: 'no cache', cachingEnabled: false, cacheMaxBytes: undefined },
  { name: 'cache of 0 bytes', cachingEnabled: true, cacheMaxBytes: 0 },
  { name: 'cache of 300 bytes', cachingEnabled: true, cacheMaxBytes: 300 },
  { name: 'large cache', cachingEnabled: true, cacheMaxBytes: 10 * 1024 * 1024 }
] as const

/** Pipes `input` one record at a time, committing after about one record in five. */
function pipe(d: TopologyTestDriver, input: readonly Input[], seed: number): void {
  const rand = seededRandom(seed * 7 + 1)
  const topic = d.createInputTopic('in', stringSerde, stringSerde)
  for (const { key, ts } of input) {
    topic.pipeInput(key, String(ts), ts)
    if (rand() < 0.2) d.commit()
  }
  d.commit()
}

/**
 * One test per cache setting and seed: a topology from 'in' with `aggregate`, whose windowed table
 * goes to 'out' keyed by `label`, read as a compacted topic, must equal `loop` on the same input,
 * late drops included (and the input must have some).
 */
function equalsLoopForEveryCache(
  aggregate: (builder: StreamsBuilder, cachingEnabled: boolean) => KTable<Windowed<string>, number>,
  label: (w: Windowed<string>) => string,
  loop: (input: readonly Input[]) => { output: Map<string, number>; late: number }
): void {
  for (const cache of CACHES) {
    for (const seed of [1, 2, 3]) {
      it(`${cache.name}, seed ${seed}`, async () => {
        const builder = new StreamsBuilder()
        aggregate(builder, cache.cachingEnabled)
          .toStream()
          .map((w, value) => ({ key: label(w), value }))
          .to('out', { keySerde: stringSerde, valueSerde: longSerde })
        driver = await TopologyTestDriver.create(builder.build(), {
          autoCommit: false,
          ...(cache.cacheMaxBytes === undefined ? {} : { cacheMaxBytes: cache.cacheMaxBytes })
        })
        const input = randomInput(seed, 400)
        pipe(driver, input, seed)
        const expected = loop(input)
        expect(compacted(driver)).toEqual(expected.output)
        expect(driver.droppedRecords('late')).toBe(expected.late)
        expect(expected.late).toBeGreaterThan(0)
      })
    }
  }
}

/** The latest value per key of an output, tombstones removing their key. */
function compacted(d: TopologyTestDriver): Map<string, number> {
  const out = new Map<string, number>()
  for (const { key, value } of d.createOutputTopic('out', stringSerde, longSerde).readKeyValuesToList()) {
    if (value === null) out.delete(key as string)
    else out.set(key as string, value)
  }
  return out
}

describe('windowed aggregation equals a plain loop', () => {
  // Hopping windows of 100 ms every 50 ms, grace 120 ms; the aggregate sums each record's offset in its window.
  const windows = TimeWindows.ofSizeAndGrace(100, 120).advanceBy(50)

  function loop(input: readonly Input[]): { output: Map<string, number>; late: number } {
    const sums = new Map<string, number>()
    let streamTime = -Infinity
    let late = 0
    for (const { key, ts } of input) {
      streamTime = Math.max(streamTime, ts)
      for (let start = Math.floor(Math.max(0, ts - 100 + 50) / 50) * 50; start <= ts; start += 50) {
        if (start + 100 <= streamTime - 120) {
          late++
          continue
        }
        const k = `${key}@${start}`
        sums.set(k, (sums.get(k) ?? 0) + (ts - start))
      }
    }
    return { output: sums, late }
  }

  equalsLoopForEveryCache(
    (builder, cachingEnabled) =>
      builder
        .stream('in', str)
        .groupByKey()
        .windowedBy(windows)
        .aggregate(
          () => 0,
          (_key, value, sum, window) => sum + (Number(value) - window.startMs),
          { storeName: 'sums', valueSerde: longSerde, cachingEnabled },
          { name: 'sums' }
        ),
    (w) => `${w.key}@${w.window.startMs}`,
    loop
  )
})

describe('session aggregation equals a plain loop', () => {
  const GAP = 30
  const GRACE = 100

  function loop(input: readonly Input[]): { output: Map<string, number>; late: number } {
    const byKey = new Map<string, Array<{ start: number; end: number; count: number }>>()
    let streamTime = -Infinity
    let late = 0
    for (const { key, ts } of input) {
      streamTime = Math.max(streamTime, ts)
      const sessions = byKey.get(key) ?? []
      const joined = sessions.filter((s) => s.end >= ts - GAP && s.start <= ts + GAP)
      const start = Math.min(ts, ...joined.map((s) => s.start))
      const end = Math.max(ts, ...joined.map((s) => s.end))
      if (end < streamTime - GRACE) {
        late++
        continue
      }
      const kept = sessions.filter((s) => !joined.includes(s))
      kept.push({ start, end, count: 1 + joined.reduce((n, s) => n + s.count, 0) })
      byKey.set(key, kept)
    }
    const out = new Map<string, number>()
    for (const [key, sessions] of byKey) for (const s of sessions) out.set(`${key}@${s.start}-${s.end}`, s.count)
    return { output: out, late }
  }

  equalsLoopForEveryCache(
    (builder, cachingEnabled) =>
      builder.stream('in', str).groupByKey().windowedBy(SessionWindows.ofInactivityGapAndGrace(GAP, GRACE)).count({ storeName: 'sessions', cachingEnabled }),
    (w) => `${w.key}@${w.window.startMs}-${w.window.endMs}`,
    loop
  )
})

import { afterEach, describe, expect, it } from 'vitest'
import { longSerde, stringSerde } from '../schemas/index.ts'
import { SessionWindows } from '../processors/index.ts'
import { StreamsBuilder } from './streams-builder.ts'
import { TopologyTestDriver } from './test-driver.ts'
import { seededRandom } from '../test/support/random.ts'

const str = { keySerde: stringSerde, valueSerde: stringSerde }
let driver: TopologyTestDriver | undefined

afterEach(async () => {
  await driver?.close()
  driver = undefined
})

/**
 * The traffic app's session output (CONTRACTS.md, `traffic.traveler-sessions`) is keyed by
 * `<key>|<session start>`: a session extended at its end keeps its output key, so the tombstone of the
 * session it replaces and the merged session's record share a key. Read as a compacted topic (latest
 * value per key), the output is right only if that tombstone comes first.
 */
async function sessionsByStart(options: {
  cachingEnabled: boolean
  autoCommit?: boolean
  cacheMaxBytes?: number
  graceMs?: number
}): Promise<TopologyTestDriver> {
  const builder = new StreamsBuilder()
  builder
    .stream('in', str)
    .groupByKey()
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(10, options.graceMs ?? 1000))
    .count({ storeName: 'sessions', cachingEnabled: options.cachingEnabled })
    .toStream()
    .map((w, count) => ({ key: `${w.key}|${w.window.startMs}`, value: count }))
    .to('sessions-out', { keySerde: stringSerde, valueSerde: longSerde })
  return TopologyTestDriver.create(builder.build(), {
    autoCommit: options.autoCommit ?? true,
    ...(options.cacheMaxBytes !== undefined ? { cacheMaxBytes: options.cacheMaxBytes } : {})
  })
}

/** The compacted view of the output must equal the session store: every session once, nothing else. */
function expectCompactedOutputMatchesStore(d: TopologyTestDriver, keys: readonly string[], context: unknown): void {
  const compacted = new Map([...d.createOutputTopic('sessions-out', stringSerde, longSerde).readKeyValuesToMap()].filter(([, v]) => v !== null))
  const expected = new Map<string | null, number | null>()
  for (const key of keys) {
    for (const s of d.getSessionStore<string, number>('sessions').fetch(key)) expected.set(`${key}|${s.key.window.startMs}`, s.value)
  }
  expect({ context, compacted }).toEqual({ context, compacted: expected })
}

describe('session merges read as a compacted topic', () => {
  for (const cachingEnabled of [false, true]) {
    it(`emits the tombstone of a session extended at its end before the extended session (caching ${cachingEnabled ? 'on' : 'off'})`, async () => {
      driver = await sessionsByStart({ cachingEnabled })
      const input = driver.createInputTopic('in', stringSerde, stringSerde)
      const output = driver.createOutputTopic('sessions-out', stringSerde, longSerde)
      input.pipeInput('t', 'x', 0)
      input.pipeInput('t', 'x', 10) // [0,0] becomes [0,10]: same output key t|0
      expect(output.readKeyValuesToList()).toEqual([
        { key: 't|0', value: 1 },
        { key: 't|0', value: null },
        { key: 't|0', value: 2 }
      ])
      input.pipeInput('t', 'x', 30)
      input.pipeInput('t', 'x', 20) // joins [0,10] and [30,30] into [0,30]
      const merge = output.readKeyValuesToList()
      expect(merge.slice(-3)).toEqual([
        { key: 't|0', value: null },
        { key: 't|30', value: null },
        { key: 't|0', value: 4 }
      ])
      expectCompactedOutputMatchesStore(driver, ['t'], { cachingEnabled })
    })

    it(`keeps the merged session when all updates of a merge fall in one commit (caching ${cachingEnabled ? 'on' : 'off'})`, async () => {
      driver = await sessionsByStart({ cachingEnabled, autoCommit: false })
      const input = driver.createInputTopic('in', stringSerde, stringSerde)
      input.pipeInput('t', 'x', 0)
      input.pipeInput('t', 'x', 30)
      driver.commit() // [0,0] and [30,30] reached the store and the output
      input.pipeInput('t', 'x', 10) // [0,10] replaces [0,0]
      input.pipeInput('t', 'x', 20) // [0,30] replaces [0,10] (never flushed) and [30,30]
      driver.commit()
      const records = driver.createOutputTopic('sessions-out', stringSerde, longSerde).readKeyValuesToList()
      expect(records.at(-1)).toEqual({ key: 't|0', value: 4 })
      expectCompactedOutputMatchesStore(driver, ['t'], { cachingEnabled })
    })
  }

  it('stays right for random out-of-order input, commit points and cache sizes (evictions included)', async () => {
    const keys = ['s1|t1', 's1|t2', 's2|t1']
    for (let seed = 1; seed <= 60; seed++) {
      const next = seededRandom(seed)
      const cachingEnabled = seed % 3 !== 0
      // 0: write-through (every write evicted), small: frequent evictions, undefined: the 10 MiB default.
      const cacheMaxBytes = [0, 600, undefined][seed % 3 === 1 ? Math.floor(next() * 3) : 2]
      const d = await sessionsByStart({ cachingEnabled, autoCommit: false, graceMs: 40, ...(cacheMaxBytes !== undefined ? { cacheMaxBytes } : {}) })
      const input = d.createInputTopic('in', stringSerde, stringSerde)
      let time = 0
      for (let i = 0; i < 40; i++) {
        time += Math.floor(next() * 8)
        // Mostly in order, sometimes up to 50 ms late (some merges, some late drops).
        const ts = Math.max(0, next() < 0.3 ? time - Math.floor(next() * 50) : time)
        input.pipeInput(keys[Math.floor(next() * keys.length)] as string, 'x', ts)
        if (next() < 0.3) d.commit()
      }
      d.commit()
      expectCompactedOutputMatchesStore(d, keys, { seed, cachingEnabled, cacheMaxBytes })
      await d.close()
    }
  })
})

describe('session output timestamps', () => {
  it('carry the session end without a cache, as Kafka Streams forwards session updates', async () => {
    // KStreamSessionWindowAggregate.maybeForwardUpdate: "Update the sent record timestamp to the window end time".
    driver = await sessionsByStart({ cachingEnabled: false })
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const output = driver.createOutputTopic('sessions-out', stringSerde, longSerde)
    input.pipeInput('t', 'x', 20)
    input.pipeInput('t', 'x', 12) // out of order: [20,20] becomes [12,20]
    expect(output.readRecordsToList().map((r) => [r.key, r.value, r.timestampMs])).toEqual([
      ['t|20', 1, 20],
      ['t|20', null, 20],
      ['t|12', 2, 20]
    ])
  })

  it('carry the timestamp of the record that last wrote the session with a cache, as Kafka Streams caching stores do', async () => {
    driver = await sessionsByStart({ cachingEnabled: true })
    const input = driver.createInputTopic('in', stringSerde, stringSerde)
    const output = driver.createOutputTopic('sessions-out', stringSerde, longSerde)
    input.pipeInput('t', 'x', 20)
    input.pipeInput('t', 'x', 12)
    expect(output.readRecordsToList().map((r) => [r.key, r.value, r.timestampMs])).toEqual([
      ['t|20', 1, 20],
      ['t|20', null, 12],
      ['t|12', 2, 12]
    ])
  })
})

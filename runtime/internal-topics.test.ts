import { describe, expect, it } from 'vitest'
import { stringSerde, longSerde } from '../schemas/index.ts'
import { StreamsBuilder, TimeWindows } from '../topology/index.ts'
import { MissingSourceTopicError, PartitionCountError } from './errors.ts'
import { planTopics } from './internal-topics.ts'

const str = { keySerde: stringSerde, valueSerde: stringSerde }

function windowedCount(): ReturnType<ReturnType<StreamsBuilder['build']>['build']> {
  const builder = new StreamsBuilder()
  builder
    .stream('events', str)
    .groupBy((_k, v) => v, { keySerde: stringSerde, name: 'by-value' })
    .windowedBy(TimeWindows.ofSizeWithNoGrace(60_000))
    .count({ storeName: 'counts' })
    .toStream()
    .map((w, c) => ({ key: w.key, value: c ?? 0 }))
    .to('out', { keySerde: stringSerde, valueSerde: longSerde })
  return builder.build().build({ applicationId: 'app' })
}

describe('planTopics', () => {
  it('sizes repartition topics and changelogs from the source topics and configures them', () => {
    const layout = planTopics(
      windowedCount(),
      new Map([
        ['events', 6],
        ['out', 2]
      ]),
      [{ name: 'app-dlq', partitions: 1, configs: { 'cleanup.policy': 'delete' } }]
    )
    const byName = new Map(layout.internalTopics.map((t) => [t.name, t]))
    expect(byName.get('app-by-value-repartition')).toEqual({ name: 'app-by-value-repartition', partitions: 6, configs: { 'cleanup.policy': 'delete' } })
    const changelog = byName.get('app-counts-changelog')
    expect(changelog?.partitions).toBe(6)
    expect(changelog?.configs['cleanup.policy']).toBe('compact,delete')
    expect(Number(changelog?.configs['retention.ms'])).toBeGreaterThan(86_400_000)
    expect(byName.get('app-dlq')?.partitions).toBe(1)
    expect(layout.partitionCounts.get('out')).toBe(2)
    expect(layout.partitionCounts.get('app-by-value-repartition')).toBe(6)
  })

  it('names the missing source topics', () => {
    expect(() => planTopics(windowedCount(), new Map())).toThrow(MissingSourceTopicError)
    expect(() => planTopics(windowedCount(), new Map())).toThrow(/source topic\(s\) events do not exist/)
  })

  it('rejects joined topics with different partition counts, naming both', () => {
    const builder = new StreamsBuilder()
    builder
      .stream('clicks', str)
      .join(builder.table('users', str, { storeName: 'users' }), (c, u) => `${c}${u}`)
      .to('out', str)
    const plan = builder.build().build({ applicationId: 'app' })
    expect(() =>
      planTopics(
        plan,
        new Map([
          ['clicks', 3],
          ['users', 4]
        ])
      )
    ).toThrow(PartitionCountError)
    expect(() =>
      planTopics(
        plan,
        new Map([
          ['clicks', 3],
          ['users', 4]
        ])
      )
    ).toThrow(/clicks \(3\).*users \(4\)|users \(4\).*clicks \(3\)/)
    expect(
      planTopics(
        plan,
        new Map([
          ['clicks', 4],
          ['users', 4]
        ])
      ).partitionCounts.get('app-users-changelog')
    ).toBe(4)
  })
})

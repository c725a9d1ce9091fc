import { describe, expect, it } from 'vitest'
import type { InstancesReport, LagReport } from '../api/types.ts'
import { appendReport, instanceLoad, lagTotals, partitionRates, throughputSeries } from './throughput.ts'

function report(at: number, partitions: Array<[topic: string, partition: number, committed: number | null, end: number]>): LagReport {
  const ps = partitions.map(([topic, partition, committedOffset, endOffset]) => ({
    topic,
    partition,
    committedOffset,
    endOffset,
    lag: Math.max(0, endOffset - (committedOffset ?? 0))
  }))
  return { groupId: 'g', partitions: ps, totalLag: ps.reduce((s, p) => s + p.lag, 0), measuredAt: at }
}

describe('lagTotals', () => {
  it('sums committed and end offsets, counting a partition without a commit as zero', () => {
    expect(
      lagTotals(
        report(5, [
          ['t', 0, 10, 15],
          ['t', 1, null, 7]
        ])
      )
    ).toEqual({ at: 5, committed: 10, end: 22, lag: 12 })
  })
})

describe('throughputSeries', () => {
  it('has no rate for the first reading and records/s after it', () => {
    const points = throughputSeries([report(0, [['t', 0, 0, 100]]), report(5_000, [['t', 0, 500, 700]])], 20_000)
    expect(points[0]).toEqual({ at: 0, lag: 100, processedPerS: null, producedPerS: null })
    expect(points[1]).toEqual({ at: 5_000, lag: 200, processedPerS: 100, producedPerS: 120 })
  })

  it('measures over the trailing window so stepwise commits do not make it jump', () => {
    // Commits land every 10 s; readings every 5 s.
    const history = [0, 5, 10, 15, 20, 25, 30].map((s) => report(s * 1000, [['t', 0, Math.floor(s / 10) * 1000, s * 100]]))
    const points = throughputSeries(history, 20_000)
    expect(points.map((p) => p.processedPerS)).toEqual([null, 0, 100, 1000 / 15, 100, 100, 100])
    expect(points.at(-1)?.producedPerS).toBe(100)
  })

  it('gives no rate when offsets went backwards (a reset group or recreated topic)', () => {
    const points = throughputSeries([report(0, [['t', 0, 500, 500]]), report(5_000, [['t', 0, 10, 20]])], 20_000)
    expect(points[1]).toMatchObject({ processedPerS: null, producedPerS: null })
  })
})

describe('appendReport', () => {
  it('drops readings older than the history length and ignores out-of-order ones', () => {
    let h: LagReport[] = []
    for (const at of [0, 5_000, 10_000, 15_000]) h = appendReport(h, report(at, []), 10_000)
    expect(h.map((r) => r.measuredAt)).toEqual([5_000, 10_000, 15_000])
    expect(appendReport(h, report(12_000, []), 10_000).map((r) => r.measuredAt)).toEqual([5_000, 10_000, 15_000])
  })
})

describe('partitionRates and instanceLoad', () => {
  const older = report(0, [
    ['t', 0, 100, 200],
    ['t', 1, 0, 50],
    ['t', 2, 10, 10]
  ])
  const newer = report(10_000, [
    ['t', 0, 300, 400],
    ['t', 1, 50, 80],
    ['t', 2, 10, 10],
    ['t', 3, 5, 5]
  ])
  const instances: InstancesReport = {
    groupId: 'g',
    state: 'STABLE',
    measuredAt: 10_000,
    instances: [
      {
        memberId: 'm1',
        clientId: 'w1',
        clientHost: '/127.0.0.1',
        groupInstanceId: null,
        assignments: [{ topic: 't', partitions: [0, 1] }],
        tasks: ['0_0', '0_1']
      },
      {
        memberId: 'm2',
        clientId: 'w2',
        clientHost: '/127.0.0.1',
        groupInstanceId: 'worker-2',
        assignments: [{ topic: 't', partitions: [2, 3] }],
        tasks: ['0_2', '0_3']
      }
    ]
  }

  it('gives each partition its committed records/s, skipping partitions not read before', () => {
    const rates = partitionRates(older, newer)
    expect([...rates.values()]).toEqual([20, 5, 0])
    expect(rates.size).toBe(3)
  })

  it('adds up the lag and rate of the partitions assigned to each worker', () => {
    const load = instanceLoad(instances, newer, partitionRates(older, newer))
    expect(load.get('m1')).toEqual({ lag: 100 + 30, processedPerS: 25, partitions: 2 })
    expect(load.get('m2')).toEqual({ lag: 0, processedPerS: 0, partitions: 2 })
  })

  it('reports an unknown rate before two readings exist', () => {
    expect(instanceLoad(instances, newer, undefined).get('m1')?.processedPerS).toBeNull()
  })
})

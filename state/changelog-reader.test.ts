import type { RecordsBatch } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { committedRecords } from './changelog-reader.ts'

const TRANSACTIONAL = 1 << 4
const CONTROL = 1 << 5

function batch(firstOffset: number, producerId: number, attributes: number, values: Array<string | null>): RecordsBatch {
  return {
    firstOffset: BigInt(firstOffset), length: 0, partitionLeaderEpoch: 0, magic: 2, crc: 0, attributes,
    lastOffsetDelta: Math.max(0, values.length - 1), firstTimestamp: 0n, maxTimestamp: 0n,
    producerId: BigInt(producerId), producerEpoch: 0, firstSequence: 0,
    records: values.map((v, i) => ({
      length: 0, attributes: 0, timestampDelta: 0n, offsetDelta: i, key: Buffer.from(`k${firstOffset + i}`),
      value: v === null ? null : Buffer.from(v), headers: []
    }))
  }
}

const text = (records: Array<{ key: Buffer; value: Buffer | null }>): string[] => records.map((r) => `${r.key}=${r.value?.toString() ?? 'null'}`)

describe('committedRecords', () => {
  it('keeps committed and plain records, drops aborted ones and control markers', () => {
    const batches = [
      batch(0, 1, TRANSACTIONAL, ['a', 'b']),
      batch(2, 1, TRANSACTIONAL | CONTROL, ['commit']),
      batch(3, 1, TRANSACTIONAL, ['x', 'y']), // aborted
      batch(5, 2, 0, ['plain', null]), // another producer, not transactional
      batch(7, 1, TRANSACTIONAL | CONTROL, ['abort']),
      batch(8, 1, TRANSACTIONAL, ['c'])
    ]
    const producers = new Set<bigint>()
    const { records, next } = committedRecords(batches, 0, 100, [{ producerId: 1n, firstOffset: 3n }], producers)
    expect(text(records)).toEqual(['k0=a', 'k1=b', 'k5=plain', 'k6=null', 'k8=c'])
    expect(next).toBe(9)
    expect(producers.size).toBe(0)
  })

  it('skips offsets below the start and stops at the end offset', () => {
    const { records, next } = committedRecords([batch(0, 1, 0, ['a', 'b', 'c', 'd'])], 1, 3, [], new Set())
    expect(text(records)).toEqual(['k1=b', 'k2=c'])
    expect(next).toBe(3)
  })
})

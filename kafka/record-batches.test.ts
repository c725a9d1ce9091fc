import { describe, expect, it } from 'vitest'
import type { KafkaRecord, RecordsBatch } from '@platformatic/kafka'
import { decodeBatches } from './record-batches.ts'

const TRANSACTIONAL = 1 << 4
const CONTROL = 1 << 5

function batch(
  firstOffset: number,
  values: string[],
  options: { producerId?: number; attributes?: number; firstTimestamp?: number; maxTimestamp?: number; headers?: KafkaRecord['headers'] } = {}
): RecordsBatch {
  return {
    firstOffset: BigInt(firstOffset),
    length: 0,
    partitionLeaderEpoch: 3,
    magic: 2,
    crc: 0,
    attributes: options.attributes ?? 0,
    lastOffsetDelta: Math.max(0, values.length - 1),
    firstTimestamp: BigInt(options.firstTimestamp ?? 1000),
    maxTimestamp: BigInt(options.maxTimestamp ?? 5000),
    producerId: BigInt(options.producerId ?? -1),
    producerEpoch: 0,
    firstSequence: 0,
    records: values.map((v, i) => ({
      length: 0,
      attributes: 0,
      timestampDelta: BigInt(i * 10),
      offsetDelta: i,
      key: Buffer.from(`k${v}`),
      value: Buffer.from(v),
      headers: options.headers ?? []
    }))
  }
}

const values = (decoded: ReturnType<typeof decodeBatches>): string[] => decoded.records.map((r) => r.value?.toString() ?? 'null')

describe('decodeBatches', () => {
  it('returns records at or after the position with their offsets, timestamps and the next position', () => {
    const decoded = decodeBatches([batch(10, ['a', 'b', 'c']), batch(13, ['d'])], 11, undefined, new Set())
    expect(values(decoded)).toEqual(['b', 'c', 'd'])
    expect(decoded.records.map((r) => r.offset)).toEqual([11, 12, 13])
    expect(decoded.records.map((r) => r.timestampMs)).toEqual([1010, 1020, 1000])
    expect(decoded.next).toBe(14)
    expect(decoded.leaderEpoch).toBe(3)
  })

  it('skips control batches but moves past them', () => {
    const decoded = decodeBatches(
      [batch(0, ['a'], { producerId: 7, attributes: TRANSACTIONAL }), batch(1, ['marker'], { producerId: 7, attributes: TRANSACTIONAL | CONTROL })],
      0,
      [],
      new Set()
    )
    expect(values(decoded)).toEqual(['a'])
    expect(decoded.next).toBe(2)
  })

  it('drops the batches of an aborted transaction up to its abort marker, keeping later committed ones of the same producer', () => {
    const batches = [
      batch(0, ['x1', 'x2'], { producerId: 7, attributes: TRANSACTIONAL }),
      batch(2, ['ok'], { producerId: 8, attributes: TRANSACTIONAL }),
      batch(3, ['abort'], { producerId: 7, attributes: TRANSACTIONAL | CONTROL }),
      batch(4, ['commit'], { producerId: 8, attributes: TRANSACTIONAL | CONTROL }),
      batch(5, ['y'], { producerId: 7, attributes: TRANSACTIONAL }),
      batch(6, ['commit'], { producerId: 7, attributes: TRANSACTIONAL | CONTROL })
    ]
    const decoded = decodeBatches(batches, 0, [{ producerId: 7n, firstOffset: 0n }], new Set())
    expect(values(decoded)).toEqual(['ok', 'y'])
    expect(decoded.next).toBe(7)
  })

  it('keeps skipping an aborted transaction whose abort marker arrives in a later response', () => {
    const aborted = new Set<bigint>()
    const first = decodeBatches(
      [batch(0, ['x1'], { producerId: 7, attributes: TRANSACTIONAL }), batch(1, ['plain'])],
      0,
      [{ producerId: 7n, firstOffset: 0n }],
      aborted
    )
    expect(values(first)).toEqual(['plain'])
    const second = decodeBatches(
      [
        batch(2, ['x2'], { producerId: 7, attributes: TRANSACTIONAL }),
        batch(3, ['abort'], { producerId: 7, attributes: TRANSACTIONAL | CONTROL }),
        batch(4, ['z'], { producerId: 7, attributes: TRANSACTIONAL })
      ],
      first.next,
      [],
      aborted
    )
    expect(values(second)).toEqual(['z'])
    expect(aborted.size).toBe(0)
  })

  it('uses the batch max timestamp for log-append-time topics and decodes headers by name', () => {
    const decoded = decodeBatches(
      [
        batch(0, ['a'], {
          attributes: 1 << 3,
          maxTimestamp: 9999,
          headers: [
            [Buffer.from('h'), Buffer.from('v')],
            [null, Buffer.from('ignored')]
          ]
        })
      ],
      0,
      undefined,
      new Set()
    )
    expect(decoded.records[0]?.timestampMs).toBe(9999)
    expect(decoded.records[0]?.headers?.h?.toString()).toBe('v')
    expect(Object.keys(decoded.records[0]?.headers ?? {})).toEqual(['h'])
  })

  it('reads nothing and stays at the position when every batch is before it', () => {
    const decoded = decodeBatches([batch(0, ['a', 'b'])], 5, undefined, new Set())
    expect(decoded.records).toEqual([])
    expect(decoded.next).toBe(5)
  })
})

import { describe, expect, it } from 'vitest'
import { murmur2, partitionForKey, toPositive } from './partitioner.ts'

describe('murmur2 partitioner', () => {
  // Vectors from Apache Kafka's clients UtilsTest.testMurmur2 (org.apache.kafka.common.utils).
  const vectors: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107]
  ]

  it.each(vectors)('hashes %s exactly as the Java client does', (input, expected) => {
    expect(murmur2(Buffer.from(input, 'utf8'))).toBe(expected)
  })

  it('clears only the sign bit in toPositive', () => {
    expect(toPositive(-1)).toBe(0x7fffffff)
    expect(toPositive(5)).toBe(5)
    expect(toPositive(-973932308)).toBe(-973932308 & 0x7fffffff)
  })

  it('maps a key to toPositive(murmur2) modulo the partition count', () => {
    expect(partitionForKey(Buffer.from('21'), 6)).toBe((-973932308 & 0x7fffffff) % 6)
    expect(partitionForKey(Buffer.from('foobar'), 1)).toBe(0)
  })

  it('rejects a partition count that is not a positive integer', () => {
    expect(() => partitionForKey(Buffer.from('a'), 0)).toThrow(/numPartitions/)
  })
})

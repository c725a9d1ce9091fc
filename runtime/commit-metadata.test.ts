import { describe, expect, it } from 'vitest'
import { decodeCommitMetadata, encodeCommitMetadata } from './commit-metadata.ts'

describe('commit metadata', () => {
  it('round-trips a stream time', () => {
    for (const t of [0, 1, 1_733_400_000_123, Number.MAX_SAFE_INTEGER]) expect(decodeCommitMetadata(encodeCommitMetadata(t))).toBe(t)
  })

  it('writes the layout Kafka Streams writes: version byte 1 then the time as int64 big-endian, base64', () => {
    const buffer = Buffer.from(encodeCommitMetadata(0x0102030405), 'base64')
    expect([...buffer]).toEqual([1, 0, 0, 0, 1, 2, 3, 4, 5])
  })

  it('reads the time of Kafka Streams version 2 metadata (time followed by processor metadata)', () => {
    const buffer = Buffer.alloc(20)
    buffer.writeUInt8(2, 0)
    buffer.writeBigInt64BE(123_456n, 1)
    expect(decodeCommitMetadata(buffer.toString('base64'))).toBe(123_456)
  })

  it('ignores metadata that is not a stream time', () => {
    expect(decodeCommitMetadata(null)).toBeUndefined()
    expect(decodeCommitMetadata('')).toBeUndefined()
    expect(decodeCommitMetadata('hello world')).toBeUndefined()
    expect(decodeCommitMetadata(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0, 1]).toString('base64'))).toBeUndefined()
  })
})

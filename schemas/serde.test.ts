import { describe, expect, it } from 'vitest'
import { longSerde, SerdeErrorCodes } from './serde.ts'
import { seededRandom } from '../test/support/random.ts'

/** The BigInt encoding longSerde must stay byte-for-byte equal to. */
function referenceBytes(value: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeBigInt64BE(BigInt(value))
  return b
}

describe('longSerde', () => {
  const edges = [
    0,
    1,
    -1,
    255,
    256,
    -256,
    2 ** 31 - 1,
    2 ** 31,
    -(2 ** 31),
    -(2 ** 31) - 1,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 32 + 1,
    -(2 ** 32),
    -(2 ** 32) - 1,
    -(2 ** 32) + 1,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    1_700_000_000_000
  ]

  it("writes the same big-endian two's complement bytes as BigInt and reads every safe integer back exactly", () => {
    const random = seededRandom(2024)
    const values = [...edges]
    for (let i = 0; i < 20_000; i++) {
      const magnitude = 2 ** Math.floor(random() * 54)
      values.push(Math.floor((random() * 2 - 1) * magnitude))
    }
    for (const v of values) {
      const bytes = longSerde.serialize('t', v)
      expect(bytes.equals(referenceBytes(v)), `bytes of ${v}`).toBe(true)
      expect(longSerde.deserialize('t', bytes)).toBe(v)
    }
  })

  it('writes minus zero as zero', () => {
    expect([...longSerde.serialize('t', -0)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0])
    expect(Object.is(longSerde.deserialize('t', Buffer.alloc(8)), 0)).toBe(true)
  })

  it('keeps integers beyond the safe range exact on write and reads any int64 as Number(bigint) does', () => {
    const random = seededRandom(7)
    for (const v of [2 ** 53, 2 ** 60, -(2 ** 63), 2 ** 62 + 2 ** 40]) {
      expect(longSerde.serialize('t', v).equals(referenceBytes(v))).toBe(true)
    }
    const b = Buffer.alloc(8)
    for (let i = 0; i < 20_000; i++) {
      b.writeUInt32BE(Math.floor(random() * 0x1_0000_0000), 0)
      b.writeUInt32BE(Math.floor(random() * 0x1_0000_0000), 4)
      expect(longSerde.deserialize('t', b)).toBe(Number(b.readBigInt64BE(0)))
    }
    b.fill(0xff)
    expect(longSerde.deserialize('t', b)).toBe(-1)
    b.fill(0)
    b[0] = 0x80
    expect(longSerde.deserialize('t', b)).toBe(-(2 ** 63))
  })

  it('refuses numbers that are not 64-bit integers', () => {
    expect(() => longSerde.serialize('t', 1.5)).toThrow(RangeError)
    expect(() => longSerde.serialize('t', Number.NaN)).toThrow(RangeError)
    expect(() => longSerde.serialize('t', Number.POSITIVE_INFINITY)).toThrow(RangeError)
    expect(() => longSerde.serialize('t', 2 ** 63)).toThrow(RangeError)
  })

  it('refuses data that is not 8 bytes long, naming the topic', () => {
    for (const n of [0, 4, 7, 9]) {
      expect(() => longSerde.deserialize('counts', Buffer.alloc(n))).toThrow(expect.objectContaining({ code: SerdeErrorCodes.LONG }))
    }
    expect(() => longSerde.deserialize('counts', Buffer.alloc(7))).toThrow(/topic counts, got 7/)
  })
})

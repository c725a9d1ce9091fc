import { describe, expect, it } from 'vitest'
import { SerdeErrorCodes } from './serde.ts'
import { peekWireSchemaId, readWireSchemaId, writeWireHeader } from './wire-format.ts'

describe('Confluent wire header', () => {
  it('is magic byte 0 then the schema id as a big-endian int32', () => {
    const b = Buffer.alloc(6)
    writeWireHeader(b, 0x01020304)
    expect([...b.subarray(0, 5)]).toEqual([0, 1, 2, 3, 4])
    expect(readWireSchemaId('t', b)).toBe(0x01020304)
    expect(peekWireSchemaId(b)).toBe(0x01020304)
  })

  it('rejects a short buffer and a wrong magic byte with distinct codes; peek never throws', () => {
    expect(() => readWireSchemaId('t', Buffer.from([0, 0, 0, 1]))).toThrow(expect.objectContaining({ code: SerdeErrorCodes.AVRO_TRUNCATED }))
    expect(() => readWireSchemaId('t', Buffer.from([7, 0, 0, 0, 1]))).toThrow(expect.objectContaining({ code: SerdeErrorCodes.AVRO_MAGIC_BYTE }))
    expect(peekWireSchemaId(Buffer.from([7, 0, 0, 0, 1]))).toBeUndefined()
    expect(peekWireSchemaId(Buffer.alloc(0))).toBeUndefined()
  })
})

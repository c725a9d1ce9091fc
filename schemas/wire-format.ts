import { SerdeError, SerdeErrorCodes } from './serde.ts'

/** The Confluent magic byte: the first byte of every schema-registry-encoded record. */
export const WIRE_MAGIC_BYTE = 0
/** Magic byte plus the 4-byte schema id. */
export const WIRE_HEADER_BYTES = 5

/*
 * Confluent wire format, shared by every schema-registry client:
 *
 *   offset  size  content
 *   0       1     magic byte, always 0
 *   1       4     schema id: the registry's global id, big-endian signed int32
 *   5       n     the body: the Avro binary encoding of the value, written with that schema
 *
 * The header names the writer's schema, so a reader resolves any registered version into its own
 * schema without coordinating with the producer.
 */

/** Writes the 5-byte header for `schemaId` into `target` at offset 0. */
export function writeWireHeader(target: Buffer, schemaId: number): void {
  target[0] = WIRE_MAGIC_BYTE
  target.writeInt32BE(schemaId, 1)
}

/**
 * The schema id in the header of `data`. Throws `SerdeError` `SERDE_AVRO_TRUNCATED` when `data` is
 * shorter than the header and `SERDE_AVRO_MAGIC_BYTE` when byte 0 is not 0.
 */
export function readWireSchemaId(topic: string, data: Buffer): number {
  if (data.length < WIRE_HEADER_BYTES) {
    throw new SerdeError(
      SerdeErrorCodes.AVRO_TRUNCATED,
      `record on topic ${topic} has ${data.length} bytes, fewer than the ${WIRE_HEADER_BYTES}-byte Confluent header (magic byte + schema id)`
    )
  }
  if (data[0] !== WIRE_MAGIC_BYTE) {
    throw new SerdeError(
      SerdeErrorCodes.AVRO_MAGIC_BYTE,
      `record on topic ${topic} starts with byte ${data[0]}, not the Confluent magic byte ${WIRE_MAGIC_BYTE}: it was not written by a schema-registry serializer`
    )
  }
  return data.readInt32BE(1)
}

/** The schema id of `data` when it has a valid header, else `undefined` (never throws). */
export function peekWireSchemaId(data: Buffer): number | undefined {
  if (data.length < WIRE_HEADER_BYTES || data[0] !== WIRE_MAGIC_BYTE) return undefined
  return data.readInt32BE(1)
}

import { RunnelError } from '../errors/index.ts'

/**
 * Serdes turn typed keys and values into bytes and back. They are synchronous so that the per-record
 * path never awaits; anything that needs I/O (registering a schema, fetching a writer schema by id)
 * happens in `configure` before the first record, or in `resolve` when a record names something the
 * serde has not seen yet (the runtime awaits `resolve` and retries the record once).
 */
export interface Serde<T> {
  /** Bytes for `value`. Tombstones never reach a serde: `null` is handled by the caller. */
  serialize(topic: string, value: T): Buffer
  /** The value in `data`. Throws a `SerdeError` (or subclass) when the bytes are malformed. */
  deserialize(topic: string, data: Buffer): T
  /** Async preparation before use on `topic` (for Avro: register or look up the schema id). */
  configure?(topic: string, isKey: boolean): Promise<void>
  /** Fetch what `deserialize` lacked for `data` (for Avro: the writer schema of its id). */
  resolve?(topic: string, data: Buffer): Promise<void>
}

/**
 * Stable codes of `SerdeError`. A dead-letter record names its error by one of these, so they never
 * change meaning; add new ones instead.
 */
export const SerdeErrorCodes = {
  /** `deserialize` needs `resolve` first (an unseen schema id); not an error of the data. */
  NEEDS_RESOLUTION: 'SERDE_NEEDS_RESOLUTION',
  /** Invalid JSON text. */
  JSON: 'SERDE_JSON',
  /** A long that is not 8 bytes. */
  LONG: 'SERDE_LONG',
  /** Shorter than the 5-byte Confluent header, or the Avro body ends before the value does. */
  AVRO_TRUNCATED: 'SERDE_AVRO_TRUNCATED',
  /** Byte 0 is not the Confluent magic byte 0. */
  AVRO_MAGIC_BYTE: 'SERDE_AVRO_MAGIC_BYTE',
  /** The registry does not know the schema id in the header. */
  AVRO_UNKNOWN_SCHEMA_ID: 'SERDE_AVRO_UNKNOWN_SCHEMA_ID',
  /** The writer schema cannot be resolved into the reader schema (incompatible evolution). */
  AVRO_INCOMPATIBLE_SCHEMA: 'SERDE_AVRO_INCOMPATIBLE_SCHEMA',
  /** The registry returned a writer schema that is not a valid Avro schema. */
  AVRO_INVALID_WRITER_SCHEMA: 'SERDE_AVRO_INVALID_WRITER_SCHEMA',
  /** The Avro body is not a valid encoding (bad union branch, trailing bytes, ...). */
  AVRO_MALFORMED: 'SERDE_AVRO_MALFORMED',
  /** `serialize` got a value that does not match the schema. */
  AVRO_INVALID_VALUE: 'SERDE_AVRO_INVALID_VALUE',
  /** The registry refused to register the schema (HTTP 409 incompatible, or 422 invalid). */
  SCHEMA_REJECTED: 'SERDE_SCHEMA_REJECTED',
  /** `configure` without auto-registration found no such schema under the subject. */
  SCHEMA_NOT_REGISTERED: 'SERDE_SCHEMA_NOT_REGISTERED',
  /** The serde was used on a topic before `configure` registered its schema there. */
  NOT_CONFIGURED: 'SERDE_NOT_CONFIGURED',
  /** The schema registry could not be reached or answered with an unexpected error. */
  REGISTRY_UNAVAILABLE: 'SERDE_REGISTRY_UNAVAILABLE'
} as const

/** One of `SerdeErrorCodes`. */
export type SerdeErrorCode = (typeof SerdeErrorCodes)[keyof typeof SerdeErrorCodes]

/** Base error of serialization and deserialization; `code` is stable, `cause` is kept. */
export class SerdeError extends RunnelError<string> {}

/** Thrown by `deserialize` when `resolve` could make the record readable (an unseen schema id). */
export class SerdeNeedsResolution extends SerdeError {
  constructor(message: string) {
    super('SERDE_NEEDS_RESOLUTION', message)
  }
}

/** UTF-8 strings: the key format of every contract topic. */
export const stringSerde: Serde<string> = {
  serialize: (_topic, value) => Buffer.from(value, 'utf8'),
  deserialize: (_topic, data) => data.toString('utf8')
}

/** JSON values; malformed input is a `SerdeError` with code `SERDE_JSON`. */
export function jsonSerde<T>(): Serde<T> {
  return {
    serialize: (_topic, value) => Buffer.from(JSON.stringify(value), 'utf8'),
    deserialize: (topic, data) => {
      try {
        return JSON.parse(data.toString('utf8')) as T
      } catch (err) {
        throw new SerdeError('SERDE_JSON', `invalid JSON on topic ${topic}: ${(err as Error).message}`, { cause: err })
      }
    }
  }
}

/** Raw bytes, unchanged. */
export const bytesSerde: Serde<Buffer> = {
  serialize: (_topic, value) => value,
  deserialize: (_topic, data) => data
}

const TWO_32 = 0x1_0000_0000

/**
 * Big-endian int64 as JS number (safe-integer range), the Kafka Streams `Long` serde.
 *
 * Layout: 8 bytes, two's complement, big-endian = [high int32 BE][low uint32 BE] with
 * value = high * 2^32 + low. Safe integers take this path without BigInt (it sits on every cached
 * store read and write); anything else (fractions, NaN, beyond 2^53) goes through BigInt, which
 * keeps the exact int64 of large integers and throws for values that are not int64s. Reading adds
 * the two halves in one rounding step, the same rounding as `Number(bigint)`, so it is exact in the
 * safe range and equal to the BigInt conversion beyond it.
 */
export const longSerde: Serde<number> = {
  serialize: (_topic, value) => {
    const b = Buffer.allocUnsafe(8)
    if (Number.isSafeInteger(value)) {
      const high = Math.floor(value / TWO_32)
      const low = value - high * TWO_32
      b.writeInt32BE(high, 0)
      b.writeUInt32BE(low, 4)
    } else {
      b.writeBigInt64BE(BigInt(value))
    }
    return b
  },
  deserialize: (topic, data) => {
    if (data.length !== 8) throw new SerdeError('SERDE_LONG', `expected 8 bytes for a long on topic ${topic}, got ${data.length}`)
    return data.readInt32BE(0) * TWO_32 + data.readUInt32BE(4)
  }
}

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

/** Base error of serialization and deserialization; `code` is stable, `cause` is kept. */
export class SerdeError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SerdeError'
    this.code = code
  }
}

/** Thrown by `deserialize` when `resolve` could make the record readable (an unseen schema id). */
export class SerdeNeedsResolution extends SerdeError {
  constructor(message: string) {
    super('SERDE_NEEDS_RESOLUTION', message)
    this.name = 'SerdeNeedsResolution'
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

/** Big-endian int64 as JS number (safe-integer range), the Kafka Streams `Long` serde. */
export const longSerde: Serde<number> = {
  serialize: (_topic, value) => {
    const b = Buffer.allocUnsafe(8)
    b.writeBigInt64BE(BigInt(value))
    return b
  },
  deserialize: (topic, data) => {
    if (data.length !== 8) throw new SerdeError('SERDE_LONG', `expected 8 bytes for a long on topic ${topic}, got ${data.length}`)
    return Number(data.readBigInt64BE(0))
  }
}

/**
 * The query side's reader of one output topic's Avro values (Confluent wire format). It never
 * registers schemas; it remembers the writer schema ids it has decoded once, so that only records
 * with an unseen id need a registry look-up (`resolution`) before the synchronous `decode`.
 */
import { avroSerde, SerdeNeedsResolution, type AvroRecordName, type AvroRecordTypes, type AvroSerde, type SchemaRegistryClient } from '../schemas/index.ts'
import { RecordRefused } from './refusals.ts'

export class AvroValueReader<T> {
  private readonly serde: AvroSerde<T>
  private readonly readable = new Set<number>()

  constructor(serde: AvroSerde<T>) {
    this.serde = serde
  }

  /** A reader of record `name`, fetching unknown writer schemas from `registry` (retrying for 10 s). */
  static of<TName extends AvroRecordName>(name: TName, registry: SchemaRegistryClient): AvroValueReader<AvroRecordTypes[TName]> {
    return new AvroValueReader(avroSerde(name, { registry, autoRegister: false, unknownSchemaRetryMs: 10_000 }))
  }

  /**
   * The registry look-up `value` needs before `decode`, or undefined (its schema id is known, or it
   * is not in the wire format: `decode` will refuse it). Keyed by `key` + schema id in `pending`, so a
   * batch looks each id up once.
   */
  resolution(topic: string, value: Buffer | null, key: string, pending: Map<string, Promise<void>>): void {
    if (value === null || value.length < 5 || value[0] !== 0) return
    const id = value.readInt32BE(1)
    if (this.readable.has(id)) return
    try {
      this.serde.deserialize(topic, value)
      this.readable.add(id)
    } catch (err) {
      if (!(err instanceof SerdeNeedsResolution)) return
      const pendingKey = `${key}:${id}`
      if (!pending.has(pendingKey)) pending.set(pendingKey, this.serde.resolve(topic, value))
    }
  }

  /** The decoded value; a value that cannot be decoded is refused (`RecordRefused`) with the reason. */
  decode(topic: string, value: Buffer): T {
    try {
      const decoded = this.serde.deserialize(topic, value)
      this.readable.add(value.readInt32BE(1))
      return decoded
    } catch (err) {
      throw new RecordRefused(`value is not a readable Avro record: ${(err as Error).message}`)
    }
  }
}

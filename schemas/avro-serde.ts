import type avro from 'avsc'
import { parseAvroSchema, type ParsedAvroSchema } from './avro-canonical.ts'
import { avroSchemas, type AvroRecordName, type AvroRecordTypes } from './avro/types.generated.ts'
import { SchemaRegistryRequestError, type SchemaRegistryClient } from './registry-client.ts'
import { type Serde, SerdeError, SerdeErrorCodes, SerdeNeedsResolution } from './serde.ts'
import { peekWireSchemaId, readWireSchemaId, WIRE_HEADER_BYTES, writeWireHeader } from './wire-format.ts'

/** Options of the Avro serdes. */
export interface AvroSerdeOptions {
  /** Registry client; share one between serdes so each schema id is fetched once per process. */
  registry: SchemaRegistryClient
  /**
   * `configure` registers the schema under the topic's subject (default). When false it only looks
   * the schema up, and fails when it is not registered: for registries where producers may not
   * register.
   */
  autoRegister?: boolean
  /**
   * How long a schema id the registry does not know keeps failing with `SERDE_AVRO_UNKNOWN_SCHEMA_ID`
   * before `deserialize` asks for resolution again, ms. Default 60,000. Records meanwhile fail
   * without I/O (to the dead-letter topic); after it, a schema registered late is picked up.
   */
  unknownSchemaRetryMs?: number
  /** Clock for the retry above, ms. Default `Date.now`. */
  now?: () => number
}

/** An Avro serde in the Confluent wire format. */
export interface AvroSerde<T> extends Serde<T> {
  /** Canonical text of the reader/writer schema of this serde. */
  readonly schema: string
  /** The id `configure` registered or found for `topic`, if it ran. */
  schemaId(topic: string): number | undefined
  configure(topic: string, isKey: boolean): Promise<void>
  resolve(topic: string, data: Buffer): Promise<void>
}

/**
 * Avro serde for one of Runnel's record schemas, typed by its full name:
 * `avroSerde('runnel.traffic.SensorObservation', { registry })` is a `Serde<SensorObservation>`.
 */
export function avroSerde<TName extends AvroRecordName>(name: TName, options: AvroSerdeOptions): AvroSerde<AvroRecordTypes[TName]> {
  const schema = (avroSchemas as Record<string, unknown>)[name]
  if (schema === undefined) {
    throw new TypeError(`avroSerde: unknown schema name ${JSON.stringify(name)}; known: ${Object.keys(avroSchemas).join(', ')}`)
  }
  return avroSerdeForSchema<AvroRecordTypes[TName]>(schema, options)
}

type AvroResolver = ReturnType<avro.Type['createResolver']>

type ReaderEntry =
  | { readonly kind: 'ok'; readonly resolver: AvroResolver | undefined }
  | { readonly kind: 'unknown'; readonly retryAt: number }
  | { readonly kind: 'failed'; readonly code: string; readonly message: string }

/**
 * Avro serde for any schema (JSON text or parsed). Producer side: `configure(topic, isKey)`
 * registers the schema under `<topic>-value` (or `<topic>-key`), then `serialize` writes the header
 * with that id, synchronously. Consumer side: `deserialize` reads the writer's schema id from the
 * header and decodes with a resolver from the writer schema into this serde's schema (cached per id),
 * so both older and newer writers are read. An id not seen yet makes `deserialize` throw
 * `SerdeNeedsResolution`; `resolve` fetches it and the record is retried.
 */
export function avroSerdeForSchema<T>(schema: unknown, options: AvroSerdeOptions): AvroSerde<T> {
  if (options?.registry === undefined) throw new TypeError('avroSerde: option "registry" (a SchemaRegistryClient) is required')
  const retryMs = options.unknownSchemaRetryMs ?? 60_000
  if (!Number.isFinite(retryMs) || retryMs < 0) {
    throw new TypeError(`avroSerde: option "unknownSchemaRetryMs" must be a non-negative number of ms, got ${String(options.unknownSchemaRetryMs)}`)
  }
  const registry = options.registry
  const autoRegister = options.autoRegister ?? true
  const now = options.now ?? Date.now
  const reader: ParsedAvroSchema = parseAvroSchema(schema)
  const type = reader.type
  const idsByTopic = new Map<string, number>()
  const readers = new Map<number, ReaderEntry>()
  // Encoding goes into a scratch buffer that grows to the largest record seen, then one copy out.
  let scratch = Buffer.allocUnsafe(1024)

  function encode(topic: string, value: T, id: number): Buffer {
    for (;;) {
      let end: number
      try {
        end = type.encode(value, scratch, WIRE_HEADER_BYTES)
      } catch (err) {
        throw invalidValue(type, topic, value, err)
      }
      if (end >= 0) {
        const out = Buffer.allocUnsafe(end)
        scratch.copy(out, 0, 0, end)
        writeWireHeader(out, id)
        return out
      }
      // A negative result is the number of bytes missing.
      scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - end))
    }
  }

  async function lookupWriter(id: number): Promise<ReaderEntry> {
    let writerText: string
    try {
      const found = await registry.schemaById(id)
      if (found.schemaType.toUpperCase() !== 'AVRO') {
        return { kind: 'failed', code: SerdeErrorCodes.AVRO_INVALID_WRITER_SCHEMA, message: `schema id ${id} is a ${found.schemaType} schema, not Avro` }
      }
      writerText = found.schema
    } catch (err) {
      if (err instanceof SchemaRegistryRequestError && err.status === 404) return { kind: 'unknown', retryAt: now() + retryMs }
      throw new SerdeError(SerdeErrorCodes.REGISTRY_UNAVAILABLE, `could not fetch schema id ${id} from the registry: ${(err as Error).message}`, { cause: err })
    }
    let writer: ParsedAvroSchema
    try {
      writer = parseAvroSchema(writerText)
    } catch (err) {
      return {
        kind: 'failed',
        code: SerdeErrorCodes.AVRO_INVALID_WRITER_SCHEMA,
        message: `schema id ${id} from the registry is not a valid Avro schema: ${(err as Error).message}`
      }
    }
    if (writer.canonical === reader.canonical) return { kind: 'ok', resolver: undefined }
    try {
      return { kind: 'ok', resolver: type.createResolver(writer.type) }
    } catch (err) {
      return {
        kind: 'failed',
        code: SerdeErrorCodes.AVRO_INCOMPATIBLE_SCHEMA,
        message: `writer schema id ${id} cannot be read as ${type.name ?? type.typeName}: ${(err as Error).message}`
      }
    }
  }

  return {
    schema: reader.canonical,
    schemaId: (topic) => idsByTopic.get(topic),

    async configure(topic, isKey) {
      const subject = `${topic}-${isKey ? 'key' : 'value'}`
      let id: number
      try {
        id = autoRegister ? await registry.register(subject, reader.canonical) : await registry.lookup(subject, reader.canonical)
      } catch (err) {
        const name = type.name ?? type.typeName
        if (autoRegister && err instanceof SchemaRegistryRequestError && (err.status === 409 || err.status === 422)) {
          throw new SerdeError(SerdeErrorCodes.SCHEMA_REJECTED, `the registry refused the schema of ${name} under subject ${subject}: ${err.message}`, {
            cause: err
          })
        }
        if (!autoRegister && err instanceof SchemaRegistryRequestError && err.status === 404) {
          throw new SerdeError(
            SerdeErrorCodes.SCHEMA_NOT_REGISTERED,
            `the schema of ${name} is not registered under subject ${subject} (autoRegister is off): ${err.message}`,
            { cause: err }
          )
        }
        throw new SerdeError(
          SerdeErrorCodes.REGISTRY_UNAVAILABLE,
          `could not ${autoRegister ? 'register' : 'find'} the schema of ${name} under subject ${subject}: ${(err as Error).message}`,
          { cause: err }
        )
      }
      idsByTopic.set(topic, id)
      // Our own id needs no lookup and no resolver.
      readers.set(id, { kind: 'ok', resolver: undefined })
    },

    serialize(topic, value) {
      const id = idsByTopic.get(topic)
      if (id === undefined) {
        throw new SerdeError(
          SerdeErrorCodes.NOT_CONFIGURED,
          `Avro serde for ${type.name ?? type.typeName} used on topic ${topic} before configure(${JSON.stringify(topic)}) registered its schema`
        )
      }
      return encode(topic, value, id)
    },

    deserialize(topic, data) {
      const id = readWireSchemaId(topic, data)
      let entry = readers.get(id)
      if (entry?.kind === 'unknown' && now() >= entry.retryAt) {
        readers.delete(id)
        entry = undefined
      }
      if (entry === undefined) throw new SerdeNeedsResolution(`schema id ${id} on topic ${topic} has not been fetched yet`)
      if (entry.kind === 'unknown')
        throw new SerdeError(SerdeErrorCodes.AVRO_UNKNOWN_SCHEMA_ID, `schema id ${id} on topic ${topic} is unknown to the schema registry`)
      if (entry.kind === 'failed') throw new SerdeError(entry.code, `record on topic ${topic}: ${entry.message}`)
      let decoded: { value: unknown; offset: number }
      try {
        decoded = type.decode(data, WIRE_HEADER_BYTES, entry.resolver)
      } catch (err) {
        throw new SerdeError(
          SerdeErrorCodes.AVRO_MALFORMED,
          `record on topic ${topic} (schema id ${id}) is not a valid Avro encoding: ${(err as Error).message}`,
          { cause: err }
        )
      }
      if (decoded.offset < 0) {
        throw new SerdeError(
          SerdeErrorCodes.AVRO_TRUNCATED,
          `record on topic ${topic} (schema id ${id}) ends before its Avro value does (${data.length} bytes)`
        )
      }
      if (decoded.offset !== data.length) {
        throw new SerdeError(
          SerdeErrorCodes.AVRO_MALFORMED,
          `record on topic ${topic} (schema id ${id}) has ${data.length - decoded.offset} bytes after its Avro value`
        )
      }
      return decoded.value as T
    },

    async resolve(_topic, data) {
      const id = peekWireSchemaId(data)
      // A bad header is the record's own fault: deserialize reports it, there is nothing to fetch.
      if (id === undefined) return
      const entry = readers.get(id)
      if (entry !== undefined && !(entry.kind === 'unknown' && now() >= entry.retryAt)) return
      readers.set(id, await lookupWriter(id))
    }
  }
}

function invalidValue(type: avro.Type, topic: string, value: unknown, cause: unknown): SerdeError {
  const problems: string[] = []
  type.isValid(value, {
    errorHook: (path, v, t) => problems.push(`${path.join('.') || '(root)'}: expected ${t.typeName}, got ${describe(v)}`)
  })
  const detail = problems.length > 0 ? problems.slice(0, 5).join('; ') : (cause as Error).message
  return new SerdeError(SerdeErrorCodes.AVRO_INVALID_VALUE, `value for topic ${topic} does not match ${type.name ?? type.typeName}: ${detail}`, { cause })
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

export { type Serde, SerdeError, SerdeNeedsResolution, SerdeErrorCodes, type SerdeErrorCode, stringSerde, jsonSerde, bytesSerde, longSerde } from './serde.ts'
export { AvroSchemaError, type ParsedAvroSchema, parseAvroSchema, canonicalAvroSchema } from './avro-canonical.ts'
export { type AvroSerde, type AvroSerdeOptions, avroSerde, avroSerdeForSchema } from './avro-serde.ts'
export {
  SchemaRegistryClient,
  type SchemaRegistryClientOptions,
  SchemaRegistryRequestError,
  type RegistrySchema,
  schemaRegistryUrlFromEnv,
  schemaRegistryAuthFromEnv,
  type SchemaRegistryAuth,
  DEFAULT_SCHEMA_REGISTRY_URL,
  SCHEMA_REGISTRY_CONTENT_TYPE
} from './registry-client.ts'
export { WIRE_MAGIC_BYTE, WIRE_HEADER_BYTES, readWireSchemaId, peekWireSchemaId, writeWireHeader } from './wire-format.ts'
export {
  DeserializationErrorPolicies,
  type DeserializationErrorPolicy,
  DEFAULT_DESERIALIZATION_ERROR_POLICY,
  parseDeserializationErrorPolicy,
  DeadLetterHeaders,
  DEAD_LETTER_MESSAGE_MAX_BYTES,
  deadLetterTopic,
  type RawRecord,
  type DeadLetterRecord,
  type DeadLetterInput,
  buildDeadLetterRecord,
  headersWithBufferNames,
  DeserializationFailedError
} from './dead-letter.ts'
export * from './avro/types.generated.ts'
export { AVRO_SCHEMA_DIR, AVRO_TYPES_FILE, generateAvroTypes, loadAvroSchemaFiles, type AvroSchemaFile } from './avro-codegen.ts'

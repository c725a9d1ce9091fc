export { type Serde, SerdeError, SerdeNeedsResolution, stringSerde, jsonSerde, bytesSerde, longSerde } from './serde.ts'
export { AvroSchemaError, type ParsedAvroSchema, parseAvroSchema, canonicalAvroSchema } from './avro-canonical.ts'
export * from './avro/types.generated.ts'

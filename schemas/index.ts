export { type Serde, SerdeError, SerdeNeedsResolution, stringSerde, jsonSerde, bytesSerde, longSerde } from './serde.ts'

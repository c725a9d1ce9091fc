/**
 * apps/commerce/: the commerce analytics application of CONTRACTS.md ("Commerce analytics"): the
 * seed bridge and the analytics topology, their settings and record keys (the query API reads the
 * outputs with them), the shop simulator's generator and a reference implementation of the
 * contract's definitions (tests compare the topology's outputs with it).
 */
export {
  COMMERCE_TOPICS,
  type CommerceTopics,
  type CommerceSettings,
  type ResolvedCommerceSettings,
  resolveCommerceSettings,
  CommerceConfigError,
  productKey,
  parseProductKey,
  salesKey,
  parseSalesKey,
  categoryKey,
  lastHourWindow,
  MINUTE_MS,
  HOUR_MS,
  RATING_STARS,
  DEFAULT_GRACE_MS,
  DEFAULT_OUTPUT_RETENTION_MS,
  DEFAULT_STORE_RETENTION_MS,
  DEFAULT_INPUT_PARTITIONS,
  DEFAULT_OUTPUT_PARTITIONS,
  DEFAULT_TYPED_DEAD_LETTER_TOPIC
} from './config.ts'
export {
  bridgeEvent,
  addCommerceBridge,
  BridgeErrorCodes,
  SEED_EVENT_NAMES,
  BRIDGE_PROCESSORS,
  type BridgeErrorCode,
  type BridgedEvent,
  type BridgeSerdes
} from './bridge.ts'
export { DEAD_LETTER_FIELD_HEADER, RejectedEventError, type Rejection } from './dead-letters.ts'
export {
  buildCommerceTopology,
  commerceSerdes,
  commerceEventTimestamp,
  checkProductSold,
  checkProductRated,
  COMMERCE_STORES,
  CATEGORY_REPARTITION,
  TypedInputErrorCodes,
  type CommerceSerdes,
  type CommerceTopologyOptions
} from './topology.ts'
export {
  commerceRecords,
  generateCommerceRecords,
  commerceCatalogue,
  toSeedJson,
  estimatedDurationMs,
  INVALID_VARIANTS,
  type CommerceGeneratorOptions,
  type CommerceRecord,
  type InvalidVariant
} from './generator.ts'
export { referenceCommerceOutputs, type CommerceReferenceOptions, type CommerceReferenceResult } from './reference.ts'
export {
  startCommerceWorker,
  ensureCommerceTopics,
  commerceWorkerOptionsFromEnv,
  commerceWorkerUsage,
  COMMERCE_APPLICATION_ID,
  COMMERCE_COMMIT_INTERVAL_MS,
  COMMERCE_WORKER_ENV,
  type CommerceWorkerOptions,
  type RunningCommerceWorker
} from './worker.ts'
export { readCommerceOutputs, type CommerceOutputs, type CommerceOutputValues } from './outputs.ts'
export {
  runCommerceSimulator,
  parseCommerceSimulatorArgs,
  commerceSimulatorUsage,
  readCommerceDataset,
  SIMULATOR_FORMATS,
  type SimulatorFormat,
  type CommerceSimulatorOptions,
  type CommerceSimulatorResult
} from './simulator.ts'

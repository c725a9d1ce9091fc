/**
 * apps/traffic/: the traffic analytics application of CONTRACTS.md ("Traffic analytics"): the
 * topology, its settings, the sensor simulator's generator and a reference implementation of the
 * contract's definitions (tests and benchmarks compare the topology's outputs with it).
 */
export { TRAFFIC_TOPICS, statsKey, sessionKey, parseStatsKey, parseSessionKey, type StatsKey, type SessionKey } from './contract.ts'
export {
  type TrafficTopics,
  type TrafficSettings,
  type ResolvedTrafficSettings,
  resolveTrafficSettings,
  TrafficConfigError,
  MINUTE_MS,
  FIVE_MINUTES_MS,
  VISIT_GAP_MS,
  TRAVELER_STATE_TTL_MS,
  DEFAULT_GRACE_MS,
  DEFAULT_OUTPUT_RETENTION_MS,
  DEFAULT_STORE_RETENTION_MS,
  DEFAULT_INPUT_PARTITIONS,
  DEFAULT_OUTPUT_PARTITIONS
} from './config.ts'
export {
  buildTrafficTopology,
  trafficSerdes,
  trafficWindows,
  observationTimestamp,
  TRAFFIC_STORES,
  TRAFFIC_PROCESSORS,
  type TrafficTopologyOptions,
  type TrafficSerdes
} from './topology.ts'
export { type TravelerEvent, type SpeedSample } from './traveler-state.ts'
export {
  trafficRecords,
  generateTrafficRecords,
  generateObservations,
  malformedBytes,
  estimatedObservationsPerSecond,
  TYPICAL_SPEED_MPS,
  type TrafficGeneratorOptions,
  type GeneratedRecord,
  type MalformedVariant
} from './generator.ts'
export { referenceTrafficOutputs, type TrafficReferenceOptions, type TrafficReferenceResult } from './reference.ts'
export {
  startTrafficWorker,
  ensureTrafficTopics,
  trafficWorkerOptionsFromEnv,
  TRAFFIC_APPLICATION_ID,
  TRAFFIC_COMMIT_INTERVAL_MS,
  TRAFFIC_WORKER_ENV,
  type TrafficWorkerOptions,
  type RunningTrafficWorker
} from './worker.ts'
export { runSimulator, parseSimulatorArgs, simulatorUsage, readReplayFile, type SimulatorOptions, type SimulatorResult } from './simulator.ts'
export { readTrafficOutputs, type TrafficOutputs } from './outputs.ts'
// Generic readers, offered here too for the traffic tests and benchmark.
export { readTopicToEnd, readLatestValues, groupHasConsumed, diffLatestValues, type TopicRecord } from '../shared/index.ts'

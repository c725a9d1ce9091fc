/**
 * apps/shared/: what the apps (apps/traffic, apps/commerce) share: command lines (environment
 * variables, flags, help), their workers' runtime options and entry point, their simulators' sending
 * loop and datasets, the building blocks of their deterministic models, checks of their settings,
 * and creating and reading back their topics.
 */
export {
  DEFAULT_BROKERS,
  parseBrokers,
  parseRegistryUrl,
  envReader,
  helpTable,
  untilSignal,
  parseFlags,
  flagsUsage,
  withoutUndefined,
  type Environment,
  type EnvReader,
  type FlagSpec,
  type FlagReader,
  type Defined
} from './cli.ts'
export { runAppMain, appsWith } from './entry.ts'
export { Prng, TimeQueue, checkFraction, checkCount, checkSeed, checkStartMs } from './model.ts'
export {
  AppConfigError,
  checkDistinctTopics,
  durationMsSchema,
  parseSettings,
  partitionsSchema,
  settingsHelp,
  settingVariable,
  settingVariables,
  storeKeySerde,
  topicNameSchema,
  topicsSchema,
  windowedAppSettings,
  type ConfigErrorFactory,
  type SettingKind,
  type WindowedAppDefaults,
  type WindowedAppDocs
} from './settings.ts'
export {
  startStreams,
  streamsConfigOf,
  streamsWorkerEnv,
  streamsOptionsFromEnv,
  topicsFromEnv,
  checkSettingsFromEnv,
  appWorkerOptionsFromEnv,
  workerMain,
  workerUsage,
  type AppVariables,
  type StreamsWorkerOptions,
  type StreamsWorkerVariable,
  type WorkerDefaults,
  type RunningWorker,
  type WorkerCommand
} from './streams-worker.ts'
export {
  CONNECTION_FLAGS,
  MODEL_FLAGS,
  sendingFlags,
  sendingOptionsOf,
  defaultStartMs,
  continuingStartMs,
  readJsonLines,
  writeJsonLines,
  progressReporter,
  registerAvroSchema,
  confluentRegistry,
  sendRecords,
  type SendingOptions,
  type Progress,
  type OutgoingRecord,
  type SendingRun
} from './simulation.ts'
export {
  ensureTopics,
  readTopicToEnd,
  type ReadTopicOptions,
  readLatestValues,
  readLatestOutputs,
  groupHasConsumed,
  type WantedTopic,
  type TopicRecord,
  type OutputSpecs,
  type LatestOutputs
} from './topics.ts'
export { diffLatestValues } from './compare.ts'
export { continuationStart, newestTimestampMs, type Continuation, type ContinuationPolicy } from './continuation.ts'

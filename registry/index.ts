export { startRegistry, serveRegistry, type RegistryOptions, type ServingOptions, type RunningRegistry } from './server.ts'
export { MemoryLog, type RegistryLog } from './log.ts'
export { CompatibilityLevels, type CompatibilityLevel, DEFAULT_COMPATIBILITY_LEVEL } from './compatibility.ts'
export { RegistryErrorCodes } from './errors.ts'

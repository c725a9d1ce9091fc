/**
 * Errors of the registry, each with the HTTP status and the Confluent `error_code` that real clients
 * switch on (io.confluent.kafka.schemaregistry.rest.exceptions.Errors). The HTTP layer turns a
 * `RegistryError` into `{ error_code, message }` in one place.
 */

/** Confluent error codes used by this registry. */
export const RegistryErrorCodes = {
  SUBJECT_NOT_FOUND: 40401,
  VERSION_NOT_FOUND: 40402,
  SCHEMA_NOT_FOUND: 40403,
  SUBJECT_SOFT_DELETED: 40404,
  SUBJECT_NOT_SOFT_DELETED: 40405,
  VERSION_SOFT_DELETED: 40406,
  VERSION_NOT_SOFT_DELETED: 40407,
  SUBJECT_COMPATIBILITY_NOT_CONFIGURED: 40408,
  INCOMPATIBLE_SCHEMA: 40901,
  INVALID_SCHEMA: 42201,
  INVALID_VERSION: 42202,
  INVALID_COMPATIBILITY_LEVEL: 42203,
  INVALID_SUBJECT: 42208,
  STORE_ERROR: 50001,
  OPERATION_TIMEOUT: 50002
} as const

/** An error answered to the client as `{ error_code, message }` with `status`. */
export class RegistryError extends Error {
  readonly status: number
  readonly errorCode: number
  constructor(status: number, errorCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'RegistryError'
    this.status = status
    this.errorCode = errorCode
  }
}

/** True for the "not found" family (HTTP 404), which a lagging instance may answer wrongly. */
export function isNotFound(err: unknown): boolean {
  return err instanceof RegistryError && err.status === 404
}

export const subjectNotFound = (subject: string): RegistryError =>
  new RegistryError(404, RegistryErrorCodes.SUBJECT_NOT_FOUND, `Subject '${subject}' not found.`)

export const versionNotFound = (version: number | string): RegistryError =>
  new RegistryError(404, RegistryErrorCodes.VERSION_NOT_FOUND, `Version ${version} not found.`)

export const schemaNotFound = (id?: number): RegistryError =>
  new RegistryError(404, RegistryErrorCodes.SCHEMA_NOT_FOUND, id === undefined ? 'Schema not found' : `Schema ${id} not found`)

export const subjectSoftDeleted = (subject: string): RegistryError =>
  new RegistryError(404, RegistryErrorCodes.SUBJECT_SOFT_DELETED, `Subject '${subject}' was soft deleted. Set permanent=true to delete permanently`)

export const subjectNotSoftDeleted = (subject: string): RegistryError =>
  new RegistryError(404, RegistryErrorCodes.SUBJECT_NOT_SOFT_DELETED, `Subject '${subject}' was not deleted first before being permanently deleted`)

export const versionSoftDeleted = (subject: string, version: number): RegistryError =>
  new RegistryError(
    404,
    RegistryErrorCodes.VERSION_SOFT_DELETED,
    `Subject '${subject}' Version ${version} was soft deleted. Set permanent=true to delete permanently`
  )

export const versionNotSoftDeleted = (subject: string, version: number): RegistryError =>
  new RegistryError(
    404,
    RegistryErrorCodes.VERSION_NOT_SOFT_DELETED,
    `Subject '${subject}' Version ${version} was not deleted first before being permanently deleted`
  )

export const subjectConfigNotFound = (subject: string): RegistryError =>
  new RegistryError(404, RegistryErrorCodes.SUBJECT_COMPATIBILITY_NOT_CONFIGURED, `Subject '${subject}' does not have subject-level compatibility configured`)

export const incompatibleSchema = (subject: string, messages: readonly string[]): RegistryError =>
  new RegistryError(
    409,
    RegistryErrorCodes.INCOMPATIBLE_SCHEMA,
    `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: [${messages.join('; ')}]`
  )

export const invalidSchema = (message: string, cause?: unknown): RegistryError =>
  new RegistryError(422, RegistryErrorCodes.INVALID_SCHEMA, `Invalid schema: ${message}`, { cause })

export const invalidVersion = (version: string): RegistryError =>
  new RegistryError(
    422,
    RegistryErrorCodes.INVALID_VERSION,
    `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`
  )

export const invalidCompatibilityLevel = (level: unknown): RegistryError =>
  new RegistryError(
    422,
    RegistryErrorCodes.INVALID_COMPATIBILITY_LEVEL,
    `Invalid compatibility level ${JSON.stringify(level)}. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive`
  )

export const invalidSubject = (subject: string): RegistryError =>
  new RegistryError(422, RegistryErrorCodes.INVALID_SUBJECT, `The specified subject '${subject}' is not valid.`)

export const storeError = (message: string, cause?: unknown): RegistryError =>
  new RegistryError(500, RegistryErrorCodes.STORE_ERROR, `Error in the backend data store: ${message}`, { cause })

export const operationTimeout = (message: string): RegistryError => new RegistryError(500, RegistryErrorCodes.OPERATION_TIMEOUT, message)

import { errorCodes, RunnelError, type CodeOf } from '../errors/index.ts'

/** Codes of the state stores' errors. */
export const StateErrorCodes = errorCodes(
  'STATE_BAD_CHANGELOG_KEY',
  'STATE_BAD_CHECKPOINT',
  'STATE_BAD_OPTION',
  'STATE_BAD_SESSION',
  'STATE_BAD_STORE_NAME',
  'STATE_BAD_TIMESTAMP',
  'STATE_CHANGELOG_MISSING',
  'STATE_CHECKPOINT_AHEAD',
  'STATE_CHECKPOINT_CORRUPT',
  'STATE_RESTORE_ABORTED',
  'STATE_RESTORE_FETCH',
  'STATE_RESTORE_TIMEOUT',
  'STATE_STORE_NOT_OPEN',
  'STATE_TASK_LOCKED',
  'STATE_TASK_OPEN',
  'STATE_TOO_MANY_STORES'
)
export type StateErrorCode = CodeOf<typeof StateErrorCodes>

/** Base error of the state stores; `code` is stable, `cause` is kept. */
export class StateStoreError extends RunnelError<StateErrorCode> {}

/** A store was used before `init` or after `close`. */
export class StoreNotOpenError extends StateStoreError {
  constructor(storeName: string) {
    super('STATE_STORE_NOT_OPEN', `state store "${storeName}" is not open`)
  }
}

/**
 * A task's checkpoint is past the end of its changelog (the topic was deleted and re-created, or
 * truncated). Recoverable: the runtime wipes the task's state and restores from the start.
 */
export class CheckpointAheadError extends StateStoreError {
  constructor(message: string) {
    super('STATE_CHECKPOINT_AHEAD', message)
  }
}
